"""The bridge between asyncio and the Rust runtime: results come back through a per-loop
mailbox (runtime threads queue them, the loop thread resolves them in batches). These tests pin
what users rely on: many loops in many threads at once, loops that cannot watch a socket, loops
created and dropped by the hundred, and typed errors through the same path."""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import os
import subprocess
import sys
import threading
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam import IamUnauthorizedError

PASSWORD = "a-Long-and-unique-passphrase-42"


def uncached(iam_config: dict[str, Any]) -> ory_iam.Iam:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = "none"
    return ory_iam.Iam.from_config(cfg)


async def native_session(iam: ory_iam.Iam) -> tuple[str, str]:
    email = f"py-bridge-{uuid.uuid4().hex}@example.test"
    flow = await iam.flow.initiate_registration(kind="native")
    res = await iam.flow.submit_registration(
        flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}}
    )
    assert res.session_token is not None and res.identity is not None
    return res.session_token.expose(), res.identity.id


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="module")
def session(iam_config: dict[str, Any]) -> Any:
    iam = uncached(iam_config)
    token, identity_id = asyncio.run(native_session(iam))
    yield token, identity_id
    asyncio.run(iam.identity.delete(identity_id))


def test_many_loops_in_many_threads_at_once(iam_config: dict[str, Any], session: tuple[str, str]) -> None:
    token, identity_id = session
    iam = uncached(iam_config)  # shared by every thread and loop, as in an app
    good = {"authorization": f"Bearer {token}"}
    bad = {"authorization": "Bearer ory_st_notARealToken"}
    results: dict[int, list[Any]] = {}
    start = threading.Barrier(4)

    async def calls() -> list[Any]:
        coros = [iam.session.whoami(good if i % 3 else bad) for i in range(24)]
        return await asyncio.gather(*coros, return_exceptions=True)

    def thread(n: int) -> None:
        start.wait()
        results[n] = asyncio.run(calls())

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [0, 1, 2, 3]
    for out in results.values():
        for i, r in enumerate(out):
            if i % 3:
                assert isinstance(r, ory_iam.Session) and r.identity.id == identity_id and not r.cache_hit
            else:
                assert isinstance(r, IamUnauthorizedError) and r.code == "unauthorized"


class NoReaderLoop(asyncio.SelectorEventLoop):
    """A loop that cannot watch file descriptors (as Windows' proactor loop)."""

    def add_reader(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError


def test_a_loop_without_readers_gets_the_per_call_path(iam_config: dict[str, Any], session: tuple[str, str]) -> None:
    token, identity_id = session
    iam = uncached(iam_config)
    loop = NoReaderLoop()
    try:

        async def calls() -> list[Any]:
            return await asyncio.gather(
                iam.session.whoami({"authorization": f"Bearer {token}"}),
                iam.session.whoami({"authorization": "Bearer ory_st_notARealToken"}),
                return_exceptions=True,
            )

        ok, err = loop.run_until_complete(calls())
        assert isinstance(ok, ory_iam.Session) and ok.identity.id == identity_id
        assert isinstance(err, IamUnauthorizedError)
        assert getattr(loop, "_ory_iam_completer") is None, "remembered: no reader, no mailbox"
    finally:
        loop.close()


class NoAttributeLoop(asyncio.SelectorEventLoop):
    """A loop that takes no attributes from the library (as loops implemented in C may)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_ory_iam_completer":
            raise AttributeError(name)
        super().__setattr__(name, value)


def test_a_loop_without_attributes_gets_the_per_call_path_without_leaking(
    iam_config: dict[str, Any], session: tuple[str, str]
) -> None:
    token, identity_id = session
    iam = uncached(iam_config)
    req = {"authorization": f"Bearer {token}"}
    loop = NoAttributeLoop()
    try:
        assert loop.run_until_complete(iam.session.whoami(req)).identity.id == identity_id
        readers, fds = len(loop._selector.get_map()), open_fds()  # type: ignore[attr-defined]

        async def calls() -> None:
            for _ in range(50):
                assert (await iam.session.whoami(req)).identity.id == identity_id

        loop.run_until_complete(calls())
        # No mailbox can be remembered on such a loop, so none may be made per call either.
        assert len(loop._selector.get_map()) == readers  # type: ignore[attr-defined]
        assert open_fds() <= fds + 2
    finally:
        loop.close()


def test_loops_come_and_go_without_leaking(iam_config: dict[str, Any], session: tuple[str, str]) -> None:
    token, identity_id = session
    iam = uncached(iam_config)
    req = {"authorization": f"Bearer {token}"}
    assert asyncio.run(iam.session.whoami(req)).identity.id == identity_id  # warm the pool
    gc.collect()
    before = open_fds()
    for _ in range(150):
        assert asyncio.run(iam.session.whoami(req)).identity.id == identity_id
    gc.collect()
    after = open_fds()
    # Each loop's mailbox holds a socket pair: it must go with the loop. A few pooled
    # connections may come and go.
    assert after <= before + 4, f"fds {before} → {after} after 150 loops"


async def test_a_cancelled_call_does_not_resolve_later(iam_config: dict[str, Any], session: tuple[str, str]) -> None:
    token, _ = session
    iam = uncached(iam_config)
    req = {"authorization": f"Bearer {token}"}
    task = asyncio.ensure_future(iam.session.whoami(req))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The loop keeps serving calls after a cancellation raced with a result.
    for s in await asyncio.gather(*(iam.session.whoami(req) for _ in range(10))):
        assert not s.cache_hit


RUNTIME_PROBE = """
import asyncio, json, os, sys, uuid
import ory_iam

async def main():
    iam = ory_iam.Iam.from_config(json.loads(sys.argv[1]))
    async def one():
        try:
            await iam.identity.get(str(uuid.uuid4()))
            return "found"
        except ory_iam.IamNotFoundError:
            return "not_found"
    outcomes = await asyncio.gather(*(one() for _ in range(4)))
    names = []
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    print(json.dumps({"outcomes": outcomes, "runtime": names.count("ory-iam-runtime"),
                      "tokio": sum(n.startswith("tokio-rt") for n in names)}))

asyncio.run(main())
"""


def runtime_threads(iam_config: dict[str, Any], value: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "ORY_IAM_RUNTIME_THREADS"}
    if value is not None:
        env["ORY_IAM_RUNTIME_THREADS"] = value
    r = subprocess.run([sys.executable, "-c", RUNTIME_PROBE, json.dumps(iam_config)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["outcomes"] == ["not_found"] * 4
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names are read from /proc")
def test_calls_run_on_one_runtime_thread_by_default(iam_config: dict[str, Any]) -> None:
    got = runtime_threads(iam_config, None)
    assert (got["runtime"], got["tokio"]) == (1, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names are read from /proc")
def test_runtime_threads_come_from_the_environment(iam_config: dict[str, Any]) -> None:
    got = runtime_threads(iam_config, "3")
    assert (got["runtime"], got["tokio"]) == (3, 0)
    # Not a positive number: the default.
    assert runtime_threads(iam_config, "0")["runtime"] == 1
    assert runtime_threads(iam_config, "many")["runtime"] == 1
