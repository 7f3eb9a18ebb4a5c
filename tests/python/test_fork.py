"""An `Iam` built before `os.fork()` works in the child (issue 18): gunicorn `--preload`,
multiprocessing's `fork` start method. The child makes real calls on a runtime, connection pools
and a Redis connection of its own; the parent's sockets are never used there, and the parent's
pool still works after the child is done.

Each scenario runs in a fresh interpreter (a child of pytest), so the sockets counted are those of
the `Iam` it builds, and pytest's own threads are not forked."""

from __future__ import annotations

import copy
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

import ory_iam
from conftest import redis_cache

HERE = pathlib.Path(__file__).resolve().parent
PASSWORD = "a-Long-and-unique-passphrase-42"


def port(url: str) -> int:
    return int(urlsplit(url).port or 0)


@pytest.fixture(scope="module")
async def user(iam: ory_iam.Iam) -> Any:
    flow = await iam.flow.initiate_registration()
    email = f"py-fork-{uuid.uuid4().hex}@example.test"
    res = await iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.kind == "success" and res.session_token is not None and res.identity is not None
    yield {"token": res.session_token.expose(), "id": res.identity.id}
    await iam.identity.delete(res.identity.id)


def config(iam_config: dict[str, Any], stack: dict[str, Any], cache: str) -> dict[str, Any]:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = {"none": "none", "memory": {"memory": {"max_entries": 100}}, "redis": redis_cache(stack["redis"]["url"])}[cache]
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60_000}
    cfg["audit"] = {"sink": "none"}
    return cfg


SCENARIO = r'''
import asyncio, json, os, sys, time
import ory_iam

cfg, user, ports = (json.loads(a) for a in sys.argv[1:4])
headers = {"authorization": f"Bearer {user['token']}"}
tuple_ = {"namespace": "documents", "object": "fork-" + str(os.getpid()), "relation": "view", "subject": "nobody"}


def sockets_to(port: int) -> set[str]:
    """Inodes of this process's established TCP connections to `port`."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            mine.add(link[8:-1])
    found = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                col = line.split()
                if int(col[2].rsplit(":", 1)[1], 16) == port and col[3] == "01" and col[9] in mine:
                    found.add(col[9])
    return found


async def calls(iam):
    s = await iam.session.whoami(headers)
    ident = await iam.identity.get(user["id"])
    allowed = await iam.permission.check(tuple_)
    return {"whoami": s.identity.id, "get": ident.id, "check": allowed, "hit": s.cache_hit}


iam = ory_iam.Iam.from_config(cfg)
parent = asyncio.run(calls(iam))
before = {name: sorted(sockets_to(p)) for name, p in ports.items()}

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    out = {}
    try:
        async def child():
            return await asyncio.wait_for(calls(iam), 20)
        out["calls"] = asyncio.run(child())
        out["new"] = {name: sorted(sockets_to(p) - set(before[name])) for name, p in ports.items()}
    except BaseException as e:  # report, never hang the parent
        out["error"] = f"{type(e).__name__}"
    os.write(w, json.dumps(out).encode())
    os._exit(0)

os.close(w)
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
with os.fdopen(r) as f:
    text = f.read()
child = json.loads(text) if text else {"error": "the child hung (killed after 40 s)"}
# The parent's pool is intact: the same connections still carry its calls.
again = asyncio.run(calls(iam))
after = {name: sorted(sockets_to(p)) for name, p in ports.items()}
print(json.dumps({"parent": parent, "child": child, "again": again, "before": before, "after": after}))
'''


@pytest.mark.parametrize("cache", ["none", "memory", "redis"])
def test_an_iam_built_before_fork_works_in_the_child(iam_config: dict[str, Any], stack: dict[str, Any], user: Any, cache: str) -> None:
    t = iam_config["tenants"]["customer"]
    ports = {"kratos": port(t["kratos"]["public_url"]), "keto": port(t["keto"]["read_url"])}
    if cache == "redis":
        ports["redis"] = port(stack["redis"]["url"])
    args = [json.dumps(a) for a in (config(iam_config, stack, cache), user, ports)]
    r = subprocess.run([sys.executable, "-c", SCENARIO, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    expected = {"whoami": user["id"], "get": user["id"], "check": False}
    assert {k: out["parent"][k] for k in expected} == expected
    assert "error" not in out["child"], out["child"]
    assert {k: out["child"]["calls"][k] for k in expected} == expected
    assert out["before"]["kratos"] and out["before"]["keto"], "the parent had pooled connections before the fork"
    # The child asked over connections of its own, never over the parent's sockets.
    assert out["child"]["new"]["keto"], "the child made no connection of its own to Keto"
    if cache == "none":
        assert out["child"]["new"]["kratos"], "the child made no connection of its own to Kratos"
    if cache == "redis":
        assert out["child"]["calls"]["hit"] is True, "the child read the session the parent cached in Redis"
        assert out["child"]["new"]["redis"], "the child made no connection of its own to Redis"
    assert {k: out["again"][k] for k in expected} == expected
    assert set(out["before"]["keto"]) <= set(out["after"]["keto"]), "the parent's pooled connection was lost"


MP_SCENARIO = r'''
import asyncio, json, multiprocessing, sys
import ory_iam

cfg, user = (json.loads(a) for a in sys.argv[1:3])
iam = ory_iam.Iam.from_config(cfg)


def work(i: int) -> str:
    async def call():
        return (await asyncio.wait_for(iam.identity.get(user["id"]), 20)).id
    return asyncio.run(call())


if __name__ == "__main__":
    asyncio.run(iam.identity.get(user["id"]))  # the parent's runtime and pool exist before the fork
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(json.dumps(pool.map(work, range(6), chunksize=1)))
'''


def test_multiprocessing_fork_workers_share_an_iam_built_in_the_parent(iam_config: dict[str, Any], stack: dict[str, Any], user: Any) -> None:
    args = [json.dumps(a) for a in (config(iam_config, stack, "none"), user)]
    r = subprocess.run([sys.executable, "-c", MP_SCENARIO, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [user["id"]] * 6


@pytest.fixture
def gunicorn_app(iam_config: dict[str, Any], stack: dict[str, Any], user: Any) -> Iterator[str]:
    """gunicorn --preload with 2 uvicorn workers serving tests/python/fork_app.py on a Unix
    socket; the app's `Iam` is built (and used) in the master, before the workers are forked."""
    tmp = tempfile.mkdtemp(prefix="ory-iam-gunicorn-")
    sock = os.path.join(tmp, "app.sock")
    env = dict(os.environ, ORY_IAM_FORK_APP_CONFIG=json.dumps(config(iam_config, stack, "none")), ORY_IAM_FORK_APP_USER=user["id"])
    log = open(os.path.join(tmp, "gunicorn.log"), "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--preload", "-w", "2", "-k", "uvicorn_worker.UvicornWorker",
         "--bind", f"unix:{sock}", "--chdir", str(HERE), "--graceful-timeout", "5", "fork_app:app"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with httpx.Client(transport=httpx.HTTPTransport(uds=sock), timeout=5) as c:
                    if c.get("http://app/ready").status_code == 200:
                        break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            log.seek(0)
            raise AssertionError(f"gunicorn did not come up: {log.read()[-2000:]}")
        yield sock
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_gunicorn_preload_workers_answer_authenticated_requests(gunicorn_app: str, user: Any) -> None:
    auth = {"authorization": f"Bearer {user['token']}"}
    transport = lambda: httpx.HTTPTransport(uds=gunicorn_app)  # noqa: E731
    pids: dict[int, str] = {}
    # One worker's loop is held busy (a blocking sleep after its whoami) while the next request
    # arrives: only the other worker can accept it, so both answer.
    import concurrent.futures

    def get(path: str) -> httpx.Response:
        with httpx.Client(transport=transport(), timeout=30) as c:
            return c.get(f"http://app{path}", headers=auth)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for _ in range(5):
            held = pool.submit(get, "/me?hold=1.5")
            time.sleep(0.5)
            free = get("/me")
            for resp in (free, held.result()):
                assert resp.status_code == 200, resp.text
                body = resp.json()
                assert body["id"] == user["id"]
                pids[body["pid"]] = body["id"]
            if len(pids) == 2:
                break
    assert len(pids) == 2, f"answers came from {len(pids)} worker(s)"
    with httpx.Client(transport=transport(), timeout=30) as c:
        anonymous = c.get("http://app/me")
        master = c.get("http://app/ready").json()["master_pid"]
    assert anonymous.status_code == 401
    assert master not in pids, "answered by the master"
