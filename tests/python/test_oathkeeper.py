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
