"""The Redis session cache does not trust Redis (issue 19, item 8), through the Python binding
against the real Kratos and Redis: a session planted in Redis without the cache key is never a
session; a real entry copied under another token's name is a miss; only instances with the same
key and prefix share entries; rotation reads entries of a key listed second; bad keys and
prefixes are configuration errors; Redis holds no token or trait in clear. Data shared with Rust
and Node: tests/security/redis_cache.json. Redis is read and written with `redis-cli`."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import uuid
from typing import Any

import pytest

import ory_iam
from conftest import ROOT, register_secret
from ory_iam import IamConfigurationError, IamUnauthorizedError

PASSWORD = "a-Long-and-unique-passphrase-42"
SCENARIO = json.loads((ROOT / "tests" / "security" / "redis_cache.json").read_text())


def new_key() -> str:
    key = base64.b64encode(os.urandom(32)).decode()
    register_secret(key)
    return key


def new_prefix() -> str:
    return f"py-{uuid.uuid4().hex}"


def redis(stack: dict[str, Any], *args: str) -> str:
    r = subprocess.run(["redis-cli", "-u", stack["redis"]["url"], *args], capture_output=True, text=True, timeout=30, check=True)
    return r.stdout


def session_names(stack: dict[str, Any], prefix: str) -> set[str]:
    return set(redis(stack, "KEYS", f"{prefix}:session:*").split())


class Deployment:
    """One Iam on the stack's Redis with the given prefix and keys, recording its audit events."""

    def __init__(self, iam_config: dict[str, Any], stack: dict[str, Any], prefix: str, keys: list[str]) -> None:
        cfg = copy.deepcopy(iam_config)
        cfg["session_cache"] = {"redis": {"url": stack["redis"]["url"], "key_prefix": prefix, "keys": keys}}
        cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60_000}
        cfg["audit"] = {"sink": "callback"}
        self.events: list[dict[str, Any]] = []
        self.iam = ory_iam.Iam.from_config(cfg, audit_callback=self.events.append)

    def rejected(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["name"] == "session.cache_rejected"]

    async def whoami(self, token: str) -> ory_iam.Session:
        return await self.iam.session.whoami({"x-session-token": token})


async def cached_user(d: Deployment, stack: dict[str, Any], prefix: str) -> tuple[str, str, str]:
    """A new user whose session `d` has cached: (identity id, token, its entry's Redis name)."""
    before = session_names(stack, prefix)
    flow = await d.iam.flow.initiate_registration()
    email = f"py-{uuid.uuid4().hex}@example.test"
    register_secret(email)
    res = await d.iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.session_token is not None and res.identity is not None
    token = res.session_token.expose()
    assert not (await d.whoami(token)).cache_hit
    assert (await d.whoami(token)).cache_hit, "cached"
    new = session_names(stack, prefix) - before
    assert len(new) == 1, new
    return res.identity.id, token, new.pop()


async def test_a_planted_session_is_never_a_session(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    prefix = new_prefix()
    d = Deployment(iam_config, stack, prefix, [new_key()])
    user, token, name = await cached_user(d, stack, prefix)
    forged = json.dumps(SCENARIO["forged_session"])
    redis(stack, "SET", name, forged, "PX", "600000")
    s = await d.whoami(token)
    assert s.identity.id == user, "Kratos' session, not the planted one"
    assert not s.cache_hit
    [ev] = d.rejected()
    assert (ev["tenant"], ev["result"], ev["attributes"]) == ("customer", "denied", {"reason": "unauthenticated"})
    # Once Kratos no longer knows the token, the planted session does not keep it alive.
    await d.iam.session.revoke(s.id)
    redis(stack, "SET", name, forged, "PX", "600000")
    with pytest.raises(IamUnauthorizedError):
        await d.whoami(token)
    assert len(d.rejected()) == 2
    assert redis(stack, "EXISTS", name).strip() == "0", "the planted value was deleted"
    await d.iam.identity.delete(user)


async def test_a_real_entry_copied_under_another_tokens_name_is_a_miss(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    prefix = new_prefix()
    d = Deployment(iam_config, stack, prefix, [new_key()])
    user1, _, name1 = await cached_user(d, stack, prefix)
    user2, token2, name2 = await cached_user(d, stack, prefix)
    redis(stack, "COPY", name1, name2, "REPLACE")
    s = await d.whoami(token2)
    assert s.identity.id == user2, "never the session copied from another token's entry"
    assert not s.cache_hit
    assert len(d.rejected()) == 1
    for u in (user1, user2):
        await d.iam.identity.delete(u)


async def test_only_the_same_key_and_prefix_share(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    prefix, key = new_prefix(), new_key()
    a = Deployment(iam_config, stack, prefix, [key])
    user, token, _ = await cached_user(a, stack, prefix)
    same = Deployment(iam_config, stack, prefix, [key])
    s = await same.whoami(token)
    assert s.cache_hit and s.identity.id == user, "same key and prefix: a hit across instances"
    assert not (await Deployment(iam_config, stack, prefix, [new_key()]).whoami(token)).cache_hit, "another key"
    assert not (await Deployment(iam_config, stack, new_prefix(), [key]).whoami(token)).cache_hit, "another prefix"
    # Rotation: the old key listed second still reads; the new key alone does not.
    new = new_key()
    assert (await Deployment(iam_config, stack, prefix, [new, key]).whoami(token)).cache_hit
    assert not (await Deployment(iam_config, stack, prefix, [new]).whoami(token)).cache_hit
    await a.iam.identity.delete(user)


async def test_redis_holds_no_token_or_traits_in_clear(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    prefix = new_prefix()
    d = Deployment(iam_config, stack, prefix, [new_key()])
    user, token, name = await cached_user(d, stack, prefix)
    email = (await d.whoami(token)).identity.traits["email"]
    dump = redis(stack, "GET", name) + redis(stack, "KEYS", f"{prefix}:*")
    assert token.removeprefix("ory_st_") not in dump and email not in dump and "traits" not in dump
    await d.iam.identity.delete(user)


@pytest.mark.parametrize("case", SCENARIO["bad_configs"], ids=lambda c: c["name"])
def test_bad_cache_keys_and_prefixes_are_configuration_errors(iam_config: dict[str, Any], stack: dict[str, Any], case: dict[str, Any]) -> None:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = {"redis": {"url": stack["redis"]["url"], **case["redis"]}}
    with pytest.raises(IamConfigurationError) as ei:
        ory_iam.Iam.from_config(cfg)
    assert case["path"] in {f["path"] for f in ei.value.fields}
    for k in case["redis"].get("keys", []):
        if isinstance(k, str) and k:
            assert k not in str(ei.value) and k not in repr(ei.value)
