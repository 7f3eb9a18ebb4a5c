"""`Iam.close()` against the real stack, in a child process: its connections to Kratos and
Keto (the runtime's pools) are closed, counted from its /proc/self; every call through a handle
taken before is refused with `IamConfigurationError`, cached answers included; `health()`
reports the probes `closed`; `async with` closes; another `Iam` is untouched."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

import ory_iam

PASSWORD = "a-Long-and-unique-passphrase-42"


def port(url: str) -> int:
    return int(urlsplit(url).port or 0)


def config(iam_config: dict[str, Any], cache: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = cache
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60_000, "permission_ttl_ms": 60_000}
    cfg["audit"] = {"sink": "none"}
    return cfg


@pytest.fixture(scope="module")
async def token(iam: ory_iam.Iam) -> Any:
    flow = await iam.flow.initiate_registration()
    email = f"py-close-{uuid.uuid4().hex}@example.test"
    res = await iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.kind == "success" and res.session_token is not None and res.identity is not None
    yield {"authorization": f"Bearer {res.session_token.expose()}"}
    await iam.identity.delete(res.identity.id)


# The scenario runs in a child process: the connections counted there are those of the Iams it
# builds, not of the session-wide `iam` fixture of this process (whose pool also talks to Kratos).
SCENARIO = r'''
import asyncio, json, os, sys
from ory_iam import IamConfigurationError
import ory_iam

def connections_to(port: int) -> int:
    """This process's established TCP connections to `port`: the sockets among our file
    descriptors whose /proc/net/tcp entry has that remote port."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            mine.add(link[8:-1])
    n = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                col = line.split()
                if int(col[2].rsplit(":", 1)[1], 16) == port and col[3] == "01" and col[9] in mine:
                    n += 1
    return n


async def all_closed(ports: list[int]) -> dict[int, int]:
    for _ in range(60):
        left = {p: n for p in ports if (n := connections_to(p))}
        if not left:
            return {}
        await asyncio.sleep(0.05)
    return left



async def refused(call):
    try:
        await call
    except IamConfigurationError as e:
        assert e.code == "configuration", e.code
        return True
    return False


async def main():
    cfg, token, tuple_, kratos, keto = (json.loads(a) for a in sys.argv[1:6])
    iam = ory_iam.Iam.from_config(cfg)
    other = ory_iam.Iam.from_config(cfg)
    session, permission, identity = iam.session, iam.permission, iam.identity
    out = {}
    # With the memory cache the second whoami is a hit.
    await session.whoami(token)
    out["second_hit"] = (await session.whoami(token)).cache_hit
    out["allowed"] = await permission.check(tuple_)
    out["before"] = [connections_to(kratos), connections_to(keto)]
    await iam.close()
    await iam.close()  # twice is fine
    out["after_close"] = await all_closed([kratos, keto])
    out["refused"] = {
        "whoami": await refused(session.whoami(token)),
        "whoami_or_null": await refused(session.whoami_or_null(token)),
        "check (cached)": await refused(permission.check(tuple_)),
        "check_batch": await refused(permission.check_batch([tuple_])),
        "identity.list": await refused(identity.list()),
        "another tenant": await refused(iam.session.for_tenant("admin").whoami(token)),
    }
    health = await iam.health()
    out["health"] = [health.healthy, sorted({p.reason for p in health.probes})]
    out["after_calls"] = await all_closed([kratos, keto])
    out["other"] = [bool((await other.session.whoami(token)).identity.id), await other.permission.check(tuple_)]
    async with ory_iam.Iam.from_config(cfg) as third:
        await third.session.whoami(token)
    out["async_with"] = await refused(third.session.whoami(token))
    print(json.dumps(out))


asyncio.run(main())
'''


@pytest.mark.parametrize("cache", ["none", "memory"])
def test_close_releases_connections_and_refuses_every_call(iam_config: dict[str, Any], token: Any, cache: str) -> None:
    t = iam_config["tenants"]["customer"]
    kratos, keto = port(t["kratos"]["public_url"]), port(t["keto"]["read_url"])
    tuple_ = {"namespace": "documents", "object": f"close-{uuid.uuid4().hex}", "relation": "view", "subject": "nobody"}
    args = [json.dumps(a) for a in (config(iam_config, cache), token, tuple_, kratos, keto)]
    r = subprocess.run([sys.executable, "-c", SCENARIO, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["second_hit"] == (cache == "memory")
    assert out["allowed"] is False
    assert all(out["before"]), f"pooled connections to Kratos and Keto before the close: {out['before']}"
    assert out["after_close"] == {}, "connections left open after close (port: count)"
    assert out["refused"] == dict.fromkeys(out["refused"], True) and len(out["refused"]) == 6
    assert out["health"] == [False, ["closed"]]
    assert out["after_calls"] == {}, "a refused call opened a connection"
    assert out["other"] == [True, False], "another Iam is untouched"
    assert out["async_with"] is True
