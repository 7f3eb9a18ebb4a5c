"""The event-loop lane (`bindings-python/src/lane.rs`): an uncached `whoami` written and read by
the asyncio loop thread itself, on keep-alive sockets owned by that loop, against the real Kratos
of the stack (directly, and through the fault proxy for faults).

The lane must behave exactly as the runtime path: the same sessions, errors, attempts, breaker,
cache stores and audit events. `_ory_iam._lane_stats()` (counters of the running loop's lane)
tells which path a call took; every assertion on it is paired with one on what Kratos or the
proxy saw.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import os
import subprocess
import sys
import threading
import urllib.request
import uuid
from typing import Any, Iterator

import pytest

import ory_iam
from ory_iam import IamUnauthorizedError, IamUpstreamUnavailableError, _ory_iam

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reliability"))
from proxy import FaultProxy, wait_for  # noqa: E402

PASSWORD = "a-Long-and-unique-passphrase-42"
WHOAMI = "/sessions/whoami"


def stats() -> dict[str, int]:
    return dict(_ory_iam._lane_stats() or {})


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items()}


def new_connections(proxy: FaultProxy, since: int) -> int:
    """Client connections the proxy accepted since `since` (a `connections_total`), not counting
    the control requests that read it (one connection each)."""
    return int(proxy.stats()["connections_total"]) - since - 1


def config(iam_config: dict[str, Any], *, cache: Any = "none", kratos_public: str | None = None, http: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = cache
    t = cfg["tenants"]["customer"]
    t["cache"] = {"session_ttl_ms": 60_000}
    if kratos_public:
        t["kratos"]["public_url"] = kratos_public
    if http is not None:
        t["http"] = http
    return cfg


@pytest.fixture(scope="module")
async def user(iam: ory_iam.Iam) -> Any:
    flow = await iam.flow.initiate_registration()
    email = f"py-lane-{uuid.uuid4().hex}@example.test"
    res = await iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.kind == "success" and res.session_token is not None and res.identity is not None
    yield {"authorization": f"Bearer {res.session_token.expose()}"}, res.identity.id
    await iam.identity.delete(res.identity.id)


@pytest.fixture
def proxy(stack: dict[str, Any]) -> Iterator[FaultProxy]:
    p = FaultProxy(stack["kratos"]["customer"]["public_url"])
    yield p
    p.stop()


async def test_uncached_whoami_runs_on_the_loop_and_keeps_its_connection(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, identity_id = user
    iam = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url))
    c0 = proxy.stats()["connections_total"]
    before = stats()
    sessions = [await iam.session.whoami(req) for _ in range(20)]
    d = delta(before, stats())
    # One connection for all 20 (the proxy agrees), kept between calls.
    assert new_connections(proxy, c0) == 1
    assert proxy.requests(WHOAMI) == 20
    assert d["requests"] == 20 and d["resumed"] == 0
    assert d["connects"] == 1 and d["reused"] == 19
    assert all(s.identity.id == identity_id and not s.cache_hit for s in sessions)
    # The runtime path (a client-side rate limit keeps calls off the lane) gives the same session.
    http = {"rate_limit_per_sec": 1000}
    other = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url, http=http))
    before = stats()
    via_runtime = await other.session.whoami(req)
    assert delta(before, stats())["requests"] == 0 and proxy.requests(WHOAMI) == 21
    assert via_runtime.to_dict() == sessions[0].to_dict()
    assert (await iam.session.whoami_or_null(req)) == sessions[0]
    # Rejections are the runtime path's: a credential Kratos does not know.
    with pytest.raises(IamUnauthorizedError) as ei:
        await iam.session.whoami({"authorization": "Bearer ory_st_not_a_session_000000000000"})
    assert ei.value.status == 401
    assert await iam.session.whoami_or_null({"authorization": "Bearer ory_st_not_a_session_000000000000"}) is None


async def test_same_credential_shares_one_request_and_is_audited_per_caller(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, identity_id = user
    events: list[dict[str, Any]] = []
    cfg = config(iam_config, cache={"memory": {"max_entries": 100}}, kratos_public=proxy.url)
    cfg["audit"] = {"sink": "callback"}
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    before = stats()
    results = await asyncio.gather(*[iam.session.whoami(req) for _ in range(50)], iam.session.whoami_or_null(req))
    d = delta(before, stats())
    assert proxy.requests(WHOAMI) == 1
    assert d["requests"] == 1 and d["joined"] == 50
    assert all(r is not None and r.identity.id == identity_id and not r.cache_hit for r in results)
    ok = [e for e in events if e["name"] == "auth.success"]
    assert len(ok) == 51 and all(e["attributes"]["cache_hit"] is False and e["target_id"] == identity_id for e in ok)
    # Stored in the cache by the lane: the next call is a hit, no request.
    again = await iam.session.whoami(req)
    assert again.cache_hit and proxy.requests(WHOAMI) == 1
    assert stats()["in_flight"] == 0


async def test_without_a_cache_concurrent_calls_each_ask_kratos(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, _ = user
    iam = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url))
    c0 = proxy.stats()["connections_total"]
    before = stats()
    results = await asyncio.gather(*[iam.session.whoami(req) for _ in range(8)])
    d = delta(before, stats())
    # Eight connections for eight requests in flight at once.
    assert new_connections(proxy, c0) == 8
    # As on the runtime path: no single flight without a session cache.
    assert len(results) == 8 and proxy.requests(WHOAMI) == 8
    assert d["requests"] == 8 and d["joined"] == 0 and d["connects"] == 8


async def test_a_connection_the_server_closed_is_not_reused_and_not_an_error(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, identity_id = user
    iam = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url, http={"retries": 0, "breaker_threshold": 1}))
    proxy.fault("close_after", path=WHOAMI)
    c0 = proxy.stats()["connections_total"]
    before = stats()
    for _ in range(5):
        s = await iam.session.whoami(req)
        assert s.identity.id == identity_id
    d = delta(before, stats())
    # Every answer was followed by the server closing the connection: each call opened a new
    # one, and none failed (retries 0, breaker threshold 1: a failed attempt would show).
    assert new_connections(proxy, c0) == 5
    assert proxy.requests(WHOAMI) == 5 and proxy.stats()["closed_after"] == 5
    assert d["requests"] == 5 and d["resumed"] == 0
    assert d["connects"] == 5 and d["reused"] == 0


async def test_a_failed_first_attempt_resumes_on_the_runtime_with_the_same_budget(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, _ = user
    http = {"timeout_ms": 500, "retries": 2, "backoff_base_ms": 10, "backoff_max_ms": 40, "breaker_threshold": 3, "breaker_open_ms": 60_000}
    iam = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url, http=http))
    proxy.fault("status", path=WHOAMI, status=503)
    before = stats()
    with pytest.raises(IamUpstreamUnavailableError) as ei:
        await iam.session.whoami(req)
    d = delta(before, stats())
    assert ei.value.status == 503
    # 1 attempt on the loop + 2 retries on the runtime = retries + 1, as on the runtime path.
    assert proxy.requests(WHOAMI) == 3
    assert d["requests"] == 1 and d["resumed"] == 1
    # The three failures opened the breaker: the next call fails at once, sent by no one, and
    # does not come to the lane (an open breaker is the runtime path's answer).
    before = stats()
    with pytest.raises(IamUpstreamUnavailableError) as ei:
        await iam.session.whoami(req)
    assert ei.value.retry_after is not None and ei.value.retry_after > 0
    assert proxy.requests(WHOAMI) == 3 and delta(before, stats())["requests"] == 0


async def test_a_hanging_kratos_times_out_on_the_loop(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, _ = user
    http = {"timeout_ms": 300, "retries": 0, "breaker_threshold": 0}
    iam = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url, http=http))
    await iam.session.whoami(req)
    proxy.fault("hang", path=WHOAMI)
    before = stats()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(IamUpstreamUnavailableError):
        await iam.session.whoami_or_null(req)
    elapsed = loop.time() - t0
    assert 0.25 <= elapsed < 1.5
    d = delta(before, stats())
    assert d["requests"] == 1 and d["reused"] == 1
    # The timed-out connection is closed, not parked: the proxy sees it go.
    assert await asyncio.to_thread(wait_for, lambda: proxy.stats()["hang_closed"] == 1, 3) is not None
    proxy.reset()
    assert (await iam.session.whoami(req)) is not None
    assert stats()["in_flight"] == 0


async def test_cancelling_some_callers_leaves_the_others_their_answer(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, identity_id = user
    events: list[dict[str, Any]] = []
    cfg = config(iam_config, cache={"memory": {"max_entries": 100}}, kratos_public=proxy.url)
    cfg["audit"] = {"sink": "callback"}
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    proxy.fault("delay", path=WHOAMI, delay_ms=300)
    tasks = [asyncio.create_task(iam.session.whoami(req)) for _ in range(4)]
    await asyncio.sleep(0.1)
    # The caller whose request it is, and one that joined it, give up; the others still wait.
    tasks[0].cancel()
    tasks[2].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError) and isinstance(results[2], asyncio.CancelledError)
    assert all(not isinstance(r, BaseException) and r.identity.id == identity_id for r in (results[1], results[3]))
    assert proxy.requests(WHOAMI) == 1 and stats()["in_flight"] == 0
    # One audit event per caller that got the session, none for those that gave up (as on the
    # runtime path, where a cancelled whoami audits nothing).
    assert [e["name"] for e in events] == ["auth.success", "auth.success"]
    # Every caller giving up abandons the request: its connection is closed at once.
    iam2 = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url))
    proxy.reset()
    proxy.fault("hang", path=WHOAMI)
    task = asyncio.create_task(iam2.session.whoami(req))
    assert await asyncio.to_thread(wait_for, lambda: proxy.stats()["hang_open"] == 1, 3) is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(wait_for, lambda: proxy.stats()["hang_closed"] == 1, 3) is not None
    assert stats()["in_flight"] == 0


async def test_an_oversized_answer_is_final_and_chunked_answers_are_read(iam_config: dict[str, Any], stack: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, identity_id = user
    http = {"max_body_bytes": 64 * 1024, "retries": 2, "backoff_base_ms": 10, "backoff_max_ms": 40}
    iam = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url, http=http))
    for with_length in (True, False):
        proxy.reset()
        proxy.fault("oversize", path=WHOAMI, size=1024 * 1024, content_length=with_length)
        before = stats()
        with pytest.raises(IamUpstreamUnavailableError):
            await iam.session.whoami(req)
        # Not retried: the same request would get the same answer.
        assert proxy.requests(WHOAMI) == 1
        assert delta(before, stats())["resumed"] == 0
    # The real Kratos sends a large session chunked (Transfer-Encoding: chunked, no length).
    admin = stack["kratos"]["customer"]["admin_url"].rstrip("/")
    pad = "x" * 20_000
    patch = [{"op": "add", "path": "/metadata_public", "value": {"pad": pad}}]
    r = urllib.request.Request(f"{admin}/admin/identities/{identity_id}", method="PATCH", data=json.dumps(patch).encode(), headers={"Content-Type": "application/json"})
    await asyncio.to_thread(lambda: urllib.request.urlopen(r).close())
    try:
        direct = ory_iam.Iam.from_config(config(iam_config, http=http))
        before = stats()
        s = await direct.session.whoami(req)
        assert delta(before, stats())["requests"] == 1
        assert s.identity.metadata_public == {"pad": pad}
        small = ory_iam.Iam.from_config(config(iam_config, http=dict(http, max_body_bytes=8 * 1024)))
        with pytest.raises(IamUpstreamUnavailableError):
            await small.session.whoami(req)
    finally:
        undo = [{"op": "replace", "path": "/metadata_public", "value": None}]
        r = urllib.request.Request(f"{admin}/admin/identities/{identity_id}", method="PATCH", data=json.dumps(undo).encode(), headers={"Content-Type": "application/json"})
        await asyncio.to_thread(lambda: urllib.request.urlopen(r).close())


async def test_idle_connections_are_closed_after_a_while(iam_config: dict[str, Any], proxy: FaultProxy, user: Any) -> None:
    req, _ = user
    iam = ory_iam.Iam.from_config(config(iam_config, kratos_public=proxy.url))
    await asyncio.gather(*[iam.session.whoami(req) for _ in range(4)])
    # Four kept connections (the control request that asks is the fifth open one).
    assert proxy.stats()["connections_open"] == 5
    idle = stats()["idle"]
    assert idle >= 4
    _ory_iam._debug_lane_sweep(3600)  # none is an hour old
    assert stats()["idle"] == idle
    # What the lane's timer does once connections have been idle for 20 s.
    _ory_iam._debug_lane_sweep(0)
    assert stats()["idle"] == 0
    assert await asyncio.to_thread(wait_for, lambda: proxy.stats()["connections_open"] == 1, 3) is not None
    # The next call opens a new one.
    before = stats()
    await iam.session.whoami(req)
    assert delta(before, stats())["connects"] == 1


def test_each_loop_has_its_own_connections_and_closes_them_with_the_loop(iam_config: dict[str, Any], user: Any) -> None:
    req, identity_id = user
    iam = ory_iam.Iam.from_config(config(iam_config))
    out: dict[int, Any] = {}

    def run(i: int) -> None:
        async def go() -> Any:
            sessions = [await iam.session.whoami(req) for _ in range(10)]
            return sessions, stats()

        out[i] = asyncio.run(go())

    fds_before = len(os.listdir("/proc/self/fd"))
    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(out) == [0, 1, 2]
    for sessions, st in out.values():
        assert all(s.identity.id == identity_id for s in sessions)
        # A fresh loop: its own lane, one connection of its own, reused by its calls only.
        assert st["requests"] == 10 and st["connects"] == 1 and st["reused"] == 9
    # asyncio.run closed the loops; their lanes' sockets went with them.
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= fds_before


def test_the_lane_can_be_switched_off(iam_config: dict[str, Any], user: Any) -> None:
    req, identity_id = user
    script = """
import asyncio, json, sys
import ory_iam
from ory_iam import _ory_iam
cfg, req = json.loads(sys.argv[1]), json.loads(sys.argv[2])
async def main():
    iam = ory_iam.Iam.from_config(cfg)
    s = await iam.session.whoami(req)
    print(json.dumps({"identity": s.identity.id, "lane": _ory_iam._lane_stats()}))
asyncio.run(main())
"""
    out = {}
    for value in ("off", "1"):
        env = dict(os.environ, ORY_IAM_LANE=value)
        r = subprocess.run([sys.executable, "-c", script, json.dumps(config(iam_config)), json.dumps(req)], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr[-2000:]
        out[value] = json.loads(r.stdout.strip().splitlines()[-1])
    # Off: the same session through the runtime, and no lane on the loop at all.
    assert out["off"] == {"identity": identity_id, "lane": None}
    assert out["1"]["identity"] == identity_id and out["1"]["lane"]["requests"] == 1
