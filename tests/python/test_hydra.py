"""Hydra services from Python against the real Hydra: clients, client credentials, the full
authorization-code + PKCE flow through ConsentService, refresh, revoke, logout, JWKs, trusted
issuers and the JWT-bearer grant."""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import pytest

import ory_iam
from ory_iam import IamConfigurationError, IamNotFoundError, IamValidationError, Secret


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def step(url: str, jar: dict[str, str]) -> str:
    """GET with the jar's cookies, without following the redirect; returns its Location."""
    req = urllib.request.Request(url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
    try:
        resp = _OPENER.open(req)
        headers, status = resp.headers, resp.status
    except urllib.error.HTTPError as e:
        headers, status = e.headers, e.code
    for sc in headers.get_all("Set-Cookie") or []:
        name, _, value = sc.split(";")[0].partition("=")
        jar[name] = value
    assert 300 <= status < 400, f"{url} answered {status}"
    return str(headers["Location"])


def param(url: str, name: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)[name][0]


async def test_clients_and_client_credentials(iam: ory_iam.Iam, iam_config: dict[str, Any]) -> None:
    name = f"svc-{uuid.uuid4().hex}"
    created = await iam.oauth2_client.create(client_name=name, grant_types=["client_credentials"], scope="read write")
    assert isinstance(created.client_secret, Secret)
    secret = created.client_secret.expose()
    assert secret not in repr(created)
    got = await iam.oauth2_client.get(created.client_id)
    assert got.client_secret is None and got.client_name == name
    assert [c.client_id async for c in iam.oauth2_client.list_all(client_name=name, page_size=1)] == [created.client_id]
    patched = await iam.oauth2_client.patch(created.client_id, [{"op": "replace", "path": "/client_name", "value": "renamed"}])
    assert patched.client_name == "renamed"

    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["hydra"].update(client_id=created.client_id, client_secret=secret)
    with_client = ory_iam.Iam.from_config(cfg)
    t1 = await with_client.token.client_credentials("read")
    t2 = await with_client.token.client_credentials("read")
    assert t1.access_token == t2.access_token, "cached"
    assert t1.access_token.expose() not in repr(t1)
    i = await with_client.token.introspect(t1.access_token)
    assert i.active and i.client_id == created.client_id and i.scope == "read"
    # The contract's shapes: a list of scopes, or a space-separated string.
    listed = await with_client.token.client_credentials(["read", "write"])
    assert set((await with_client.token.introspect(listed.access_token)).scope.split()) == {"read", "write"}
    joined = await with_client.token.client_credentials("read write")
    assert joined.access_token == listed.access_token, "one cache entry for both shapes"
    with pytest.raises(IamValidationError) as bad:
        await with_client.token.client_credentials(["read", "two words"])
    assert bad.value.fields[0]["path"] == "scope[1]"
    await with_client.token.revoke(t1.access_token)
    assert (await with_client.token.introspect(t1.access_token)).active is False
    with pytest.raises(IamConfigurationError):
        await iam.token.client_credentials()
    await iam.oauth2_client.delete(created.client_id)
    with pytest.raises(IamNotFoundError):
        await iam.oauth2_client.get(created.client_id)


async def test_authorization_code_pkce_refresh_revoke_logout(iam: ory_iam.Iam, stack: dict[str, Any]) -> None:
    redirect = stack["helper"]["base_url"] + "callback"
    client = await iam.oauth2_client.create(
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code", "id_token"],
        redirect_uris=[redirect],
        scope="openid offline_access",
    )
    assert client.client_secret is not None
    verifier = b64(secrets.token_bytes(32))
    challenge = b64(hashlib.sha256(verifier.encode()).digest())
    public = stack["hydra"]["public_url"]
    auth = public + "oauth2/auth?" + urllib.parse.urlencode(
        {
            "client_id": client.client_id,
            "response_type": "code",
            "redirect_uri": redirect,
            "scope": "openid offline_access",
            "state": "state-123456789",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    jar: dict[str, str] = {}
    login_challenge = param(step(auth, jar), "login_challenge")
    login = await iam.consent.get_login_request(login_challenge)
    assert login.client_id == client.client_id and "offline_access" in login.requested_scope
    nxt = await iam.consent.accept_login_request(login_challenge, subject="user-1", remember=True, remember_for=3600)
    consent_challenge = param(step(nxt.redirect_to, jar), "consent_challenge")
    c = await iam.consent.get_consent_request(consent_challenge)
    assert c.subject == "user-1"
    nxt = await iam.consent.accept_consent_request(consent_challenge, grant_scope=c.requested_scope)
    back = step(nxt.redirect_to, jar)
    assert back.startswith(redirect)
    tokens = await iam.token.authorization_code(
        code=param(back, "code"),
        redirect_uri=redirect,
        client_id=client.client_id,
        client_secret=client.client_secret,
        code_verifier=verifier,
    )
    assert tokens.refresh_token is not None and tokens.id_token is not None
    assert (await iam.token.introspect(tokens.access_token)).sub == "user-1"
    renewed = await iam.token.refresh(refresh_token=tokens.refresh_token, client_id=client.client_id, client_secret=client.client_secret)
    with pytest.raises(IamValidationError):
        await iam.token.refresh(refresh_token=tokens.refresh_token, client_id=client.client_id, client_secret=client.client_secret)
    await iam.token.revoke(renewed.access_token, client_id=client.client_id, client_secret=client.client_secret)
    assert not (await iam.token.introspect(renewed.access_token)).active
    logout_url = public + "oauth2/sessions/logout?" + urllib.parse.urlencode({"id_token_hint": tokens.id_token.expose()})
    logout_challenge = param(step(logout_url, jar), "logout_challenge")
    assert (await iam.consent.get_logout_request(logout_challenge)).subject == "user-1"
    assert (await iam.consent.accept_logout_request(logout_challenge)).redirect_to
    await iam.oauth2_client.delete(client.client_id)


async def test_jwks_trusted_issuer_and_jwt_bearer(iam: ory_iam.Iam, stack: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key_set = f"issuer-{uuid.uuid4().hex}"
    pair = await iam.jwk.create_set(key_set, alg="ES256", use="sig", kid="ik")
    assert "'d'" not in repr(pair)
    await iam.jwk.create_set(key_set, alg="ES256", use="sig", kid="other")
    assert len((await iam.jwk.get_set(key_set)).keys) == 2
    await iam.jwk.delete_key(key_set, "other")
    with pytest.raises(IamNotFoundError):
        await iam.jwk.get_key(key_set, "other")
    private = pair.keys[0]
    public = {k: v for k, v in private.items() if k != "d"}
    issuer = f"https://issuer-{uuid.uuid4().hex}.example.test"
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    trusted = await iam.trusted_issuer.trust(issuer=issuer, subject="svc-1", scope=["read"], expires_at=expires, public_key=public)
    assert (await iam.trusted_issuer.get(trusted.id)).issuer == issuer
    assert [t.id async for t in iam.trusted_issuer.list_all(issuer=issuer)] == [trusted.id]
    with pytest.raises(IamValidationError):
        await iam.trusted_issuer.trust(issuer=issuer, scope=[], expires_at=expires, public_key=public)

    client = await iam.oauth2_client.create(grant_types=["urn:ietf:params:oauth:grant-type:jwt-bearer"], scope="read")
    now = int(time.time())
    header = b64(json.dumps({"alg": "ES256", "kid": "ik", "typ": "JWT"}).encode())
    claims = b64(
        json.dumps(
            {"iss": issuer, "sub": "svc-1", "aud": stack["hydra"]["public_url"] + "oauth2/token", "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        ).encode()
    )
    d = int.from_bytes(base64.urlsafe_b64decode(private["d"] + "=="), "big")
    key = ec.derive_private_key(d, ec.SECP256R1())
    r, s = decode_dss_signature(key.sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
    assertion = f"{header}.{claims}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    tokens = await iam.token.jwt_bearer(assertion=assertion, scope="read", client_id=client.client_id, client_secret=client.client_secret)
    assert (await iam.token.introspect(tokens.access_token)).sub == "svc-1"
    assert (await iam.metadata.discover_jwks()).keys
    await iam.trusted_issuer.delete(trusted.id)
    await iam.oauth2_client.delete(client.client_id)
    await iam.jwk.delete_set(key_set)
    with pytest.raises(IamNotFoundError):
        await iam.jwk.get_set(key_set)


async def test_resource_server_authenticate(iam: ory_iam.Iam, iam_config: dict[str, Any]) -> None:
    tokens = []
    for strategy in ("jwt", "opaque"):
        client = await iam.oauth2_client.create(grant_types=["client_credentials"], scope="read write", access_token_strategy=strategy)
        assert client.client_secret is not None
        cfg = copy.deepcopy(iam_config)
        cfg["tenants"]["customer"]["hydra"].update(client_id=client.client_id, client_secret=client.client_secret.expose())
        t = await ory_iam.Iam.from_config(cfg).token.client_credentials("read")
        tokens.append((strategy, client.client_id, t.access_token.expose()))

    class Req:
        def __init__(self, token: str) -> None:
            self.headers = {"Authorization": f"Bearer {token}"}

    for strategy, client_id, token in tokens:
        p = await iam.token.authenticate(Req(token))
        assert p.client_id == client_id and p.scope == ["read"]
        assert p.verified_by == ("jwt" if strategy == "jwt" else "introspection")
        with pytest.raises(ory_iam.IamForbiddenError):
            await iam.token.authenticate(Req(token), required_scope=["write"])
    jwt = tokens[0][2]
    forged = jwt[:-1] + ("B" if jwt[-1] == "A" else "A")
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await iam.token.authenticate(Req(forged))
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await iam.token.authenticate({})
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await iam.token.authenticate(Req("ory_at_unknown"), mode="introspect")


async def test_jwk_update_set_and_key(iam: ory_iam.Iam) -> None:
    key_set = f"upd-{uuid.uuid4().hex}"
    created = await iam.jwk.create_set(key_set, alg="ES256", use="sig", kid="a")
    key = {k: v for k, v in created.keys[0].items() if k != "d"}
    updated = await iam.jwk.update_key(key_set, "a", key)
    assert updated["kid"] == "a" and "d" not in updated
    replaced = await iam.jwk.update_set(key_set, {"keys": [key, {**key, "kid": "b"}]})
    assert len(replaced.keys) == 2
    with pytest.raises(IamValidationError):
        await iam.jwk.update_key(key_set, "a", {**key, "kid": "zzz"})
    await iam.jwk.delete_set(key_set)


async def test_set_client_and_reject_login_consent_logout(iam: ory_iam.Iam, stack: dict[str, Any]) -> None:
    redirect = stack["helper"]["base_url"] + "callback"
    fields = {"grant_types": ["authorization_code"], "response_types": ["code"], "redirect_uris": [redirect], "scope": "openid"}
    client = await iam.oauth2_client.create(fields)
    replaced = await iam.oauth2_client.set(client.client_id, {**fields, "client_name": "replaced"})
    assert replaced.client_name == "replaced"
    public = stack["hydra"]["public_url"]

    def auth(state: str) -> str:
        return public + "oauth2/auth?" + urllib.parse.urlencode(
            {"client_id": client.client_id, "response_type": "code", "redirect_uri": redirect, "scope": "openid", "state": state}
        )

    jar: dict[str, str] = {}
    ch = param(step(auth("state-reject-login"), jar), "login_challenge")
    r = await iam.consent.reject_login_request(ch, error="access_denied", error_description="no")
    assert param(step(r.redirect_to, jar), "error") == "access_denied"
    jar = {}
    ch = param(step(auth("state-reject-consent"), jar), "login_challenge")
    r = await iam.consent.accept_login_request(ch, subject="user-2", remember=True, remember_for=3600)
    cc = param(step(r.redirect_to, jar), "consent_challenge")
    r = await iam.consent.reject_consent_request(cc, error="access_denied")
    assert param(step(r.redirect_to, jar), "error") == "access_denied"
    lc = param(step(public + "oauth2/sessions/logout", jar), "logout_challenge")
    assert (await iam.consent.reject_logout_request(lc)).redirect_to == ""
    await iam.oauth2_client.delete(client.client_id)


@dataclass
class CodeFlow:
    tokens: Any
    client_id: str
    client_secret: Secret
    jar: dict[str, str]
    auth_url: str
    login_session_id: Optional[str]


async def code_flow_as(
    iam: ory_iam.Iam,
    stack: dict[str, Any],
    who: str = "user-1",
    *,
    remember: Optional[bool] = None,
    strategy: Optional[str] = None,
    audience: tuple[str, ...] = (),
) -> CodeFlow:
    """A real authorization-code flow (PKCE) for a new client (with the given access-token
    strategy and audience, if any), login and consent accepted for ``who``. With ``remember``
    set, Hydra remembers (or not) login and consent, and the ID token carries an email claim."""
    redirect = stack["helper"]["base_url"] + "callback"
    extra: dict[str, Any] = {"audience": list(audience), "access_token_strategy": strategy} if strategy else {}
    client = await iam.oauth2_client.create(
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code", "id_token"],
        redirect_uris=[redirect],
        scope="openid offline_access read",
        **extra,
    )
    assert client.client_secret is not None
    verifier = b64(secrets.token_bytes(32))
    query = {
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": redirect,
        "scope": "openid offline_access read",
        "state": "state-123456789",
        "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    if audience:
        query["audience"] = " ".join(audience)
    auth_url = stack["hydra"]["public_url"] + "oauth2/auth?" + urllib.parse.urlencode(query)
    jar: dict[str, str] = {}
    login_challenge = param(step(auth_url, jar), "login_challenge")
    login = await iam.consent.get_login_request(login_challenge)
    remembered: dict[str, Any] = {} if remember is None else {"remember": remember, "remember_for": 0}
    nxt = await iam.consent.accept_login_request(login_challenge, subject=who, **remembered)
    consent_challenge = param(step(nxt.redirect_to, jar), "consent_challenge")
    c = await iam.consent.get_consent_request(consent_challenge)
    claims: dict[str, Any] = {} if remember is None else {"session": {"id_token": {"email": f"{who}@example.test"}}}
    nxt = await iam.consent.accept_consent_request(
        consent_challenge,
        grant_scope=c.requested_scope,
        grant_access_token_audience=c.requested_access_token_audience,
        **remembered,
        **claims,
    )
    code = param(step(nxt.redirect_to, jar), "code")
    tokens = await iam.token.authorization_code(
        code=code, redirect_uri=redirect, client_id=client.client_id, client_secret=client.client_secret, code_verifier=verifier
    )
    return CodeFlow(tokens, client.client_id, client.client_secret, jar, auth_url, login.session_id or c.session_id)


async def code_flow(iam: ory_iam.Iam, stack: dict[str, Any], strategy: str, audience: tuple[str, ...] = ()) -> tuple[Any, str, Secret]:
    """``code_flow_as`` for user-1 with the given access-token strategy: the token set, the
    client id and secret."""
    f = await code_flow_as(iam, stack, strategy=strategy, audience=audience)
    return f.tokens, f.client_id, f.client_secret


class _Bearer:
    def __init__(self, token: Any) -> None:
        self.headers = {"Authorization": f"Bearer {token.expose() if isinstance(token, Secret) else token}"}


async def test_local_verification_cannot_see_revocation(iam: ory_iam.Iam, stack: dict[str, Any], iam_config: dict[str, Any]) -> None:
    tokens, client_id, secret = await code_flow(iam, stack, "jwt")
    await iam.token.refresh(refresh_token=tokens.refresh_token, client_id=client_id, client_secret=secret)
    old = _Bearer(tokens.access_token)
    assert not (await iam.token.introspect(tokens.access_token)).active
    assert (await iam.token.authenticate(old)).verified_by == "jwt"  # documented limitation
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await iam.token.authenticate(old, mode="introspect")
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["hydra"]["bearer_mode"] = "introspect"
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await ory_iam.Iam.from_config(cfg).token.authenticate(old)
    await iam.oauth2_client.delete(client_id)
