"""FakeOry's authorization-code flow: a login/consent app's logic run against the fake, with
``FakeOry.authorize`` / ``FakeOry.follow`` as the browser, ending in an access token that
authenticates (the Rust tests: core/tests/fake_hydra_flows.rs)."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
from typing import Any

import pytest

import ory_iam
from ory_iam import Secret
from ory_iam.testing import CONSENT_URL, LOGIN_URL, FakeOry

REDIRECT = "https://app.example.test/callback"
VERIFIER = "a-verifier-of-more-than-forty-three-characters-0123456789"


def param(url: str, name: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)[name][0]


async def login_app(iam: ory_iam.Iam, challenge: str, user: str) -> str:
    """The user's login endpoint: the user proved to be `user`."""
    login = await iam.consent.get_login_request(challenge)
    assert not login.skip
    return (await iam.consent.accept_login_request(challenge, subject=user)).redirect_to


async def consent_app(iam: ory_iam.Iam, challenge: str) -> str:
    """The user's consent endpoint: grants what was asked, with an email claim."""
    c = await iam.consent.get_consent_request(challenge)
    granted = await iam.consent.accept_consent_request(
        challenge, grant_scope=c.requested_scope, session={"id_token": {"email": f"{c.subject}@example.test"}}
    )
    return granted.redirect_to


async def test_a_login_and_consent_app_ends_in_a_token_that_authenticates() -> None:
    fake = FakeOry()
    iam = fake.iam
    client = await iam.oauth2_client.create(
        grant_types=["authorization_code", "refresh_token"], response_types=["code"], redirect_uris=[REDIRECT], scope="openid offline_access read"
    )
    assert client.client_secret is not None
    challenge = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    to_login = fake.authorize(
        client_id=client.client_id, redirect_uri=REDIRECT, scope="openid offline_access read", state="state-123456789",
        code_challenge=challenge, code_challenge_method="S256",
    )
    assert to_login.startswith(LOGIN_URL)
    to_consent = fake.follow(await login_app(iam, param(to_login, "login_challenge"), "user-1"))
    assert to_consent.startswith(CONSENT_URL)
    granted = await consent_app(iam, param(to_consent, "consent_challenge"))
    back = fake.follow(granted)
    assert back.startswith(REDIRECT) and param(back, "state") == "state-123456789"
    # The verifier works once, as Hydra's.
    assert param(fake.follow(granted), "error") == "access_denied"
    code = param(back, "code")

    tokens = await iam.token.authorization_code(
        code=code, redirect_uri=REDIRECT, client_id=client.client_id, client_secret=client.client_secret, code_verifier=VERIFIER
    )
    who = await iam.token.authenticate(fake.headers_for(tokens.access_token), required_scope=["read"])
    assert (who.subject, who.client_id) == ("user-1", client.client_id)
    assert (await iam.token.userinfo(tokens.access_token)).sub == "user-1"
    sessions = await iam.consent.list_consent_sessions(subject="user-1")
    assert [s.client_id for s in sessions.items] == [client.client_id]

    # A code works once; its replay revokes what it gave, as with Hydra.
    with pytest.raises(ory_iam.IamValidationError) as e:
        await iam.token.authorization_code(
            code=code, redirect_uri=REDIRECT, client_id=client.client_id, client_secret=client.client_secret, code_verifier=VERIFIER
        )
    assert e.value.status == 400
    assert not (await iam.token.introspect(tokens.access_token)).active


async def test_refresh_rotation_consent_revocation_and_hostile_input() -> None:
    fake = FakeOry()
    iam = fake.iam
    client = await iam.oauth2_client.create(
        grant_types=["authorization_code", "refresh_token"], response_types=["code"], redirect_uris=[REDIRECT], scope="openid offline_access"
    )
    assert client.client_secret is not None
    to_login = fake.authorize(client_id=client.client_id, redirect_uri=REDIRECT, scope=["openid", "offline_access"], state="state-123456789")
    to_consent = fake.follow(await login_app(iam, param(to_login, "login_challenge"), "user-2"))
    code = param(fake.follow(await consent_app(iam, param(to_consent, "consent_challenge"))), "code")
    creds: dict[str, Any] = {"client_id": client.client_id, "client_secret": client.client_secret}
    tokens = await iam.token.authorization_code(code=code, redirect_uri=REDIRECT, **creds)
    assert tokens.refresh_token is not None and tokens.id_token is not None
    new = await iam.token.refresh(refresh_token=tokens.refresh_token, **creds)
    with pytest.raises(ory_iam.IamValidationError):
        await iam.token.refresh(refresh_token=tokens.refresh_token, **creds)
    assert not (await iam.token.introspect(new.access_token)).active, "a reused refresh token revokes its family"

    await iam.consent.revoke_consent_sessions(subject="user-2", client=client.client_id)
    assert (await iam.consent.list_consent_sessions(subject="user-2")).items == []
    for bad in ("../x", "bogus-challenge"):
        with pytest.raises(ory_iam.IamNotFoundError):
            await iam.consent.get_login_request(bad)
    with pytest.raises(ory_iam.IamValidationError):
        fake.follow("https://elsewhere.test/oauth2/auth?login_verifier=x")
    assert isinstance(tokens.access_token, Secret)
