"""``ory_iam.testing.FakeOry``: the library's real code paths against in-memory Ory servers.
No servers: these tests never read the stack file."""

from __future__ import annotations

import asyncio
import json
import pathlib
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam.testing import DEFAULT_CLIENT_ID, FakeOry, SessionCredential

ROOT = pathlib.Path(__file__).resolve().parents[2]

SCENARIO = json.loads((ROOT / "tests" / "scenarios" / "testing_fake.json").read_text())


def _resolve(v: Any, saved: dict[str, Any]) -> Any:
    if isinstance(v, str) and v.startswith("$"):
        return str(uuid.uuid4()) if v == "$missing" else saved[v[1:]]
    return v


async def _step(fake: FakeOry, step: dict[str, Any], saved: dict[str, Any]) -> Any:
    iam = fake.iam
    tenant = step.get("tenant") or fake.default_tenant

    def arg(k: str) -> Any:
        return _resolve(step.get(k), saved)

    do = step["do"]

    def req() -> dict[str, str]:
        if "token" in step:
            return fake.headers_for(arg("token"))
        return fake.headers_for(arg("session"), step["kind"])

    if do == "create_identity":
        ident = await iam.identity.for_tenant(tenant).create(schema_id=tenant, traits={"email": step["email"]})
        return ident.id
    if do in ("get_identity", "get_identity_with_traits"):
        svc = iam.identity.for_tenant(tenant)
        ident = await (svc.get(arg("id")) if do == "get_identity" else svc.get_with_traits(arg("id")))
        assert ident.id == arg("id") and ident.tenant == tenant
        assert (ident.traits or {}).get("email") == step["expect_email"]
        return None
    if do == "update_traits":
        await iam.identity.for_tenant(tenant).update_traits(arg("id"), {"email": step["email"]})
        return None
    if do == "delete_identity":
        await iam.identity.for_tenant(tenant).delete(arg("id"))
        return None
    if do == "create_session":
        return await fake.create_session(arg("identity"), tenant=tenant)
    if do == "whoami":
        s = await iam.session.for_tenant(tenant).whoami(req())
        assert s.identity.id == arg("expect_identity") and s.tenant == tenant and s.active
        return None
    if do == "whoami_or_null":
        maybe = await iam.session.for_tenant(tenant).whoami_or_null(req())
        assert (maybe is None) == step["expect_null"]
        return None
    if do == "revoke_session":
        await iam.session.for_tenant(tenant).revoke(arg("session").session_id)
        return None
    if do == "expire_session":
        await fake.expire_session(arg("session").session_id, tenant=tenant)
        return None
    if do in ("grant", "revoke_permission", "check"):
        perm = iam.permission.for_tenant(tenant)
        if do == "check":
            assert await perm.check(step["tuple"]) is step["expect_allowed"]
        else:
            await (perm.grant(step["tuple"]) if do == "grant" else perm.revoke(step["tuple"]))
        return None
    if do == "list_permissions":
        got = [t async for t in iam.permission.for_tenant(tenant).list_all(step["query"])]
        assert len(got) == step["expect_count"]
        return None
    if do == "issue_token":
        return await fake.issue_token(client_id=step["client_id"], scope=step["scope"], tenant=tenant)
    if do == "introspect":
        i = await iam.token.for_tenant(tenant).introspect(arg("token"))
        assert i.active is step["expect_active"]
        if "expect_client" in step:
            assert i.client_id == step["expect_client"]
        return None
    if do == "authenticate":
        p = await iam.token.for_tenant(tenant).authenticate(req(), required_scope=step.get("required_scope", ()))
        assert p.client_id == step["expect_client"] and p.tenant == tenant
        return None
    if do == "revoke_token":
        await iam.token.for_tenant(tenant).revoke(arg("token"))
        return None
    if do == "initiate_recovery":
        await iam.flow.for_tenant(tenant).initiate_recovery()
        return None
    raise AssertionError(f"unknown step {do}")


async def test_shared_scenario() -> None:
    fake = FakeOry(tenants=SCENARIO["tenants"])
    saved: dict[str, Any] = {}
    for i, step in enumerate(SCENARIO["steps"]):
        where = f"step {i} ({step['do']})"
        if "error" in step:
            with pytest.raises(ory_iam.IamError) as e:
                await _step(fake, step, saved)
            assert e.value.code == step["error"], where
        else:
            out = await _step(fake, step, saved)
            if "save" in step:
                saved[step["save"]] = out
    assert fake.requests()["kratos-public GET sessions/whoami"] >= 8


async def test_paging_through_list_all() -> None:
    fake = FakeOry(tenants=["customer"])
    made = {(await fake.iam.identity.create(schema_id="customer", traits={"email": f"u{i}@example.com"})).id for i in range(7)}
    page = await fake.iam.identity.list(page_size=3)
    assert len(page.items) == 3 and page.next_page_token
    seen = [i.id async for i in fake.iam.identity.list_all(page_size=2)]
    assert sorted(seen) == sorted(made)
    assert fake.requests()["kratos-admin GET admin/identities"] == 1 + 4
    assert all(i.traits is None for i in page.items)  # listing is sanitized


async def test_sessions_tokens_and_helpers() -> None:
    fake = FakeOry(["customer"])
    ada = await fake.iam.identity.create(schema_id="customer", traits={"email": "ada@example.com"})
    cred = await fake.create_session(ada.id)
    assert isinstance(cred, SessionCredential) and isinstance(cred.token, ory_iam.Secret)
    assert cred.token.expose() not in repr(cred) and cred.token.expose() not in repr(fake)
    for kind in ("bearer", "cookie", "session_token"):
        s = await fake.iam.session.whoami(fake.headers_for(cred, kind))
        assert s.id == cred.session_id and s.identity.id == ada.id
    # The second whoami of a credential comes from the session cache, as configured normally.
    assert (await fake.iam.session.whoami(fake.headers_for(cred))).cache_hit
    with pytest.raises(ValueError):
        fake.headers_for(cred, "basic")
    with pytest.raises(ory_iam.IamConfigurationError):
        await fake.create_session(ada.id, tenant="nope")

    # The tenant's configured client works for client credentials; scopes are kept.
    tokens = await fake.iam.token.client_credentials("reports.read")
    i = await fake.iam.token.introspect(tokens.access_token)
    assert i.active and i.client_id == DEFAULT_CLIENT_ID and i.scope == "reports.read"

    fake.add_oauth2_client("svc", client_secret="s3cret", scope="a b")
    await fake.iam.token.revoke("anything", client_id="svc", client_secret="s3cret")
    with pytest.raises(ory_iam.IamUnauthorizedError):
        await fake.iam.token.revoke("anything", client_id="svc", client_secret="wrong")
    tok = await fake.issue_token(client_id="svc", scope="a")
    principal = await fake.iam.token.authenticate(fake.headers_for(tok), required_scope=["a"])
    assert principal.client_id == "svc" and principal.scope == ["a"]


def test_works_from_synchronous_code() -> None:
    fake = FakeOry(["customer"])
    ident = asyncio.run(fake.iam.identity.create(schema_id="customer", traits={"email": "sync@example.com"}))
    cred = asyncio.run(fake.create_session(ident.id))
    assert asyncio.run(fake.iam.session.whoami(fake.headers_for(cred))).identity.id == ident.id


def test_needs_a_tenant() -> None:
    with pytest.raises(ory_iam.IamValidationError):
        FakeOry(tenants=[])
