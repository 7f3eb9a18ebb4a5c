"""ory_iam.sync, the blocking API (issue 21), against the real stack: the async surface 1:1, the wait
in Rust with the GIL released, no event loop, many threads on one Iam, close/with, a clear error
inside a running loop, paging as plain iterators, and an Iam built before fork() used in the child."""

from __future__ import annotations

import asyncio
import copy
import inspect
import json
import pathlib
import subprocess
import sys
import threading
import types
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

import ory_iam
import ory_iam.sync
from ory_iam import IamConfigurationError, IamNotFoundError, IamUnauthorizedError, IamUpstreamUnavailableError, IamValidationError, Secret
from ory_iam.sync import Iam

from conftest import ROOT, redis_cache, register_secret
from test_session import PASSWORD

SERVICES = [n for n in ory_iam.sync.__all__ if n.endswith("Service")] + ["Iam"]


def sync_config(iam_config: dict[str, Any], cache: Any = "none") -> dict[str, Any]:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = cache
    cfg["audit"] = {"sink": "none"}
    return cfg


@pytest.fixture(scope="module")
def siam(iam_config: dict[str, Any]) -> Iterator[Iam]:
    with Iam.from_config(sync_config(iam_config)) as iam:
        yield iam


def register(iam: Iam) -> ory_iam.FlowResult:
    email = f"py-sync-{uuid.uuid4().hex}@example.test"
    register_secret(email)
    flow = iam.flow.initiate_registration()
    res = iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.kind == "success" and res.identity is not None and isinstance(res.session_token, Secret)
    return res


def bearer(res: ory_iam.FlowResult) -> dict[str, str]:
    assert res.session_token is not None
    return {"authorization": f"Bearer {res.session_token.expose()}"}


# --- one description of the surface


def test_the_generated_module_is_current() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_sync.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", SERVICES)
def test_every_async_member_has_a_blocking_twin_with_the_same_parameters(name: str) -> None:
    aio, blocking = getattr(ory_iam, name), getattr(ory_iam.sync, name)
    for member, fn in inspect.getmembers(aio):
        if member.startswith("_") and member not in ("__aenter__", "__aexit__"):
            continue
        twin_name = {"__aenter__": "__enter__", "__aexit__": "__exit__"}.get(member, member)
        assert hasattr(blocking, twin_name), f"ory_iam.sync.{name} lacks {twin_name}"
        twin = getattr(blocking, twin_name)
        if isinstance(inspect.getattr_static(aio, member), property):
            assert isinstance(inspect.getattr_static(blocking, twin_name), property)
            continue
        if not callable(fn) or member.startswith("_"):
            continue
        original = inspect.signature(fn).parameters.get("_original")
        if original is not None:  # a constructor conftest wraps for its leak scan
            fn = types.MethodType(original.default, aio)
        assert list(inspect.signature(fn).parameters.values()) == list(inspect.signature(twin).parameters.values()), f"{name}.{member}"
        assert not inspect.iscoroutinefunction(twin) and not inspect.isasyncgenfunction(twin), f"{name}.{member} is not blocking"
        assert twin.__doc__ == fn.__doc__ or fn.__doc__ is not None, f"{name}.{member} lost its docstring"


# --- behaviour against the stack


def test_register_whoami_check_list_logout(siam: Iam) -> None:
    res = register(siam)
    assert res.identity is not None
    ident = res.identity.id
    try:
        s = siam.session.whoami(bearer(res))
        assert isinstance(s, ory_iam.Session) and s.identity.id == ident and s.tenant == siam.default_tenant
        assert siam.identity.get(ident).id == ident
        doc = f"sync-{uuid.uuid4().hex}"
        t = {"namespace": "documents", "object": doc, "relation": "view", "subject": ident}
        assert siam.permission.check(t) is False
        siam.permission.grant(t)
        assert siam.permission.check(t, fresh=True) is True
        # Paging: a plain iterator over every tuple of the object.
        tuples = siam.permission.list_all(namespace="documents", object=doc)
        assert isinstance(tuples, Iterator)
        assert [x.subject for x in tuples] == [ident]
        siam.permission.revoke(t)
        assert siam.permission.check(t, fresh=True) is False
        sessions = list(siam.identity.list_sessions_all(ident))
        assert [x.identity.id for x in sessions] == [ident]
        assert res.session_token is not None
        siam.flow.perform_native_logout(res.session_token)
        with pytest.raises(IamUnauthorizedError):
            siam.session.whoami(bearer(res))
        assert siam.session.whoami_or_null(bearer(res)) is None
    finally:
        siam.identity.delete(ident)
    with pytest.raises(IamNotFoundError):
        siam.identity.get(ident)


def test_errors_are_the_async_apis(siam: Iam) -> None:
    with pytest.raises(IamValidationError) as e:
        siam.identity.get("")
    assert e.value.code == "validation"
    with pytest.raises(IamUnauthorizedError):
        siam.session.whoami({})
    with pytest.raises(IamConfigurationError):
        siam.identity.for_tenant("no-such-tenant")
    assert siam.identity.for_tenant("admin").tenant == "admin"
    assert siam.identity.for_tenant("admin") == siam.identity.for_tenant("admin")
    assert isinstance(siam.health(), ory_iam.Health)


def test_an_iterator_stopped_early_leaves_the_iam_usable(siam: Iam) -> None:
    it = siam.identity.list_all(page_size=1)
    first = next(it, None)
    it.close()  # type: ignore[attr-defined]
    assert first is None or isinstance(first, ory_iam.Identity)
    assert isinstance(siam.schema.list(), list)


def test_no_event_loop_is_created(siam: Iam, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: Any, **k: Any) -> Any:
        raise AssertionError("ory_iam.sync created an event loop")

    monkeypatch.setattr(asyncio, "new_event_loop", refuse)
    monkeypatch.setattr(asyncio, "run", refuse)
    monkeypatch.setattr(asyncio.events.BaseDefaultEventLoopPolicy, "new_event_loop", refuse)
    assert siam.identity.for_tenant("customer").tenant == "customer"
    with pytest.raises(IamNotFoundError):
        siam.identity.get(str(uuid.uuid4()))
    assert list(siam.schema.list())


def test_inside_a_running_loop_it_says_to_use_the_async_api(siam: Iam) -> None:
    async def in_loop() -> None:
        siam.identity.get(str(uuid.uuid4()))

    with pytest.raises(IamConfigurationError) as e:
        asyncio.run(in_loop())
    assert isinstance(e.value, ory_iam.IamError) and e.value.code == "configuration"

    async def iterate_in_loop() -> None:
        list(siam.identity.list_all())

    with pytest.raises(IamConfigurationError):
        asyncio.run(iterate_in_loop())


GIL_SCENARIO = r"""
import json, socket, sys, threading
from ory_iam import IamUpstreamUnavailableError
from ory_iam.sync import Iam

cfg = json.loads(sys.argv[1])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
cfg["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{server.getsockname()[1]}/"
cfg["tenants"]["customer"]["http"] = {"timeout_ms": 30000, "retries": 0}
iam = Iam.from_config(cfg)
outcome = []

def call():
    try:
        iam.session.whoami({"authorization": "Bearer ory_st_" + "x" * 32})
    except BaseException as e:
        outcome.append(type(e).__name__)

t = threading.Thread(target=call)
t.start()
conn, _ = server.accept()
in_flight = t.is_alive() and not outcome
conn.close()
t.join(60)
print(json.dumps({"in_flight": in_flight, "outcome": outcome}))
"""


def test_the_gil_is_released_while_a_call_waits(iam_config: dict[str, Any]) -> None:
    """A call waits on a server that has accepted the connection but not answered; the main
    thread must run meanwhile, see the call still in flight, then end it. With the GIL held during
    the wait, the main thread (and the runtime thread logging through Python) could not run: the
    scenario would hang (killed by the timeout here) or find the call already over."""
    r = subprocess.run([sys.executable, "-c", GIL_SCENARIO, json.dumps(sync_config(iam_config))], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"in_flight": True, "outcome": ["IamUpstreamUnavailableError"]}


def eight_threads(siam: Iam) -> None:
    """8 threads on one blocking Iam: whoami and a permission check each, 5 times, for 2 users."""
    users = [register(siam) for _ in range(2)]
    try:
        doc = f"sync-threads-{uuid.uuid4().hex}"
        granted = users[0].identity.id  # type: ignore[union-attr]
        siam.permission.grant({"namespace": "documents", "object": doc, "relation": "view", "subject": granted})

        def work(i: int) -> list[tuple[str, bool]]:
            out = []
            for _ in range(5):
                u = users[i % 2]
                s = siam.session.whoami(bearer(u))
                allowed = siam.permission.check({"namespace": "documents", "object": doc, "relation": "view", "subject": s.identity.id})
                out.append((s.identity.id, allowed))
            return out

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, range(8)))
        for i, r in enumerate(results):
            u = users[i % 2].identity.id  # type: ignore[union-attr]
            assert r == [(u, u == granted)] * 5
    finally:
        for u in users:
            siam.identity.delete(u.identity.id)  # type: ignore[union-attr]


def test_eight_threads_share_one_iam(siam: Iam) -> None:
    eight_threads(siam)


def test_eight_threads_share_one_iam_with_the_redis_cache(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    cfg = sync_config(iam_config, redis_cache(stack["redis"]["url"]))
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60_000}
    with Iam.from_config(cfg) as iam:
        eight_threads(iam)


def test_the_redis_connection_outlives_the_thread_that_made_it(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    """A blocking call runs on its thread's own runtime; the Redis connection it makes serves
    every thread, so it must not live on that runtime: while the first thread is idle (its
    runtime not running) and after it has exited, other threads still read the cache."""
    cfg = sync_config(iam_config, redis_cache(stack["redis"]["url"]))
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60_000}
    with Iam.from_config(cfg) as iam:
        res = register(iam)
        try:
            first: list[bool] = []
            idle, done = threading.Event(), threading.Event()

            def first_thread() -> None:
                first.append(iam.session.whoami(bearer(res)).cache_hit)  # connects, misses, stores
                idle.set()
                done.wait(30)

            t = threading.Thread(target=first_thread)
            t.start()
            assert idle.wait(30)
            try:
                while_idle = iam.session.whoami(bearer(res)).cache_hit
            finally:
                done.set()
                t.join(30)
            after_exit = [iam.session.whoami(bearer(res)).cache_hit for _ in range(3)]
            assert (first, while_idle, after_exit) == ([False], True, [True] * 3)
        finally:
            iam.identity.delete(res.identity.id)  # type: ignore[union-attr]


def test_a_closed_iam_refuses_calls_from_threads_that_called_before(iam_config: dict[str, Any]) -> None:
    """Each blocking thread keeps its own connections to Ory; closing the Iam still refuses every
    later call of every thread."""
    iam = Iam.from_config(sync_config(iam_config))
    barrier = threading.Barrier(4)

    def call(_: int) -> str:
        barrier.wait(30)  # four distinct threads, each with its own client
        try:
            iam.identity.get(str(uuid.uuid4()))
        except IamNotFoundError:
            return "not found"
        return "found"

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(call, range(4))) == ["not found"] * 4
        iam.close()
        with pytest.raises(IamConfigurationError):
            list(pool.map(call, range(4)))


def test_close_and_with(iam_config: dict[str, Any]) -> None:
    with Iam.from_config(sync_config(iam_config)) as iam:
        assert iam.schema.list()
        ident = iam.identity
    with pytest.raises(IamConfigurationError):
        ident.get(str(uuid.uuid4()))
    iam.close()  # idempotent
    # The blocking view of an async Iam shares its core: closing one closes both.
    aio = ory_iam.Iam.from_config(sync_config(iam_config))
    view = Iam(aio)
    assert view.tenants == aio.tenants and repr(view) == repr(aio)
    view.close()
    with pytest.raises(IamConfigurationError):
        asyncio.run(aio.schema.list())


FORK_SCENARIO = r"""
import json, os, sys
from ory_iam.sync import Iam

cfg, token = json.loads(sys.argv[1]), sys.argv[2]
iam = Iam.from_config(cfg)
headers = {"authorization": "Bearer " + token}
parent = iam.session.whoami(headers).identity.id
pid = os.fork()
if pid == 0:
    try:
        out = {"child": iam.session.whoami(headers).identity.id, "schemas": len(iam.schema.list())}
    except BaseException as e:
        out = {"error": type(e).__name__}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)
_, status = os.waitpid(pid, 0)
print(json.dumps({"parent": parent, "again": iam.session.whoami(headers).identity.id, "status": status}))
"""


def test_an_iam_built_before_fork_works_in_the_child(siam: Iam, iam_config: dict[str, Any]) -> None:
    res = register(siam)
    try:
        assert res.session_token is not None and res.identity is not None
        r = subprocess.run(
            [sys.executable, "-c", FORK_SCENARIO, json.dumps(sync_config(iam_config)), res.session_token.expose()],
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 0, r.stderr[-2000:]
        lines = [json.loads(x) for x in r.stdout.strip().splitlines()]
        child, parent = lines[0], lines[-1]
        assert child == {"child": res.identity.id, "schemas": child.get("schemas")} and child["schemas"] >= 1, child
        assert parent == {"parent": res.identity.id, "again": res.identity.id, "status": 0}
    finally:
        siam.identity.delete(res.identity.id)  # type: ignore[union-attr]


REQUEST_ID_FORK_SCENARIO = r"""
import json, os, sys, uuid
from ory_iam import IamNotFoundError
from ory_iam.sync import Iam

iam = Iam.from_config(json.loads(sys.argv[1]))
missing = str(uuid.uuid4())

def request_id():
    try:
        iam.identity.get(missing)
    except IamNotFoundError as e:
        return e.request_id
    raise AssertionError("the identity exists")

before = request_id()  # this thread's id generator is in use before the fork
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, json.dumps([request_id(), request_id()]).encode())
    os._exit(0)
os.close(w)
child = json.loads(os.read(r, 4096))
os.waitpid(pid, 0)
print(json.dumps({"before": before, "child": child, "parent": [request_id(), request_id()]}))
"""


def test_a_forked_child_does_not_repeat_its_parents_request_ids(iam_config: dict[str, Any]) -> None:
    """Request ids come from a per-thread generator (no system call per request); a fork copies
    its state, so the child reseeds it: the next ids of the parent and the child differ. Both
    make their calls on the thread that forked."""
    r = subprocess.run([sys.executable, "-c", REQUEST_ID_FORK_SCENARIO, json.dumps(sync_config(iam_config))], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    ids = [out["before"], *out["child"], *out["parent"]]
    assert all(uuid.UUID(i).version == 4 for i in ids), ids
    assert len(set(ids)) == len(ids), ids


INTERRUPT_SCENARIO = r"""
import json, os, signal, socket, sys, threading
from ory_iam.sync import Iam

cfg = json.loads(sys.argv[1])
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
cfg["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{server.getsockname()[1]}/"
cfg["tenants"]["customer"]["http"] = {"timeout_ms": 30000, "retries": 0}
iam = Iam.from_config(cfg)

held = []

def interrupt():
    held.append(server.accept())  # the call is in flight (the connection stays open)
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=interrupt, daemon=True).start()
try:
    iam.session.whoami({"authorization": "Bearer ory_st_" + "x" * 32})
    out = "returned"
except KeyboardInterrupt:
    out = "interrupted"
print(json.dumps({"out": out}))
"""


def test_ctrl_c_ends_a_blocking_wait(iam_config: dict[str, Any]) -> None:
    """SIGINT while the main thread waits (the server never answers, the timeout is 30 s):
    KeyboardInterrupt at once, not after the timeout."""
    r = subprocess.run([sys.executable, "-c", INTERRUPT_SCENARIO, json.dumps(sync_config(iam_config))], capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["out"] == "interrupted"


def test_a_worker_threads_long_wait_ends_with_the_answer_or_the_timeout(iam_config: dict[str, Any]) -> None:
    """Off the main thread a blocking call waits in one piece (no signal slices: Python handles
    signals on the main thread only). A wait longer than a slice still ends with the server's
    answer, and a server that never answers still ends at the tenant's timeout."""
    import socket
    import time

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            conn.recv(65536)
            if len(held) == 1:  # the first request: answered after 300 ms (three slices)
                time.sleep(0.3)
                body = b'{"error":{"code":401,"status":"Unauthorized","message":"no"}}'
                conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            # later ones: never answered

    threading.Thread(target=serve, daemon=True).start()
    cfg = sync_config(iam_config)
    cfg["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{server.getsockname()[1]}/"
    cfg["tenants"]["customer"]["http"] = {"timeout_ms": 700, "retries": 0}
    try:
        with Iam.from_config(cfg) as iam, ThreadPoolExecutor(1) as pool:
            h = {"authorization": "Bearer ory_st_" + "x" * 32}
            t0 = time.monotonic()
            with pytest.raises(IamUnauthorizedError):
                pool.submit(iam.session.whoami, h).result(timeout=10)
            assert time.monotonic() - t0 >= 0.3
            t0 = time.monotonic()
            with pytest.raises(IamUpstreamUnavailableError):
                pool.submit(iam.session.whoami, h).result(timeout=10)
            assert 0.6 <= time.monotonic() - t0 < 5
    finally:
        server.close()
        for c in held:
            c.close()


def test_a_cache_hit_needs_no_wait(iam_config: dict[str, Any]) -> None:
    """A session cache hit is answered without I/O (the native side settles it at once); the
    blocking API returns it the same way, and a revoke evicts it."""
    cfg = sync_config(iam_config, {"memory": {"max_entries": 100}})
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60_000}
    with Iam.from_config(cfg) as iam:
        res = register(iam)
        try:
            first = iam.session.whoami(bearer(res))
            second = iam.session.whoami(bearer(res))
            assert (first.cache_hit, second.cache_hit) == (False, True)
            assert second.identity.id == first.identity.id
            iam.session.revoke(first.id)
            with pytest.raises(IamUnauthorizedError):
                iam.session.whoami(bearer(res))
        finally:
            iam.identity.delete(res.identity.id)  # type: ignore[union-attr]


FLIGHT_SCENARIO = r"""
import asyncio, json, os, signal, socket, sys, threading, time
import ory_iam
from ory_iam.sync import Iam

cfg, token = json.loads(sys.argv[1]), sys.argv[2]
kratos = cfg["tenants"]["customer"]["kratos"]["public_url"].split("//")[1].split("/")[0]
host, port = kratos.rsplit(":", 1)

# A proxy in front of Kratos that holds each request until told to go.
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
cfg["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{server.getsockname()[1]}/"
connections, go = [], threading.Event()

def relay(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, rest = data.split(b"\r\n", 1)
    go.wait(30)
    up = socket.create_connection((host, int(port)))
    up.sendall(head + b"\r\nConnection: close\r\n" + rest)
    while chunk := up.recv(65536):
        conn.sendall(chunk)
    up.close()

def accept():
    while True:
        conn, _ = server.accept()
        connections.append(conn)
        threading.Thread(target=relay, args=(conn,), daemon=True).start()

threading.Thread(target=accept, daemon=True).start()
aio = ory_iam.Iam.from_config(cfg)
iam = Iam(aio)  # the blocking view: same core, same single flights
headers = {"authorization": "Bearer " + token}
follower = []

def async_caller():
    try:
        follower.append(asyncio.run(aio.session.whoami(headers)).identity.id)
    except BaseException as e:
        follower.append(type(e).__name__)

def interrupt():
    while not connections:
        time.sleep(0.01)
    threading.Thread(target=async_caller, daemon=True).start()
    time.sleep(0.5)  # the async caller has joined the flight
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.3)
    go.set()

threading.Thread(target=interrupt, daemon=True).start()
try:
    iam.session.whoami(headers)
    leader = "returned"
except KeyboardInterrupt:
    leader = "interrupted"
deadline = time.monotonic() + 10
while not follower and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"leader": leader, "follower": follower, "connections": len(connections)}))
sys.stdout.flush()
os._exit(0)
"""


def test_an_interrupted_blocking_call_does_not_strand_its_flight(siam: Iam, iam_config: dict[str, Any]) -> None:
    """The main thread's blocking whoami leads a single flight (memory cache); an asyncio caller
    in another thread joins it; Ctrl-C ends the blocking call while Kratos has not answered yet.
    The async caller must still get the session: the flight's connection and timers may not live
    on the interrupted thread's runtime, which nothing runs any more."""
    res = register(siam)
    try:
        assert res.session_token is not None and res.identity is not None
        cfg = sync_config(iam_config, {"memory": {"max_entries": 100}})
        r = subprocess.run(
            [sys.executable, "-c", FLIGHT_SCENARIO, json.dumps(cfg), res.session_token.expose()],
            capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == 0, r.stderr[-2000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out == {"leader": "interrupted", "follower": [res.identity.id], "connections": 1}, out
    finally:
        siam.identity.delete(res.identity.id)  # type: ignore[union-attr]


THREADS_SCENARIO = r"""
import json, os, sys, threading, time
from ory_iam.sync import Iam

cfg, token = json.loads(sys.argv[1]), sys.argv[2]
iam = Iam.from_config(cfg)
headers = {"authorization": "Bearer " + token}
seen, errors = set(), []

def one_call():
    try:
        seen.add(iam.session.whoami(headers).identity.id)
    except BaseException as e:
        errors.append(type(e).__name__)

def batch(n):
    threads = [threading.Thread(target=one_call) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

def settled():
    # join() returns before the OS thread has exited and run its thread-local destructors
    # (where a thread's runtime and connections are freed): wait for the threads to be gone.
    deadline = time.monotonic() + 10
    while len(os.listdir("/proc/self/task")) > tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    return len(os.listdir("/proc/self/fd"))

tasks = len(os.listdir("/proc/self/task"))
batch(4)  # warm up what is built once per process
before = settled()
for _ in range(20):
    batch(10)
after = settled()
print(json.dumps({"before": before, "after": after, "seen": len(seen), "errors": errors}))
"""


@pytest.mark.skipif(not pathlib.Path("/proc/self/fd").exists(), reason="counts fds in /proc")
def test_short_lived_threads_leave_nothing_behind(siam: Iam, iam_config: dict[str, Any]) -> None:
    """A thread per request (Django's runserver): 200 threads, one blocking call each, then exit.
    Each thread's runtime and connections go with it: no fd growth, no panic at thread exit."""
    res = register(siam)
    try:
        assert res.session_token is not None
        r = subprocess.run(
            [sys.executable, "-c", THREADS_SCENARIO, json.dumps(sync_config(iam_config)), res.session_token.expose()],
            capture_output=True, text=True, timeout=120,
        )
        assert r.returncode == 0, r.stderr[-2000:]
        assert "panic" not in r.stderr, r.stderr[-2000:]
        out = json.loads(r.stdout.strip().splitlines()[-1])
        assert out["errors"] == [] and out["seen"] == 1, out
        assert out["after"] <= out["before"] + 4, out
    finally:
        siam.identity.delete(res.identity.id)  # type: ignore[union-attr]


@pytest.mark.skipif(not hasattr(ory_iam._ory_iam, "_debug_panic"), reason="release build: no _debug_panic")
def test_a_panic_in_a_blocking_call_is_iam_error_and_the_thread_keeps_working(siam: Iam) -> None:
    """The core future panics on the calling thread's runtime, mid-call: `IamError` (code
    `internal`), and the thread's next calls work."""

    async def boom() -> Any:
        return await ory_iam._ory_iam._debug_panic("async")

    for _ in range(2):
        with pytest.raises(ory_iam.IamError) as e:
            ory_iam._ory_iam._blocking_run(boom())
        assert type(e.value) is ory_iam.IamError and e.value.code == "internal"
        assert siam.schema.list()


def test_audit_callbacks_of_blocking_calls(siam: Iam, iam_config: dict[str, Any]) -> None:
    """A blocking call's audit events are emitted on the calling thread, inside the call: the
    callback runs (with the GIL), and a blocking call made from it is refused, not deadlocked."""
    events: list[tuple[str, int]] = []
    refused: list[str] = []
    cfg = sync_config(iam_config)
    cfg["audit"] = {"sink": "callback"}

    def on_audit(e: dict[str, Any]) -> None:
        events.append((e["name"], threading.get_ident()))
        try:
            iam.identity.get(str(uuid.uuid4()))
        except IamConfigurationError:
            refused.append(e["name"])

    res = register(siam)
    try:
        with Iam(ory_iam.Iam.from_config(cfg, audit_callback=on_audit)) as iam:
            def call() -> tuple[str, int]:
                return iam.session.whoami(bearer(res)).identity.id, threading.get_ident()

            with ThreadPoolExecutor(1) as pool:
                who, thread = pool.submit(call).result(30)
        assert who == res.identity.id  # type: ignore[union-attr]
        assert events and {t for _, t in events} == {thread}, events
        assert refused == [n for n, _ in events]
    finally:
        siam.identity.delete(res.identity.id)  # type: ignore[union-attr]


def test_a_revoke_from_a_thread_that_exits_leaves_redis_usable(siam: Iam, iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    """The first Redis operation of a fresh Iam is an admin revoke (its tombstones) from a thread
    that then exits: the Redis connection it made must not die with that thread's runtime."""
    a, b = register(siam), register(siam)
    cfg = sync_config(iam_config, redis_cache(stack["redis"]["url"]))
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60_000}
    try:
        assert a.session_id is not None
        with Iam.from_config(cfg) as warm:  # another instance caches b's session in Redis
            assert warm.session.whoami(bearer(b)).cache_hit is False
        with Iam.from_config(cfg) as iam:
            t = threading.Thread(target=iam.session.revoke, args=(a.session_id,))
            t.start()
            t.join(30)
            hits = [iam.session.whoami(bearer(b)).cache_hit for _ in range(3)]
            assert hits == [True, True, True]
            with pytest.raises(IamUnauthorizedError):
                iam.session.whoami(bearer(a))
    finally:
        for u in (a, b):
            siam.identity.delete(u.identity.id)  # type: ignore[union-attr]
