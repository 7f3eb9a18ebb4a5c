"""The `oathkeeper` transport behind the stack's real Ory Oathkeeper (issue 22): a real Kratos
session (token or cookie) goes through Oathkeeper, whose id_token mutator hands the echo upstream
`Authorization: Bearer <JWT>`; `whoami` with `verifier: jwt` (keys from Oathkeeper's JWKS)
resolves the identity. Tokens Oathkeeper did not issue for this app are refused with the audit
event naming why; the FastAPI dependency works behind it."""

from __future__ import annotations

import base64
import copy
import json
import urllib.request
from typing import Any

import pytest

import ory_iam
from test_session import register_native


def _through(stack: dict[str, Any], rule: str, headers: dict[str, str]) -> dict[str, Any]:
    req = urllib.request.Request(f"{stack['oathkeeper']['proxy_url']}{rule}/anything", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as r:
        out: dict[str, Any] = json.loads(r.read())
    return out


def edge_config(iam_config: dict[str, Any], stack: dict[str, Any], **oathkeeper: Any) -> dict[str, Any]:
    ok = stack["oathkeeper"]
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["transport"] = "oathkeeper"
    cfg["tenants"]["customer"]["oathkeeper"] = {
        "verifier": "jwt", "jwks": {"url": ok["jwks_url"]}, "audience": ok["audience"], "issuer": ok["issuer"], **oathkeeper}
    return cfg


async def _jwt(iam: ory_iam.Iam, stack: dict[str, Any], email: str) -> tuple[str, str]:
    reg = await register_native(iam, email)
    assert reg.session_token is not None and reg.identity is not None
    echo = _through(stack, "bearer", {"Authorization": f"Bearer {reg.session_token.expose()}"})
    return reg.identity.id, echo["headers"]["authorization"]


async def test_a_session_through_oathkeeper_is_the_identity(iam: ory_iam.Iam, iam_config: dict[str, Any], stack: dict[str, Any], email: str) -> None:
    identity_id, auth = await _jwt(iam, stack, email)
    events: list[dict[str, Any]] = []
    cfg = edge_config(iam_config, stack)
    cfg["audit"] = {"sink": "callback"}
    edge = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    s = await edge.session.whoami({"authorization": auth})
    assert s.identity.id == identity_id and s.identity.traits is not None and s.identity.traits["email"] == email
    assert (await edge.session.whoami({"authorization": auth})).identity.id == identity_id, "the same JWT again"
    assert [e["name"] for e in events] == ["auth.success", "auth.success"]
    await iam.identity.delete(identity_id)


@pytest.mark.parametrize(
    "edit,event",
    [
        ({"audience": "another-app"}, "auth.failure.audience_mismatch"),
        ({"issuer": "https://oathkeeper.example/"}, "auth.failure.invalid_signature"),
        ({"replay_protection": {"enabled": True}}, "auth.failure.replay"),
    ],
)
async def test_tokens_for_another_app_or_replayed_are_refused(
    iam: ory_iam.Iam, iam_config: dict[str, Any], stack: dict[str, Any], email: str, edit: dict[str, Any], event: str
) -> None:
    identity_id, auth = await _jwt(iam, stack, email)
    events: list[dict[str, Any]] = []
    cfg = edge_config(iam_config, stack, **edit)
    cfg["audit"] = {"sink": "callback"}
    edge = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    if event == "auth.failure.replay":
        await edge.session.whoami({"authorization": auth})
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await edge.session.whoami({"authorization": auth})
    assert events[-1]["name"] == event
    await iam.identity.delete(identity_id)


async def test_a_tampered_token_and_a_missing_one_are_refused(iam: ory_iam.Iam, iam_config: dict[str, Any], stack: dict[str, Any], email: str) -> None:
    identity_id, auth = await _jwt(iam, stack, email)
    h, c, s = auth.split(" ", 1)[1].split(".")
    claims = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
    claims["sub"] = "00000000-0000-4000-8000-000000000000"
    forged = f"Bearer {h}.{base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b'=').decode()}.{s}"
    edge = ory_iam.Iam.from_config(edge_config(iam_config, stack))
    for headers in ({"authorization": forged}, {}):
        with pytest.raises(ory_iam.IamUnauthorizedError):
            await edge.session.whoami(headers)
    assert await edge.session.whoami_or_null({}) is None
    await iam.identity.delete(identity_id)


async def test_fastapi_behind_oathkeeper(iam: ory_iam.Iam, iam_config: dict[str, Any], stack: dict[str, Any], email: str) -> None:
    from fastapi import Depends, FastAPI
    from httpx import ASGITransport, AsyncClient

    from ory_iam.fastapi import IamAuth

    identity_id, auth = await _jwt(iam, stack, email)
    edge = ory_iam.Iam.from_config(edge_config(iam_config, stack))
    app = FastAPI()
    guard = IamAuth(edge, tenant="customer")
    guard.install(app)

    @app.get("/me")
    async def me(session: ory_iam.Session = Depends(guard.current_user)) -> dict[str, str]:
        return {"id": session.identity.id}

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://app") as client:
        ok = await client.get("/me", headers={"Authorization": auth})
        assert ok.status_code == 200 and ok.json() == {"id": identity_id}
        assert (await client.get("/me")).status_code == 401
    await iam.identity.delete(identity_id)


async def test_an_ory_nestjs_envelope_is_accepted(iam_config: dict[str, Any]) -> None:
    """ory-nestjs's HMAC envelope (its header names, plain JSON or base64, hex or base64
    signature) verifies like ours; one without a future expiresAt is refused."""
    import datetime
    import hashlib
    import hmac

    key = "nest-signer-key-0123456789"
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["transport"] = "oathkeeper"
    cfg["tenants"]["customer"]["oathkeeper"] = {
        "identity_header": "X-Ory-Identity", "signature_header": "X-Ory-Signature", "signer_keys": ["new-key-0123456789", key]}
    edge = ory_iam.Iam.from_config(cfg)
    expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)).isoformat().replace("+00:00", "Z")
    envelope = {"id": "9f425a8d-7efc-4768-8f23-7647a74fdf13", "schemaId": "customer", "state": "active", "sessionId": "nest-1",
                "expiresAt": expires, "metadataPublic": {"roles": ["seller"]}, "verifiedAddressesFlags": {"email": True, "phone": False}}

    def sig(raw: str) -> bytes:
        return hmac.new(key.encode(), raw.encode(), hashlib.sha256).digest()

    plain = json.dumps(envelope)
    b64 = base64.b64encode(json.dumps({**envelope, "sessionId": "nest-2"}).encode()).decode()
    for raw, signature, sid in ((plain, sig(plain).hex(), "nest-1"), (b64, base64.b64encode(sig(b64)).decode(), "nest-2")):
        s = await edge.session.whoami({"x-ory-identity": raw, "x-ory-signature": signature})
        assert s.identity.id == envelope["id"] and s.id == sid
        assert s.identity.metadata_public == {"roles": ["seller"]}
    forever = json.dumps({k: v for k, v in envelope.items() if k != "expiresAt"})
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await edge.session.whoami({"x-ory-identity": forever, "x-ory-signature": sig(forever).hex()})
    await edge.close()


async def test_expired_tokens_and_tokens_signed_by_another_key_are_refused(
    iam: ory_iam.Iam, iam_config: dict[str, Any], stack: dict[str, Any], email: str
) -> None:
    """Oathkeeper's own key (the stack generated it) signs an expired token; a key of our own
    signs one under Oathkeeper's kid: both refused, each with its audit event."""
    import time

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

    identity_id, auth = await _jwt(iam, stack, email)
    c = auth.split(" ", 1)[1].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)))
    with open(stack["oathkeeper"]["jwks_file"]) as f:
        jwk = json.load(f)["keys"][-1]

    def b64u(b: bytes) -> str:
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

    def num(k: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(jwk[k] + "=" * (-len(jwk[k]) % 4)), "big")

    rsa_key = rsa.RSAPrivateNumbers(
        p=num("p"), q=num("q"), d=num("d"), dmp1=num("dp"), dmq1=num("dq"), iqmp=num("qi"),
        public_numbers=rsa.RSAPublicNumbers(num("e"), num("n")),
    ).private_key()  # fmt: skip
    now = int(time.time())

    def signed(header: dict[str, Any], body: dict[str, Any], sign: Any) -> str:
        signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(body).encode())}"
        return f"Bearer {signing_input}.{b64u(sign(signing_input.encode()))}"

    expired = signed({"alg": "RS256", "kid": jwk["kid"], "typ": "JWT"}, {**claims, "iat": now - 180, "nbf": now - 180, "exp": now - 120},
                     lambda m: rsa_key.sign(m, padding.PKCS1v15(), hashes.SHA256()))  # fmt: skip
    ec_key = ec.generate_private_key(ec.SECP256R1())

    def es256(m: bytes) -> bytes:
        r, s = utils.decode_dss_signature(ec_key.sign(m, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    other_key = signed({"alg": "ES256", "kid": jwk["kid"], "typ": "JWT"}, claims, es256)
    for header, event in ((expired, "auth.failure.expired"), (other_key, "auth.failure.invalid_signature")):
        events: list[dict[str, Any]] = []
        cfg = edge_config(iam_config, stack)
        cfg["audit"] = {"sink": "callback"}
        edge = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
        with pytest.raises(ory_iam.IamUnauthorizedError):
            await edge.session.whoami({"authorization": header})
        assert events[-1]["name"] == event
        await edge.close()
    await iam.identity.delete(identity_id)
