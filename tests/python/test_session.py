"""FlowService and SessionService from Python against the real Kratos instances."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import uuid
from typing import Any

import pytest

import ory_iam
from conftest import redis_cache
from ory_iam import IamUnauthorizedError, IamUpstreamUnavailableError, Secret

PASSWORD = "a-Long-and-unique-passphrase-42"


def make_iam(iam_config: dict[str, Any], session_cache: Any, events: list[dict[str, Any]] | None = None) -> ory_iam.Iam:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = session_cache
    for t in ("customer", "admin"):
        cfg["tenants"][t]["cache"] = {"session_ttl_ms": 60_000}
    if events is not None:
        cfg["audit"] = {"sink": "callback"}
        return ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    return ory_iam.Iam.from_config(cfg)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Jar:
    """What a browser does with Set-Cookie: keep name=value, send them back."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def update(self, set_cookie: list[Secret]) -> str:
        for sc in set_cookie:
            name, _, value = sc.expose().split(";")[0].partition("=")
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


async def register_native(iam: ory_iam.Iam, email: str) -> ory_iam.FlowResult:
    flow = await iam.flow.initiate_registration()
    assert flow.flow_type == "native"
    res = await iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.kind == "success"
    return res


async def test_native_registration_login_whoami_logout(iam_config: dict[str, Any], email: str) -> None:
    iam = make_iam(iam_config, "none")
    reg = await register_native(iam, email)
    assert isinstance(reg.session_token, Secret)
    token = reg.session_token.expose()
    assert token not in repr(reg) and token not in json.dumps(reg.to_dict())

    class Request:  # any object with .headers, like a Starlette/Django/Flask request
        headers = {"Authorization": f"Bearer {token}"}

    s = await iam.session.whoami(Request())
    assert s.tenant == "customer" and s.id == reg.session_id and not s.cache_hit
    assert s.identity.traits is not None and s.identity.traits["email"] == email
    assert (await iam.session.whoami({"x-session-token": token})).id == s.id
    assert (await iam.session.whoami([("authorization", f"Bearer {token}")])).id == s.id

    login = await iam.flow.initiate_login()
    wrong = await iam.flow.submit_login(login.id, {"method": "password", "identifier": email, "password": "wrong-password-123"})
    assert wrong.kind == "continue" and wrong.flow is not None
    assert any(m.type == "error" for m in wrong.flow.ui.messages)
    ok = await iam.flow.submit_login(wrong.flow.id, {"method": "password", "identifier": email, "password": PASSWORD})
    assert ok.kind == "success" and ok.session_token is not None
    token2 = ok.session_token
    await iam.flow.perform_native_logout(token2)
    with pytest.raises(IamUnauthorizedError):
        await iam.session.whoami({"authorization": f"Bearer {token2.expose()}"})
    assert await iam.session.whoami_or_null({"authorization": f"Bearer {token2.expose()}"}) is None
    assert (await iam.session.whoami(Request())).id == s.id
    await iam.identity.delete(s.identity.id)


async def test_browser_registration_whoami_logout(iam_config: dict[str, Any], email: str) -> None:
    iam = make_iam(iam_config, "none")
    jar = Jar()
    flow = await iam.flow.initiate_registration(kind="browser")
    assert flow.flow_type == "browser" and flow.csrf_token
    cookie = jar.update(flow.set_cookie)
    res = await iam.flow.submit_registration(
        flow.id,
        {"method": "password", "password": PASSWORD, "traits": {"email": email}},
        cookie=cookie,
        csrf_token=flow.csrf_token,
    )
    assert res.kind == "success" and res.session_token is None
    cookie = jar.update(res.set_cookie)
    assert "ory_kratos_session_customer=" in cookie
    s = await iam.session.whoami({"cookie": cookie})
    assert s.identity.traits is not None and s.identity.traits["email"] == email
    with pytest.raises(IamUnauthorizedError):
        await iam.session.for_tenant("admin").whoami({"cookie": cookie})
    logout = await iam.flow.initiate_browser_logout(cookie)
    assert "***" in repr(logout) and logout.logout_token.expose() not in repr(logout)
    cleared = await iam.flow.submit_browser_logout(logout.logout_token, cookie)
    assert any(c.expose().startswith("ory_kratos_session_customer=") for c in cleared)
    assert await iam.session.whoami_or_null({"cookie": cookie}) is None
    await iam.identity.delete(s.identity.id)


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer "}, {"authorization": "Bearer ory_st_notARealToken"}, {"cookie": "ory_kratos_session_customer=bogus"}],
)
async def test_whoami_rejects(iam_config: dict[str, Any], headers: dict[str, str]) -> None:
    iam = make_iam(iam_config, "none")
    with pytest.raises(IamUnauthorizedError) as ei:
        await iam.session.whoami(headers)
    assert ei.value.code == "unauthorized"
    assert await iam.session.whoami_or_null(headers) is None


async def test_kratos_down_is_an_outage_not_anonymous(iam_config: dict[str, Any]) -> None:
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{closed_port()}/"
    cfg["tenants"]["customer"]["http"] = {"timeout_ms": 1000, "retries": 1, "backoff_base_ms": 10}
    iam = ory_iam.Iam.from_config(cfg)
    req = {"authorization": "Bearer ory_st_whatever"}
    with pytest.raises(IamUpstreamUnavailableError):
        await iam.session.whoami(req)
    with pytest.raises(IamUpstreamUnavailableError):
        await iam.session.whoami_or_null(req)
    assert await iam.session.whoami_or_null({}) is None


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_cache_hit_miss_evict(iam_config: dict[str, Any], stack: dict[str, Any], email: str, backend: str) -> None:
    events: list[dict[str, Any]] = []
    cache = "memory" if backend == "memory" else redis_cache(stack["redis"]["url"])
    iam = make_iam(iam_config, cache, events)
    reg = await register_native(iam, email)
    assert reg.session_token is not None
    token = reg.session_token.expose()
    req = {"authorization": f"Bearer {token}"}
    first = await iam.session.whoami(req)
    second = await iam.session.whoami(req)
    assert (first.cache_hit, second.cache_hit) == (False, True)
    third = await iam.session.whoami_or_null(req)
    assert third is not None and third.cache_hit and third.id == first.id
    with pytest.raises(IamUnauthorizedError):
        await iam.session.for_tenant("admin").whoami(req)
    assert await iam.session.for_tenant("admin").whoami_or_null(req) is None
    await iam.session.revoke(first.id)
    with pytest.raises(IamUnauthorizedError):
        await iam.session.whoami(req)
    assert await iam.session.whoami_or_null(req) is None
    hits = [e["attributes"]["cache_hit"] for e in events if e["name"] == "auth.success"]
    assert hits == [False, True, True]
    assert any(e["name"] == "authz.session.revoke" and e["target_id"] == first.id for e in events)
    dump = json.dumps(events)
    assert token not in dump and email not in dump
    await iam.identity.delete(first.identity.id)


async def test_identity_sessions(iam_config: dict[str, Any], email: str) -> None:
    iam = make_iam(iam_config, "memory")
    reg = await register_native(iam, email)
    assert reg.identity is not None and reg.session_token is not None
    page = await iam.identity.list_sessions(reg.identity.id)
    assert [s.id for s in page.items] == [reg.session_id]
    assert page.items[0].identity.traits is None
    assert [x.id async for x in iam.identity.list_sessions_all(reg.identity.id, active=True)] == [reg.session_id]
    extended = await iam.identity.extend_session(page.items[0].id)
    assert extended.id == reg.session_id
    await iam.identity.revoke_session(page.items[0].id)
    assert await iam.session.whoami_or_null({"authorization": f"Bearer {reg.session_token.expose()}"}) is None
    await iam.identity.delete(reg.identity.id)


def test_secret_never_prints() -> None:
    s = Secret("ory_st_abc")
    assert repr(s) == "Secret('***')" and str(s) == "***" and s.expose() == "ory_st_abc"
    assert f"{s}" == "***"


def sign(claims: dict[str, Any], key: str) -> tuple[str, str]:
    """The envelope format documented in core/src/transport/oathkeeper.rs, built independently."""
    import base64
    import hashlib
    import hmac

    def b64(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    payload = b64(json.dumps(claims).encode())
    return payload, b64(hmac.new(key.encode(), payload.encode(), hashlib.sha256).digest())


async def test_oathkeeper_envelopes(iam_config: dict[str, Any]) -> None:
    import time

    events: list[dict[str, Any]] = []
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{closed_port()}/"
    cfg["tenants"]["customer"]["transport"] = "oathkeeper"
    cfg["tenants"]["customer"]["oathkeeper"] = {"signer_keys": ["previous-key-0123456789", "current-key-0123456789"]}
    cfg["audit"] = {"sink": "callback"}
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    now = int(time.time())
    for i, key in enumerate(["previous-key-0123456789", "current-key-0123456789"]):
        p, s = sign({"sub": "user-1", "iat": now, "exp": now + 300, "jti": f"py-{uuid.uuid4()}-{i}", "traits": {"email": "x@example.test"}}, key)
        session = await iam.session.whoami({"X-User": p, "X-User-Signature": s})
        assert session.identity.id == "user-1" and session.identity.traits == {"email": "x@example.test"}
        assert await iam.session.whoami_or_null({"X-User": p, "X-User-Signature": s}) is None, "replay"
    p, s = sign({"sub": "user-1", "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}, "attacker-key-0123456789")
    with pytest.raises(IamUnauthorizedError):
        await iam.session.whoami({"X-User": p, "X-User-Signature": s})
    assert "auth.failure.unsigned_header" in {e["name"] for e in events}
    assert "x@example.test" not in json.dumps(events)


async def test_expired_sessions_are_unauthorized_even_when_cached(iam_config: dict[str, Any], email: str) -> None:
    """The admin tenant's Kratos gives sessions a 3 s lifespan (tests/stack)."""
    import asyncio

    events: list[dict[str, Any]] = []
    iam = make_iam(iam_config, "memory", events)
    flows = iam.flow.for_tenant("admin")
    flow = await flows.initiate_registration()
    reg = await flows.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert reg.session_token is not None and reg.identity is not None
    sessions = iam.session.for_tenant("admin")
    req = {"authorization": f"Bearer {reg.session_token.expose()}"}
    assert not (await sessions.whoami(req)).cache_hit
    assert (await sessions.whoami(req)).cache_hit
    await asyncio.sleep(3.5)
    with pytest.raises(IamUnauthorizedError):
        await sessions.whoami(req)
    assert "auth.failure.expired" in {e["name"] for e in events}
    await iam.identity.for_tenant("admin").delete(reg.identity.id)


async def test_browser_login_settings_verification_fetch(iam_config: dict[str, Any], email: str) -> None:
    iam = make_iam(iam_config, "none")
    reg = await register_native(iam, email)
    assert reg.session_token is not None and reg.identity is not None
    jar = Jar()
    login = await iam.flow.initiate_login(kind="browser")
    cookie = jar.update(login.set_cookie)
    assert (await iam.flow.fetch_flow("login", login.id, cookie=cookie)).id == login.id
    ok = await iam.flow.submit_login(
        login.id, {"method": "password", "identifier": email, "password": PASSWORD}, cookie=cookie, csrf_token=login.csrf_token
    )
    assert ok.kind == "success"
    cookie = jar.update(ok.set_cookie)
    assert (await iam.session.whoami({"cookie": cookie})).identity.id == reg.identity.id

    settings = await iam.flow.initiate_settings(session_token=reg.session_token)
    done = await iam.flow.submit_settings(
        settings.id, {"method": "profile", "traits": {"email": email, "name": {"first": "Grace"}}}, session_token=reg.session_token
    )
    assert done.kind == "success" and done.flow is not None and done.flow.state == "success"
    traits = (await iam.identity.get_with_traits(reg.identity.id)).traits
    assert traits is not None and traits["name"] == {"first": "Grace"}
    with pytest.raises(IamUnauthorizedError):
        await iam.flow.initiate_settings()

    v = await iam.flow.initiate_verification()
    sent = await iam.flow.submit_verification(v.id, {"method": "code", "email": email})
    assert sent.kind == "continue" and sent.flow is not None and sent.flow.state == "sent_email"
    assert (await iam.flow.fetch_flow("verification", v.id)).state == "sent_email"
    with pytest.raises(ory_iam.IamValidationError):
        await iam.flow.fetch_flow("nonsense", v.id)
    with pytest.raises(ory_iam.IamValidationError):
        await iam.flow.submit_login(v.id, {"identifier": "x"})
    await iam.identity.delete(reg.identity.id)


async def test_session_objects_are_built_exactly_as_by_init(iam_config: dict[str, Any], email: str) -> None:
    """`whoami` gets its Session, Identity and addresses built by the binding without the
    dataclass __init__ (fetched, cache hit, blocking API); each must be the object __init__
    builds from the same values. `_from` (other methods' dicts) skips __init__ only for exactly
    the class's fields and must still refuse any other key set as __init__ refuses it."""
    import dataclasses
    import pickle

    import ory_iam.sync
    from ory_iam._dto import Identity, RecoveryAddress, Session, VerifiableAddress

    iam = make_iam(iam_config, "memory")
    reg = await register_native(iam, email)
    assert reg.session_token is not None
    h = {"x-session-token": reg.session_token.expose()}

    def by_init(s: Session) -> Session:
        def values(o: Any) -> dict[str, Any]:
            return {f.name: getattr(o, f.name) for f in dataclasses.fields(o)}

        i = values(s.identity)
        i["verifiable_addresses"] = [VerifiableAddress(**values(a)) for a in i["verifiable_addresses"]]
        i["recovery_addresses"] = [RecoveryAddress(**values(a)) for a in i["recovery_addresses"]]
        return Session(**{**values(s), "identity": Identity(**i)})

    fetched = await iam.session.whoami(h)
    hit = await iam.session.whoami(h)
    blocking = await asyncio.to_thread(ory_iam.sync.Iam(iam).session.whoami, h)
    or_null = await iam.session.whoami_or_null(h)
    assert not fetched.cache_hit and hit.cache_hit and blocking.cache_hit and or_null is not None
    for s in (fetched, hit, blocking, or_null):
        expected = by_init(s)
        assert type(s) is Session and type(s.identity) is Identity
        assert s == expected and repr(s) == repr(expected) and s.to_dict() == expected.to_dict()
        assert dataclasses.replace(s) == expected and pickle.loads(pickle.dumps(s)) == expected
        assert copy.deepcopy(s) == expected
        # The same attributes as __init__ sets, and nothing else.
        for o, e in ((s, expected), (s.identity, expected.identity)):
            assert vars(o) == vars(e) and list(vars(o)) == list(vars(e))
        assert s.identity.verifiable_addresses and s.identity.verifiable_addresses[0].value == email
        assert type(s.identity.verifiable_addresses[0]) is VerifiableAddress
        assert s.identity.traits is not None and s.identity.traits["email"] == email
        # Still frozen.
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.id = "x"  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.identity.traits = {}  # type: ignore[misc]
    assert fetched == dataclasses.replace(hit, cache_hit=False)

    d = fetched.to_dict()
    assert Session._from(d) == fetched
    # The dict was not modified.
    assert isinstance(d["identity"], dict)
    # An unexpected or a missing key is refused, as by __init__.
    with pytest.raises(TypeError):
        Session._from({**d, "surprise": 1})
    with pytest.raises(TypeError):
        Session._from({k: v for k, v in d.items() if k != "active"})
    with pytest.raises(TypeError):
        Identity._from({**d["identity"], "surprise": 1})
    await iam.identity.delete(fetched.identity.id)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_identity_writes_evict_cached_sessions(iam_config: dict[str, Any], stack: dict[str, Any], email: str, backend: str) -> None:
    """Issue 19: deactivating or deleting an identity through the library ends its cached
    sessions at once (before: the cache kept answering active for the whole TTL)."""
    cache = "memory" if backend == "memory" else redis_cache(stack["redis"]["url"])
    iam = make_iam(iam_config, cache)
    reg = await register_native(iam, email)
    assert reg.session_token is not None and reg.identity is not None
    req = {"authorization": f"Bearer {reg.session_token.expose()}"}
    await iam.session.whoami(req)
    assert (await iam.session.whoami(req)).cache_hit
    await iam.identity.patch(reg.identity.id, [{"op": "replace", "path": "/state", "value": "inactive"}])
    with pytest.raises(IamUnauthorizedError):
        await iam.session.whoami(req)
    await iam.identity.delete(reg.identity.id)
