"""``FakeOry`` answers as the pinned servers do (Kratos v1.3.1, Keto v0.14.0, Hydra v2.3.0) where
a test could pass on the fake and fail in production: identity-schema validation, declared Keto
namespaces, client scopes, and the session cookie. Expected answers come from the real servers
(core/tests/fake_fidelity.rs has the full list); no servers are involved here."""

from __future__ import annotations

import re
from typing import Any

import pytest

import ory_iam
from ory_iam.testing import DEFAULT_CLIENT_ID, DEFAULT_KETO_NAMESPACES, FakeOry


def _fields(e: ory_iam.IamValidationError) -> list[tuple[Any, Any]]:
    return [(f["path"], f.get("pointer")) for f in e.fields]


async def test_traits_are_validated_against_the_identity_schema() -> None:
    iam = FakeOry().iam
    with pytest.raises(ory_iam.IamValidationError) as bad_email:
        await iam.identity.create(schema_id="customer", traits={"email": "not-an-email"})
    assert bad_email.value.status == 400
    assert _fields(bad_email.value) == [("traits.email", "/traits/email")]
    with pytest.raises(ory_iam.IamValidationError) as several:
        await iam.identity.create(schema_id="customer", traits={"zzz": 1, "roles": "a"})
    assert _fields(several.value) == [
        ("traits.email", "/traits/email"),
        ("traits.roles", "/traits/roles"),
        ("traits.zzz", "/traits/zzz"),
    ]
    with pytest.raises(ory_iam.IamValidationError):
        await iam.identity.create(schema_id="nope", traits={"email": "ada@example.com"})
    ada = await iam.identity.create(schema_id="customer", traits={"email": "ada@example.com"})
    with pytest.raises(ory_iam.IamValidationError) as upd:
        await iam.identity.update_traits(ada.id, {"email": 5})
    assert _fields(upd.value) == [("traits.email", "/traits/email")]


async def test_configured_schemas_and_namespaces() -> None:
    schema = {
        "type": "object",
        "properties": {
            "traits": {
                "type": "object",
                "properties": {"username": {"type": "string", "minLength": 3}},
                "required": ["username"],
                "additionalProperties": False,
            }
        },
    }
    fake = FakeOry(
        tenants=["acme"],
        identity_schemas={"staff": schema},
        keto_namespaces=[{"id": 0, "name": "projects"}, "teams"],
    )
    iam = fake.iam
    ok = await iam.identity.create(schema_id="staff", traits={"username": "ada"})
    assert ok.schema_id == "staff"
    with pytest.raises(ory_iam.IamValidationError) as short:
        await iam.identity.create(schema_id="staff", traits={"username": "x"})
    assert _fields(short.value) == [("traits.username", "/traits/username")]

    grant = {"namespace": "projects", "object": "p1", "relation": "edit", "subject": ok.id}
    await iam.permission.grant(grant)
    assert await iam.permission.check(grant)
    other = dict(grant, namespace="documents")
    with pytest.raises(ory_iam.IamNotFoundError):
        await iam.permission.grant(other)
    assert not await iam.permission.check(other)

    with pytest.raises(ory_iam.IamValidationError):
        FakeOry(identity_schemas={"broken": {"type": 5}})


async def test_default_namespaces_and_undeclared_ones() -> None:
    assert DEFAULT_KETO_NAMESPACES == ("documents", "groups", "folders")
    iam = FakeOry().iam
    t = {"namespace": "nope", "object": "o", "relation": "view", "subject": "ada"}
    with pytest.raises(ory_iam.IamNotFoundError):
        await iam.permission.grant(t)
    with pytest.raises(ory_iam.IamNotFoundError):
        await iam.permission.list({"namespace": "nope"})
    assert not await iam.permission.check(t)


async def test_client_scope_and_revocation_by_another_client() -> None:
    fake = FakeOry(client_scope="invoices.read")
    iam = fake.iam
    await iam.token.client_credentials("invoices.read")
    with pytest.raises(ory_iam.IamError) as e:
        await iam.token.client_credentials("invoices.read admin")
    assert e.value.status == 400

    fake.add_oauth2_client("other", "other-secret")
    tok = await fake.issue_token(client_id=DEFAULT_CLIENT_ID, scope=["invoices.read"])
    await iam.token.revoke(tok, client_id="other", client_secret="other-secret")
    assert (await iam.token.introspect(tok)).active
    await iam.token.revoke(tok)
    assert not (await iam.token.introspect(tok)).active


async def test_a_session_token_is_not_a_session_cookie() -> None:
    fake = FakeOry()
    ada = await fake.iam.identity.create(schema_id="customer", traits={"email": "ada@example.com"})
    cred = await fake.create_session(ada.id)
    assert cred.cookie is not None
    assert (await fake.iam.session.whoami(fake.headers_for(cred, "cookie"))).identity.id == ada.id
    assert await fake.iam.session.whoami_or_null(fake.headers_for(cred.token, "cookie")) is None


async def test_native_registration_and_login_with_a_password() -> None:
    iam = FakeOry().iam
    password = "Correct-Horse-Battery-9"
    flow = await iam.flow.initiate_registration()
    short = await iam.flow.submit_registration(
        flow.id, {"method": "password", "password": "short", "traits": {"email": "ada@example.org"}}
    )
    assert short.kind == "continue" and short.flow is not None
    assert [(n.attributes["name"], m.id) for n in short.flow.ui.nodes for m in n.messages] == [("password", 4000032)]
    done = await iam.flow.submit_registration(
        flow.id, {"method": "password", "password": password, "traits": {"email": "ada@example.org"}}
    )
    assert done.kind == "success" and done.session_token is not None
    me = await iam.session.whoami({"X-Session-Token": done.session_token.expose()})
    assert me.identity.id == (done.identity.id if done.identity else None)

    login = await iam.flow.initiate_login()
    wrong = await iam.flow.submit_login(
        login.id, {"method": "password", "identifier": "ada@example.org", "password": "not-the-password"}
    )
    assert wrong.flow is not None and [m.id for m in wrong.flow.ui.messages] == [4000006]
    ok = await iam.flow.submit_login(login.id, {"method": "password", "identifier": "ada@example.org", "password": password})
    assert ok.kind == "success" and ok.session_token is not None
    await iam.flow.perform_native_logout(ok.session_token)
    assert await iam.session.whoami_or_null({"X-Session-Token": ok.session_token.expose()}) is None


async def test_recovery_by_a_code_read_from_the_courier() -> None:
    # What a user's "forgot password" test does against FakeOry, as against Kratos v1.3.1:
    # ask for a code, read it from the courier, submit it, end with a session.
    iam = FakeOry().iam
    await iam.identity.create(schema_id="customer", traits={"email": "rec@example.org"})
    flow = await iam.flow.initiate_recovery()
    sent = await iam.flow.submit_recovery(flow.id, {"method": "code", "email": "rec@example.org"})
    assert sent.kind == "continue" and sent.flow is not None and sent.flow.state == "sent_email"
    page = await iam.courier.list(recipient="rec@example.org")
    assert [(m.template_type, m.status) for m in page.items] == [("recovery_code_valid", "queued")]
    message = await iam.courier.get(page.items[0].id, include_body=True)
    assert message.body is not None
    codes = re.findall(r"\b\d{6}\b", message.body.expose())
    assert len(codes) == 1
    wrong = await iam.flow.submit_recovery(flow.id, {"method": "code", "code": "000000"})
    assert wrong.flow is not None and [m.id for m in wrong.flow.ui.messages] == [4060006]
    done = await iam.flow.submit_recovery(flow.id, {"method": "code", "code": codes[0]})
    assert done.kind == "success" and done.session_token is not None
    me = await iam.session.whoami({"X-Session-Token": done.session_token.expose()})
    assert me.identity.traits["email"] == "rec@example.org"
    # An unknown address: the same answer, and nothing queued (Kratos does not tell).
    other = await iam.flow.initiate_recovery()
    await iam.flow.submit_recovery(other.id, {"method": "code", "email": "nobody@example.org"})
    assert (await iam.courier.list(recipient="nobody@example.org")).items == []
    with pytest.raises(ory_iam.IamValidationError):
        await iam.courier.get("../admin/identities")
    with pytest.raises(ory_iam.IamNotFoundError):
        await iam.courier.get("00000000-0000-4000-8000-000000000000")
