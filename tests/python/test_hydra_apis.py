"""Issue 25, the Hydra part, from Python against the real Hydra: connected apps (consent sessions
listed after a real authorization-code flow, revoked, then the refresh token refused), login
sessions revoked, a client's access tokens deleted through the introspection cache, client
lifespans, discovery, userinfo, OIDC dynamic client registration and the logout URL; async and
blocking (``ory_iam.sync``)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

import ory_iam
import ory_iam.sync
from ory_iam import IamNotFoundError, IamUnauthorizedError, IamValidationError, Secret
from test_hydra import CodeFlow, code_flow_as, param, step


def make(iam_config: dict[str, Any], events: list[dict[str, Any]]) -> ory_iam.Iam:
    cfg = copy.deepcopy(iam_config)
    cfg["audit"] = {"sink": "callback"}
    cfg["tenants"]["customer"]["cache"] = {"introspection_ttl_ms": 600_000}
    return ory_iam.Iam.from_config(cfg, audit_callback=events.append)


def subject() -> str:
    return f"user-{uuid.uuid4().hex}"


def named(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["name"] == name]


async def flow(iam: ory_iam.Iam, stack: dict[str, Any], who: str, remember: bool) -> CodeFlow:
    """A real authorization-code flow for a new client, login and consent accepted for ``who``
    (remembered by Hydra when ``remember``)."""
    return await code_flow_as(iam, stack, who, remember=remember)


async def test_connected_apps_listed_revoked_then_the_refresh_token_is_refused(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    who = subject()
    f = await flow(iam, stack, who, True)
    other = await flow(iam, stack, who, True)
    listed = [c async for c in iam.consent.list_consent_sessions_all(subject=who, page_size=1)]
    assert sorted(c.client_id or "" for c in listed) == sorted([f.client_id, other.client_id])
    mine = next(c for c in listed if c.client_id == f.client_id)
    assert isinstance(mine, ory_iam.ConsentSession)
    assert mine.subject == who and mine.remember and "offline_access" in mine.grant_scope
    assert f.login_session_id
    page = await iam.consent.list_consent_sessions(subject=who, login_session_id=f.login_session_id)
    assert [c.client_id for c in page.items] == [f.client_id]

    assert (await iam.token.introspect(f.tokens.access_token)).active  # cached as active
    await iam.consent.revoke_consent_sessions(subject=who, client=f.client_id)
    assert not (await iam.token.introspect(f.tokens.access_token)).active
    with pytest.raises(IamValidationError):  # invalid_grant
        await iam.token.refresh(refresh_token=f.tokens.refresh_token, client_id=f.client_id, client_secret=f.client_secret)
    left = await iam.consent.list_consent_sessions({"subject": who})
    assert [c.client_id for c in left.items] == [other.client_id]
    await iam.consent.revoke_consent_sessions(subject=who, all=True)
    assert (await iam.consent.list_consent_sessions(subject=who)).items == []
    revokes = named(events, "oauth2.consent.revoke")
    assert [(e["target_id"], e["result"]) for e in revokes] == [(who, "success"), (who, "success")]
    assert revokes[0]["attributes"]["client"] == f.client_id and revokes[1]["attributes"]["all"] is True
    with pytest.raises(IamValidationError):
        await iam.consent.revoke_consent_sessions(subject=who)  # neither client nor all
    with pytest.raises(IamValidationError):
        await iam.consent.list_consent_sessions(subject="")
    for cid in (f.client_id, other.client_id):
        await iam.oauth2_client.delete(cid)


async def test_revoked_login_sessions_make_hydra_ask_again(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)

    async def skipped(f: CodeFlow) -> bool:
        challenge = param(step(f.auth_url, dict(f.jar)), "login_challenge")
        skip = (await iam.consent.get_login_request(challenge)).skip
        await iam.consent.reject_login_request(challenge, error="access_denied")
        return skip

    who = subject()
    f = await flow(iam, stack, who, True)
    assert await skipped(f)
    await iam.consent.revoke_login_sessions(subject=who)
    assert not await skipped(f)
    g = await flow(iam, stack, subject(), True)
    assert g.login_session_id
    await iam.consent.revoke_login_sessions(sid=g.login_session_id)
    assert not await skipped(g)
    ev = named(events, "oauth2.login_session.revoke")
    assert [(e["target_id"], e["attributes"]["by"]) for e in ev] == [(who, "subject"), (g.login_session_id, "sid")]
    with pytest.raises(IamValidationError):
        await iam.consent.revoke_login_sessions(subject="a", sid="b")
    for cid in (f.client_id, g.client_id):
        await iam.oauth2_client.delete(cid)


async def test_deleting_a_clients_access_tokens_reaches_the_introspection_cache(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    f = await flow(iam, stack, subject(), False)
    assert (await iam.token.introspect(f.tokens.access_token)).active
    await iam.token.delete_access_tokens(f.client_id)
    assert not (await iam.token.introspect(f.tokens.access_token)).active
    # Hydra v2.3.0 deletes access tokens only: the refresh token still works.
    renewed = await iam.token.refresh(refresh_token=f.tokens.refresh_token, client_id=f.client_id, client_secret=f.client_secret)
    assert (await iam.token.introspect(renewed.access_token)).active
    [e] = named(events, "oauth2_client.access_tokens.delete")
    assert (e["target_id"], e["result"]) == (f.client_id, "success")
    await iam.oauth2_client.delete(f.client_id)


async def test_lifespans_discovery_and_userinfo(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    c = await iam.oauth2_client.create(grant_types=["client_credentials"], scope="read")
    assert c.client_secret is not None
    await iam.oauth2_client.set_lifespans(c.client_id, client_credentials_grant_access_token_lifespan="90s")
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["hydra"].update(client_id=c.client_id, client_secret=c.client_secret.expose())
    t = await ory_iam.Iam.from_config(cfg).token.client_credentials("read")
    assert t.expires_in is not None and t.expires_in <= 90
    with pytest.raises(IamValidationError) as e:
        await iam.oauth2_client.set_lifespans(c.client_id, implicit_grant_id_token_lifespan="")
    assert e.value.fields[0]["path"] == "lifespans.implicit_grant_id_token_lifespan"
    with pytest.raises(IamNotFoundError):
        await iam.oauth2_client.set_lifespans("no-such-client", {})
    assert named(events, "oauth2_client.lifespans.set")[0]["target_id"] == c.client_id
    await iam.oauth2_client.delete(c.client_id)

    d = await iam.token.discover()
    assert isinstance(d, ory_iam.OidcConfiguration)
    assert d.issuer.rstrip("/") == stack["hydra"]["public_url"].rstrip("/")
    assert d.registration_endpoint is None  # Hydra v2.3.0: only with webfinger.oidc_discovery.client_registration_url
    assert "authorization_code" in d.grant_types_supported

    who = subject()
    f = await flow(iam, stack, who, False)
    info = await iam.token.userinfo(f.tokens.access_token)
    assert info.sub == who and info.claims["email"] == f"{who}@example.test"
    assert "example.test" not in repr(info)
    await iam.token.delete_access_tokens(f.client_id)
    with pytest.raises(IamUnauthorizedError):
        await iam.token.userinfo(f.tokens.access_token)
    await iam.oauth2_client.delete(f.client_id)


async def test_health_warns_about_an_issuer_hydra_does_not_name(iam_config: dict[str, Any]) -> None:
    assert not [w for w in (await ory_iam.Iam.from_config(iam_config).health()).warnings if "hydra.issuer" in w]
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["hydra"]["issuer"] = "https://issuer.example.test/"
    warnings = (await ory_iam.Iam.from_config(cfg).health()).warnings
    assert any("tenants.customer.hydra.issuer" in w for w in warnings), warnings


async def test_dynamic_client_registration(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    redirect = stack["helper"]["base_url"] + "callback"
    c = await iam.oauth2_client.register(client_name="dyn", redirect_uris=[redirect])
    rat = c.registration_access_token
    assert isinstance(rat, Secret) and isinstance(c.client_secret, Secret)
    assert rat.expose() not in repr(c)
    assert (await iam.oauth2_client.get_registered(c.client_id, rat)).client_name == "dyn"
    with pytest.raises(IamUnauthorizedError):
        await iam.oauth2_client.get_registered(c.client_id, "wrong-token")
    s = await iam.oauth2_client.set_registered(c.client_id, rat, {"client_name": "renamed", "redirect_uris": [redirect]})
    assert s.client_name == "renamed" and s.registration_access_token is not None
    with pytest.raises(IamUnauthorizedError):  # rotated by the update
        await iam.oauth2_client.get_registered(c.client_id, rat)
    await iam.oauth2_client.delete_registered(c.client_id, s.registration_access_token)
    with pytest.raises(IamNotFoundError):
        await iam.oauth2_client.get(c.client_id)
    for name in ("oauth2_client.register", "oauth2_client.registered.set", "oauth2_client.registered.delete"):
        [e] = named(events, name)
        assert (e["target_id"], e["result"]) == (c.client_id, "success")
    assert rat.expose() not in repr(events)


async def test_logout_url(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    iam = make(iam_config, [])
    who = subject()
    f = await flow(iam, stack, who, True)
    url = iam.consent.logout_url(id_token_hint=f.tokens.id_token)
    assert isinstance(url, Secret)
    assert url.expose().startswith(stack["hydra"]["public_url"] + "oauth2/sessions/logout?id_token_hint=")
    challenge = param(step(url.expose(), dict(f.jar)), "logout_challenge")
    assert (await iam.consent.get_logout_request(challenge)).subject == who
    await iam.consent.accept_logout_request(challenge)
    with pytest.raises(IamValidationError):
        iam.consent.logout_url(post_logout_redirect_uri="https://app.example.test/")
    assert iam.consent.logout_url().expose() == stack["hydra"]["public_url"] + "oauth2/sessions/logout"
    await iam.oauth2_client.delete(f.client_id)


def test_blocking_twins(iam_config: dict[str, Any]) -> None:
    iam = ory_iam.sync.Iam.from_config(iam_config)
    assert iam.token.discover().issuer
    assert iam.consent.list_consent_sessions(subject=subject()).items == []
    assert list(iam.consent.list_consent_sessions_all(subject=subject())) == []
    iam.consent.revoke_login_sessions(subject=subject())
    c = iam.oauth2_client.register(client_name="dyn-sync")
    assert c.registration_access_token is not None
    iam.oauth2_client.delete_registered(c.client_id, c.registration_access_token)
    with pytest.raises(IamNotFoundError):
        iam.oauth2_client.set_lifespans(c.client_id, {})
