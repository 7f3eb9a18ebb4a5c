"""``flow.exchange_session_token`` (issue 25, Kratos ``exchangeSessionToken``): a native app's
sign-in that continues in a browser — social sign-in with the stack's Hydra as Kratos's OpenID
Connect provider — ends with a session token for the app; async and blocking, real servers."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

import ory_iam
import ory_iam.sync
from ory_iam import IamNotFoundError, IamValidationError, Secret
from test_hydra import param, step


def return_to(stack: dict[str, Any]) -> str:
    return str(stack["helper"]["base_url"]) + "app-callback"


def email() -> str:
    return f"social-{uuid.uuid4().hex[:12]}@example.test"


async def browser_leg(iam: ory_iam.Iam, redirect_browser_to: str, address: str) -> str:
    """Follow Kratos's redirect as a browser would, signing in at Hydra as ``address`` (the
    test accepts login and consent like a login UI): the URL Kratos ends on."""
    jar: dict[str, str] = {}
    challenge = param(step(redirect_browser_to, jar), "login_challenge")
    nxt = await iam.consent.accept_login_request(challenge, subject=address)
    challenge = param(step(nxt.redirect_to, jar), "consent_challenge")
    req = await iam.consent.get_consent_request(challenge)
    nxt = await iam.consent.accept_consent_request(challenge, grant_scope=req.requested_scope, session={"id_token": {"email": address}})
    return step(step(nxt.redirect_to, jar), jar)


async def social_registration(iam: ory_iam.Iam, stack: dict[str, Any]) -> tuple[ory_iam.Flow, str]:
    flow = await iam.flow.initiate_registration(return_to=return_to(stack), return_session_token_exchange_code=True)
    assert isinstance(flow.session_token_exchange_code, Secret)
    r = await iam.flow.submit_registration(flow.id, {"method": "oidc", "provider": "hydra"})
    assert r.kind == "redirect" and r.redirect_browser_to
    return flow, r.redirect_browser_to


async def test_social_sign_in_ends_with_a_session_token(iam: ory_iam.Iam, stack: dict[str, Any]) -> None:
    flow, browser = await social_registration(iam, stack)
    init = flow.session_token_exchange_code
    assert init is not None and init.expose() not in repr(flow)
    with pytest.raises(IamNotFoundError):
        await iam.flow.exchange_session_token(init, "not-yet-a-code-0123456789")
    address = email()
    back = await browser_leg(iam, browser, address)
    assert back.startswith(return_to(stack))
    done = await iam.flow.exchange_session_token(init, Secret(param(back, "code")))
    assert done.kind == "success" and done.session is not None and done.session_token is not None
    assert done.session.identity.traits is not None and done.session.identity.traits["email"] == address
    me = await iam.session.whoami({"x-session-token": done.session_token})
    assert me.id == done.session.id
    assert done.session_token.expose() not in repr(done)
    # Another flow's code does not complete this one.
    other, other_browser = await social_registration(iam, stack)
    other_back = await browser_leg(iam, other_browser, email())
    assert other.session_token_exchange_code is not None
    with pytest.raises(IamNotFoundError):
        await iam.flow.exchange_session_token(init, param(other_back, "code"))
    with pytest.raises(IamNotFoundError):
        await iam.flow.exchange_session_token(other.session_token_exchange_code, param(back, "code"))
    await iam.flow.perform_native_logout(done.session_token)
    await iam.identity.delete(done.session.identity.id)


def test_blocking_api_and_bad_input(iam_config: dict[str, Any]) -> None:
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["kratos"]["public_url"] = "http://127.0.0.1:9/"  # nothing may be asked
    with ory_iam.sync.Iam.from_config(cfg) as iam:
        for bad in ["", "has space", "line\r\nbreak", "x" * 513]:
            with pytest.raises(IamValidationError):
                iam.flow.exchange_session_token(bad, "code-0123456789")
            with pytest.raises(IamValidationError):
                iam.flow.exchange_session_token("code-0123456789", Secret(bad))
        with pytest.raises(IamValidationError):
            iam.flow.initiate_login(kind="browser", return_session_token_exchange_code=True)
        with pytest.raises(IamValidationError):
            iam.flow.initiate_recovery(return_session_token_exchange_code=True)
