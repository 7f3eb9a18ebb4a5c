"""The Redis session cache and replay store on a real Redis Cluster and a real Sentinel setup
(tests/stack/redis-topology, started for this module; issue 24 items 1, 4, 5), shared between
this process and another Python process: a session this process cached is a cache hit there, a
revoke made here is refused there, an Oathkeeper token accepted here is a replay there, a Keto
revoke made here drops the decision the other process had cached (the invalidation channel); and a
master killed under load leaves every call correct or a typed outage (never a wrong allow), the
cache serving again once the failover is done."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid
from typing import Any, Iterator

import pytest

import ory_iam
from test_oathkeeper import _jwt, edge_config
from test_session import register_native

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

# Another process: one Iam per config of argv[1]; each stdin line {"iam": name, "headers": {...}}
# (or {"iam": name, "check": tuple, "fresh": bool}) is answered with one line: the session's
# identity id and cache_hit (or the check's answer), or the error's code.
PEER = r"""
import asyncio, json, sys
import ory_iam

async def main():
    iams = {name: ory_iam.Iam.from_config(cfg) for name, cfg in json.loads(sys.argv[1]).items()}
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        req = json.loads(line)
        try:
            if "check" in req:
                out = {"allowed": await iams[req["iam"]].permission.check(req["check"], fresh=req.get("fresh", False))}
            else:
                s = await iams[req["iam"]].session.whoami(req["headers"])
                out = {"identity": s.identity.id, "cache_hit": s.cache_hit}
        except ory_iam.IamError as e:
            out = {"code": e.code}
        print(json.dumps(out), flush=True)

asyncio.run(main())
"""


class Peer:
    """The other process."""

    def __init__(self, configs: dict[str, dict[str, Any]]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", PEER, json.dumps(configs)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def whoami(self, iam: str, headers: dict[str, str]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"iam": iam, "headers": headers}) + "\n")
        self.proc.stdin.flush()
        out: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return out

    def check(self, iam: str, tuple: dict[str, str], fresh: bool = False) -> bool:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"iam": iam, "check": tuple, "fresh": fresh}) + "\n")
        self.proc.stdin.flush()
        out: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return bool(out["allowed"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _topology(*args: str) -> str:
    out = subprocess.run([str(ROOT / "tests" / "stack" / "redis-topology"), *args], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _signal_and_wait(pid: int, sig: signal.Signals, state: str | None) -> None:
    os.kill(pid, sig)
    if state is not None:
        _wait(f"process {pid} in state {state}",
              lambda: pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == state)


def _cli(port: int, *args: str) -> str:
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True).stdout


def _wait(what: str, ok: Any) -> None:
    deadline = time.monotonic() + 60
    while not ok():
        assert time.monotonic() < deadline, f"{what}: not after 60 s"
        time.sleep(0.1)


@pytest.fixture(scope="module", params=["cluster", "sentinel"])
def topology(request: Any) -> Iterator[dict[str, Any]]:
    out = subprocess.run([str(ROOT / "tests" / "stack" / "redis-topology"), "up", request.param],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    info: dict[str, Any] = json.loads(out.stdout)
    yield info
    subprocess.run([str(ROOT / "tests" / "stack" / "redis-topology"), "down", info["dir"]], check=True)


def _cache(info: dict[str, Any]) -> dict[str, Any]:
    redis: dict[str, Any] = {"keys": [KEY], "key_prefix": f"py-topo-{uuid.uuid4().hex}"}
    if info["kind"] == "cluster":
        redis["cluster"] = info["urls"]
    else:
        redis["sentinel"] = {"urls": info["urls"], "master_name": info["master_name"]}
    return {"redis": redis}


def _config(iam_config: dict[str, Any], cache: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = cache
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 600_000}
    return cfg


async def test_a_session_is_shared_with_another_process_and_a_revoke_here_is_refused_there(
    topology: dict[str, Any], iam_config: dict[str, Any], email: str
) -> None:
    cfg = _config(iam_config, _cache(topology))
    here = ory_iam.Iam.from_config(cfg)
    reg = await register_native(here, email)
    assert reg.session_token is not None and reg.identity is not None
    bearer = {"authorization": f"Bearer {reg.session_token.expose()}"}
    s = await here.session.whoami(bearer)
    assert not s.cache_hit
    peer = Peer({"a": cfg})
    try:
        there = peer.whoami("a", bearer)
        assert there == {"identity": reg.identity.id, "cache_hit": True}, "the other process read this one's entry"
        await here.session.revoke(s.id)
        assert peer.whoami("a", bearer) == {"code": "unauthorized"}
    finally:
        peer.close()
    await here.identity.delete(reg.identity.id)


async def test_an_oathkeeper_token_accepted_here_is_a_replay_in_another_process(
    topology: dict[str, Any], iam: ory_iam.Iam, iam_config: dict[str, Any], stack: dict[str, Any], email: str
) -> None:
    identity_id, auth = await _jwt(iam, stack, email)
    cfg = edge_config(iam_config, stack, replay_protection={"enabled": True})
    cfg["session_cache"] = _cache(topology)
    here = ory_iam.Iam.from_config(cfg)
    assert (await here.session.whoami({"authorization": auth})).identity.id == identity_id
    peer = Peer({"edge": cfg})
    try:
        assert peer.whoami("edge", {"authorization": auth}) == {"code": "unauthorized"}
    finally:
        peer.close()
    await iam.identity.delete(identity_id)


async def test_a_keto_revoke_here_drops_the_decision_another_process_cached(
    topology: dict[str, Any], iam_config: dict[str, Any]
) -> None:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = _cache(topology)
    cfg["tenants"]["customer"]["cache"] = {"permission_ttl_ms": 600_000}
    here = ory_iam.Iam.from_config(cfg)
    outside = ory_iam.Iam.from_config(iam_config)  # shares no Redis: tells nobody
    u = uuid.uuid4().hex
    q = {"namespace": "documents", "object": f"doc-{u}", "relation": "view", "subject": f"bob-{u}"}
    peer = Peer({"b": cfg})
    try:
        # The peer caches `allowed` while Keto no longer has the tuple (retried until the peer's
        # invalidation channel is up: until then it caches nothing).
        deadline = time.monotonic() + 30
        while True:
            await outside.permission.grant(q)
            assert peer.check("b", q, fresh=True)
            await outside.permission.revoke(q)
            if peer.check("b", q):
                break
            assert time.monotonic() < deadline, "the peer never cached the decision"
            await asyncio.sleep(0.02)
        await here.permission.revoke(q)
        deadline = time.monotonic() + 10
        while peer.check("b", q):
            assert time.monotonic() < deadline, "the peer still served its cached allow after 10 s"
            await asyncio.sleep(0.001)
    finally:
        peer.close()


async def test_a_revoke_the_shared_cache_cannot_take_is_an_outage(iam_config: dict[str, Any], email: str) -> None:
    # Redis unreachable: the revoke is done in Kratos but reported as an outage (retry), never a
    # success that could leave the session cached for a Redis that comes back with its data.
    cfg = _config(iam_config, {"redis": {"url": "redis://127.0.0.1:1/0", "keys": [KEY]}})
    iam = ory_iam.Iam.from_config(cfg)
    reg = await register_native(iam, email)
    assert reg.session_token is not None and reg.identity is not None
    bearer = {"authorization": f"Bearer {reg.session_token.expose()}"}
    s = await iam.session.whoami(bearer)
    with pytest.raises(ory_iam.IamUpstreamUnavailableError):
        await iam.session.revoke(s.id)
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await iam.session.whoami(bearer)
    with pytest.raises(ory_iam.IamUpstreamUnavailableError):
        await iam.identity.delete(reg.identity.id)


async def test_the_shared_replay_store_fails_closed(iam_config: dict[str, Any]) -> None:
    # Redis unreachable: a typed outage, never an envelope accepted on this process's memory alone.
    import base64
    import hashlib
    import hmac

    key = "py-closed-signer-key-0123456789"
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = {"redis": {"url": "redis://127.0.0.1:1/0", "keys": [KEY]}}
    cfg["tenants"]["customer"]["transport"] = "oathkeeper"
    cfg["tenants"]["customer"]["oathkeeper"] = {"signer_keys": [key], "replay_protection": {"enabled": True}}
    now = int(time.time())
    claims = {"sub": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "iat": now, "exp": now + 300, "jti": f"py-closed-{uuid.uuid4().hex}"}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    with pytest.raises(ory_iam.IamUpstreamUnavailableError):
        await ory_iam.Iam.from_config(cfg).session.whoami({"x-user": payload, "x-user-signature": sig})


def _kill_master_and_wait(info: dict[str, Any]) -> None:
    master = next(n for n in info["nodes"] if n["role"] == "master")
    os.kill(master["pid"], signal.SIGKILL)
    if info["kind"] == "cluster":
        alive = next(n["port"] for n in info["nodes"] if n["role"] == "master" and n is not master)

        def failed_over() -> bool:
            nodes = _cli(alive, "cluster", "nodes").splitlines()
            return ("cluster_state:ok" in _cli(alive, "cluster", "info")
                    and any(f":{master['port']}@" in line and "fail" in line for line in nodes)
                    and sum("master" in line and "fail" not in line for line in nodes) == 3)
    else:
        sentinel = next(n["port"] for n in info["nodes"] if n["role"] == "sentinel")
        replica = next(n["port"] for n in info["nodes"] if n["role"] == "replica")

        def failed_over() -> bool:
            addr = _cli(sentinel, "sentinel", "get-master-addr-by-name", info["master_name"])
            return str(master["port"]) not in addr and _cli(replica, "role").startswith("master")
    _wait("failover", failed_over)
    # The old master restarted rejoins as a replica: the promoted master has one again, so
    # evictions (which wait for one, wait_replicas) are confirmed again.
    _topology("restart", info["dir"], str(master["port"]))

    def rejoined() -> bool:
        rep = _cli(master["port"], "info", "replication")
        return "role:slave" in rep and "master_link_status:up" in rep
    _wait("the old master rejoins as a replica", rejoined)


async def _cached_and_revoked(iam: ory_iam.Iam) -> None:
    # Makes the Iam's connections (the eviction one too): a cluster connection is made to every
    # node, and a stopped node never answers a new connection's handshake.
    reg = await register_native(iam, f"py-warm-{uuid.uuid4().hex}@example.test")
    assert reg.session_token is not None and reg.identity is not None
    s = await iam.session.whoami({"authorization": f"Bearer {reg.session_token.expose()}"})
    await iam.session.revoke(s.id)
    await iam.identity.delete(reg.identity.id)


async def test_a_revoke_no_replica_acknowledged_is_an_outage(
    topology: dict[str, Any], iam_config: dict[str, Any], email: str
) -> None:
    # Every replica stopped (SIGSTOP: connected, acknowledging nothing): the eviction only the
    # master has could be lost to a failover, so the revoke is an outage, not a success; with
    # wait_replicas 0 it is accepted; once the replicas are back, the retried revoke takes.
    cache = _cache(topology)
    strict = ory_iam.Iam.from_config(_config(iam_config, cache))
    lax_cache = copy.deepcopy(cache)
    lax_cache["redis"]["wait_replicas"] = 0
    lax = ory_iam.Iam.from_config(_config(iam_config, lax_cache))
    await _cached_and_revoked(strict)
    await _cached_and_revoked(lax)
    reg = await register_native(strict, email)
    assert reg.session_token is not None and reg.identity is not None
    bearer = {"authorization": f"Bearer {reg.session_token.expose()}"}
    s = await strict.session.whoami(bearer)
    assert (await strict.session.whoami(bearer)).cache_hit
    replicas = [n["pid"] for n in topology["nodes"] if n["role"] == "replica"]
    for pid in replicas:
        _signal_and_wait(pid, signal.SIGSTOP, "T")
    try:
        with pytest.raises(ory_iam.IamUpstreamUnavailableError):
            await strict.session.revoke(s.id)
        await lax.session.revoke(s.id)
    finally:
        for pid in replicas:
            _signal_and_wait(pid, signal.SIGCONT, None)
    deadline = time.monotonic() + 30
    while True:
        try:
            await strict.session.revoke(s.id)
            break
        except ory_iam.IamUpstreamUnavailableError:
            assert time.monotonic() < deadline, "the revoke never took"
            await asyncio.sleep(0.1)
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await strict.session.whoami(bearer)
    await strict.identity.delete(reg.identity.id)


# Last in the module: it kills a master of the module's topology.
async def test_a_master_killed_under_load_never_yields_a_wrong_answer(
    topology: dict[str, Any], iam_config: dict[str, Any]
) -> None:
    iam = ory_iam.Iam.from_config(_config(iam_config, _cache(topology)))
    users: list[tuple[str, dict[str, str], bool]] = []
    for i in range(6):
        reg = await register_native(iam, f"py-topo-{uuid.uuid4().hex}@example.test")
        assert reg.session_token is not None and reg.identity is not None
        bearer = {"authorization": f"Bearer {reg.session_token.expose()}"}
        s = await iam.session.whoami(bearer)
        valid = i < 4
        if valid:
            assert (await iam.session.whoami(bearer)).cache_hit, "cached before the kill"
        else:
            await iam.session.revoke(s.id)
        users.append((reg.identity.id, bearer, valid))

    stop = asyncio.Event()
    ok, outages, wrong = 0, 0, []

    async def load(identity_id: str, bearer: dict[str, str], valid: bool) -> None:
        nonlocal ok, outages
        while not stop.is_set():
            try:
                s = await iam.session.whoami(bearer)
                if valid and s.identity.id == identity_id:
                    ok += 1
                else:
                    wrong.append(f"allowed: valid={valid}")
            except ory_iam.IamUnauthorizedError:
                if valid:
                    wrong.append("a valid session refused")
                else:
                    ok += 1
            except ory_iam.IamUpstreamUnavailableError:
                outages += 1

    tasks = [asyncio.create_task(load(*u)) for u in users for _ in range(2)]
    await asyncio.sleep(0.3)
    before = ok
    assert before > 0
    await asyncio.get_running_loop().run_in_executor(None, _kill_master_and_wait, topology)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*tasks)
    assert wrong == [], wrong
    assert ok > before, (ok, outages)
    # Recovered: every valid session is served from the cache again.
    for identity_id, bearer, valid in users:
        if not valid:
            with pytest.raises(ory_iam.IamUnauthorizedError):
                await iam.session.whoami(bearer)
            continue
        deadline = time.monotonic() + 30
        while not (await iam.session.whoami(bearer)).cache_hit:
            assert time.monotonic() < deadline, "the cache did not serve again after the failover"
            await asyncio.sleep(0.1)
    for identity_id, _, _ in users:
        await iam.identity.delete(identity_id)
