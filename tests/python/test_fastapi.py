"""ory_iam.fastapi over real HTTP: a uvicorn server on a free loopback port, httpx as the client,
the real Kratos x2, Keto and Hydra of tests/stack behind it."""

from __future__ import annotations

import asyncio
import copy
import socket
import subprocess
import sys
import uuid
from typing import Any, AsyncIterator, Optional

import types

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request

import ory_iam
from ory_iam import IamConfigurationError, IamMachinePrincipal, Session
from ory_iam.fastapi import IamAuth

from test_session import PASSWORD, Jar, closed_port, register_native


def doc_edit(request: Request) -> str:
    return str(request.path_params["id"])


def build_app(iam: ory_iam.Iam, down_kratos: ory_iam.Iam, down_keto: ory_iam.Iam, down_kratos_2: ory_iam.Iam) -> FastAPI:
    auth = IamAuth(iam, tenant="customer")
    staff = IamAuth(iam, tenant="admin")
    bearer_only = IamAuth(iam, tenant="customer", transport="bearer")
    # The ory-nestjs rule, opted into: metadata_public.roles, else traits.roles.
    by_traits = IamAuth(iam, tenant="customer", roles=lambda s: ory_iam.roles_of(s.identity.metadata_public, s.identity.traits))
    no_kratos = IamAuth(down_kratos, tenant="customer")
    no_keto = IamAuth(down_keto, tenant="customer")
    no_kratos_hinted = IamAuth(down_kratos_2, tenant="customer", retry_after=7.5)

    app = FastAPI()
    auth.install(app)

    @app.middleware("http")
    async def plant(request: Request, call_next: Any) -> Any:
        # Issue 27: another middleware (or a bug in one) writing where the memo used to live must
        # not plant a session: the adapter keeps its memo under a key only it has.
        if request.headers.get("x-plant") == "1":
            forged = {"customer": types.SimpleNamespace(tenant="customer", identity=types.SimpleNamespace(id="victim"))}
            request.state.ory_iam_sessions = forged
            request.scope["ory_iam_sessions"] = forged
        return await call_next(request)

    @app.get("/me")
    async def me(user: Session = Depends(auth.current_user)) -> dict[str, Any]:
        return {"id": user.identity.id, "tenant": user.tenant}

    @app.get("/maybe")
    async def maybe(user: Optional[Session] = Depends(auth.optional_user)) -> dict[str, Any]:
        return {"id": user.identity.id if user else None}

    @app.get("/bearer-me")
    async def bearer_me(user: Session = Depends(bearer_only.current_user)) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.get("/admin-area", dependencies=[Depends(auth.require_role("admin"))])
    async def admin_area(user: Session = Depends(auth.current_user)) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.get("/all-roles")
    async def all_roles(user: Session = Depends(auth.require_role("admin", "billing", match="all"))) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.get("/editors")
    async def editors(user: Session = Depends(by_traits.require_role("editor"))) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.post("/documents/{id}/edit")
    async def edit(id: str, user: Session = Depends(auth.require_permission("documents", "edit", object=doc_edit))) -> dict[str, Any]:
        return {"edited": id, "by": user.identity.id}

    # Issue 27, item 5: the URL names objects only (the group, the folder); the subject of both
    # checks is the caller. Group access to the folder lives in Keto
    # (folders:<f>#view@(groups:<g>#member)), so naming a group one is not a member of gets nothing.
    @app.get(
        "/groups/{group}/folders/{id}",
        dependencies=[Depends(auth.require_permission("groups", "member", object=lambda r: r.path_params["group"]))],
    )
    async def folder(
        id: str, user: Session = Depends(auth.require_permission("folders", "view", object=lambda r: r.path_params["id"]))
    ) -> dict[str, Any]:
        return {"folder": id}

    async def member_of_staff(session: Session) -> ory_iam.SubjectSet:
        return ory_iam.SubjectSet("groups", f"staff-of-{session.identity.id}", "member")

    @app.get("/staff-folders/{id}")
    async def staff_folder(
        id: str, user: Session = Depends(auth.require_permission("folders", "view", object=lambda r: r.path_params["id"], subject=member_of_staff))
    ) -> dict[str, Any]:
        return {"folder": id}

    @app.get("/service")
    async def service(p: IamMachinePrincipal = Depends(auth.require_token("read"))) -> dict[str, Any]:
        return {"client_id": p.client_id, "scope": p.scope}

    @app.get("/service-write")
    async def service_write(p: IamMachinePrincipal = Depends(auth.require_token(["read", "write"]))) -> dict[str, Any]:
        return {"client_id": p.client_id}

    @app.get("/lookup/{id}")
    async def lookup(id: str) -> dict[str, Any]:
        return {"schema": (await iam.identity.get(id)).schema_id}  # IamNotFoundError → install()

    @app.get("/direct")
    async def direct(request: Request) -> dict[str, Any]:
        return {"id": (await iam.session.whoami(request)).identity.id}  # IamUnauthorizedError → install()

    customer_router = APIRouter(prefix="/customer", dependencies=[Depends(auth.current_user)])
    staff_router = APIRouter(prefix="/staff")

    @customer_router.get("/me")
    async def customer_me(user: Session = Depends(auth.current_user)) -> dict[str, Any]:
        return {"tenant": user.tenant}

    @staff_router.get("/me")
    async def staff_me(user: Session = Depends(staff.current_user)) -> dict[str, Any]:
        return {"tenant": user.tenant, "id": user.identity.id}

    app.include_router(customer_router)
    app.include_router(staff_router)

    @app.get("/down/me")
    async def down_me(user: Session = Depends(no_kratos.current_user)) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.get("/down/maybe")
    async def down_maybe(user: Optional[Session] = Depends(no_kratos.optional_user)) -> dict[str, Any]:
        return {"id": user.identity.id if user else None}

    @app.get("/down-hinted/me")
    async def down_hinted_me(user: Session = Depends(no_kratos_hinted.current_user)) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.post("/down/documents/{id}/edit")
    async def down_edit(id: str, user: Session = Depends(no_keto.require_permission("documents", "edit", object=doc_edit))) -> dict[str, Any]:
        return {"edited": id}

    return app


class Server:
    def __init__(self, base_url: str, client: httpx.AsyncClient, iam: ory_iam.Iam, events: list[dict[str, Any]]) -> None:
        self.base_url = base_url
        self.http = client
        self.iam = iam
        self.events = events


@pytest.fixture(scope="module")
async def server(iam_config: dict[str, Any]) -> AsyncIterator[Server]:
    events: list[dict[str, Any]] = []
    cfg = copy.deepcopy(iam_config)
    cfg["audit"] = {"sink": "callback"}
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    # No retries and a breaker that opens after two failures: the second Iam's outages show
    # both a 503 without Retry-After (unknown) and one with it (open breaker).
    fast_fail = {"timeout_ms": 1000, "retries": 0, "breaker_threshold": 2, "breaker_open_ms": 30_000}
    kc = copy.deepcopy(iam_config)
    kc["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{closed_port()}/"
    kc["tenants"]["customer"]["http"] = fast_fail
    ketoc = copy.deepcopy(iam_config)
    ketoc["tenants"]["customer"]["keto"]["read_url"] = f"http://127.0.0.1:{closed_port()}/"
    ketoc["tenants"]["customer"]["http"] = fast_fail
    kc2 = copy.deepcopy(kc)
    kc2["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{closed_port()}/"
    app = build_app(iam, ory_iam.Iam.from_config(kc), ory_iam.Iam.from_config(ketoc), ory_iam.Iam.from_config(kc2))

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    while not srv.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield Server(base, client, iam, events)
    srv.should_exit = True
    await task
    sock.close()


def bearer(token: ory_iam.Secret) -> dict[str, str]:
    return {"authorization": f"Bearer {token.expose()}"}


@pytest.fixture
async def user(server: Server, email: str) -> AsyncIterator[ory_iam.FlowResult]:
    reg = await register_native(server.iam, email)
    yield reg
    assert reg.identity is not None
    await server.iam.identity.delete(reg.identity.id)


def test_importing_ory_iam_does_not_import_fastapi() -> None:
    code = "import sys, ory_iam; bad = [m for m in ('fastapi', 'starlette') if m in sys.modules]; sys.exit(str(bad) if bad else 0)"
    subprocess.run([sys.executable, "-c", code], check=True)


async def test_unknown_tenant_fails_at_construction(iam: ory_iam.Iam) -> None:
    with pytest.raises(IamConfigurationError):
        IamAuth(iam, tenant="nope")
    assert IamAuth(iam).tenant == iam.default_tenant


async def test_401_without_or_with_a_bad_credential(server: Server) -> None:
    r = await server.http.get("/me")
    assert r.status_code == 401 and r.json() == {"statusCode": 401, "error": "unauthorized"}
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="customer"') and 'Cookie realm="customer"' in challenge
    assert "error=" not in challenge

    bogus = "ory_st_" + uuid.uuid4().hex
    r = await server.http.get("/me", headers={"authorization": f"Bearer {bogus}"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
    assert bogus not in r.text and bogus not in str(r.headers)

    r = await server.http.get("/me", headers={"cookie": "ory_kratos_session_customer=bogus"})
    assert r.status_code == 401

    r = await server.http.get("/bearer-me")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="customer"'


async def test_200_with_a_real_session_token_or_cookie(server: Server, user: ory_iam.FlowResult, email: str) -> None:
    assert user.session_token is not None and user.identity is not None
    r = await server.http.get("/me", headers=bearer(user.session_token))
    assert r.status_code == 200 and r.json() == {"id": user.identity.id, "tenant": "customer"}

    # A browser session: the cookie Kratos set on a browser login.
    jar = Jar()
    login = await server.iam.flow.initiate_login(kind="browser")
    cookie = jar.update(login.set_cookie)
    ok = await server.iam.flow.submit_login(
        login.id, {"method": "password", "identifier": email, "password": PASSWORD}, cookie=cookie, csrf_token=login.csrf_token
    )
    assert ok.kind == "success"
    cookie = jar.update(ok.set_cookie)
    r = await server.http.get("/me", headers={"cookie": cookie})
    assert r.status_code == 200 and r.json()["id"] == user.identity.id
    # Issue 27: a foreign cookie with non-ASCII bytes next to ours does not lock the user out.
    r = await server.http.get("/me", headers={"cookie": ("theme=caf\u00e9; " + cookie).encode()})
    assert r.status_code == 200 and r.json()["id"] == user.identity.id
    # Issue 27: a bearer-only IamAuth really accepts bearer tokens only: the valid cookie is
    # not enough there, the token is.
    r = await server.http.get("/bearer-me", headers={"cookie": cookie})
    assert r.status_code == 401
    r = await server.http.get("/bearer-me", headers=bearer(user.session_token))
    assert r.status_code == 200 and r.json()["id"] == user.identity.id


async def test_optional_user(server: Server, user: ory_iam.FlowResult) -> None:
    assert user.session_token is not None and user.identity is not None
    r = await server.http.get("/maybe")
    assert r.status_code == 200 and r.json() == {"id": None}
    r = await server.http.get("/maybe", headers={"authorization": "Bearer ory_st_" + uuid.uuid4().hex})
    assert r.status_code == 200 and r.json() == {"id": None}
    r = await server.http.get("/maybe", headers=bearer(user.session_token))
    assert r.status_code == 200 and r.json() == {"id": user.identity.id}


async def test_roles_from_public_metadata(server: Server, user: ory_iam.FlowResult) -> None:
    assert user.session_token is not None and user.identity is not None
    h = bearer(user.session_token)
    assert (await server.http.get("/admin-area")).status_code == 401
    r = await server.http.get("/admin-area", headers=h)
    assert r.status_code == 403 and r.json() == {"statusCode": 403, "error": "forbidden"}

    await server.iam.identity.patch(user.identity.id, [{"op": "add", "path": "/metadata_public", "value": {"roles": ["admin"]}}])
    before = len([e for e in server.events if e["name"] == "auth.success"])
    r = await server.http.get("/admin-area", headers=h)
    assert r.status_code == 200 and r.json() == {"id": user.identity.id}
    # require_role and current_user on one route: Kratos is asked once.
    assert len([e for e in server.events if e["name"] == "auth.success"]) == before + 1
    assert (await server.http.get("/all-roles", headers=h)).status_code == 403
    await server.iam.identity.patch(user.identity.id, [{"op": "add", "path": "/metadata_public/roles/-", "value": "billing"}])
    assert (await server.http.get("/all-roles", headers=h)).status_code == 200

    # Roles a user wrote into their own traits never count by default, even while
    # metadata_public names none (the ory-nestjs rule, metadata else traits, is opt-in)...
    flow = await server.iam.flow.initiate_registration()
    editor_email = f"py-{uuid.uuid4().hex}@example.test"
    reg = await server.iam.flow.submit_registration(
        flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": editor_email, "roles": ["editor", "admin"]}}
    )
    assert reg.kind == "success" and reg.session_token is not None and reg.identity is not None
    assert (await server.http.get("/admin-area", headers=bearer(reg.session_token))).status_code == 403
    # ...and are used by a custom rule that reads them.
    assert (await server.http.get("/editors", headers=bearer(reg.session_token))).status_code == 200
    assert (await server.http.get("/editors", headers=h)).status_code == 403
    await server.iam.identity.delete(reg.identity.id)


async def test_permission_after_grant_and_revoke(server: Server, user: ory_iam.FlowResult) -> None:
    assert user.session_token is not None and user.identity is not None
    h = bearer(user.session_token)
    doc = f"doc-{uuid.uuid4().hex}"
    tuple_ = {"namespace": "documents", "object": doc, "relation": "edit", "subject": user.identity.id}
    assert (await server.http.post(f"/documents/{doc}/edit")).status_code == 401
    r = await server.http.post(f"/documents/{doc}/edit", headers=h)
    assert r.status_code == 403 and r.json() == {"statusCode": 403, "error": "forbidden"}
    await server.iam.permission.grant(tuple_)
    try:
        r = await server.http.post(f"/documents/{doc}/edit", headers=h)
        assert r.status_code == 200 and r.json() == {"edited": doc, "by": user.identity.id}
        # The grant is for this object only.
        assert (await server.http.post(f"/documents/other-{doc}/edit", headers=h)).status_code == 403
    finally:
        await server.iam.permission.revoke(tuple_)
    assert (await server.http.post(f"/documents/{doc}/edit", headers=h)).status_code == 403


async def test_group_folder_subject_is_the_caller_never_the_url(server: Server, user: ory_iam.FlowResult, email: str) -> None:
    """Issue 27, item 5: a folder shared with a group opens to the group's members only; naming
    the group in the URL does not make a non-member one."""
    assert user.session_token is not None and user.identity is not None
    h = bearer(user.session_token)
    other = await register_native(server.iam, f"other-{email}")
    assert other.session_token is not None and other.identity is not None
    group, folder = f"g-{uuid.uuid4().hex}", f"f-{uuid.uuid4().hex}"
    shared = {"namespace": "folders", "object": folder, "relation": "view", "subject": {"namespace": "groups", "object": group, "relation": "member"}}
    member = {"namespace": "groups", "object": group, "relation": "member", "subject": user.identity.id}
    assert (await server.http.get(f"/groups/{group}/folders/{folder}", headers=h)).status_code == 403
    await server.iam.permission.grant(shared)
    await server.iam.permission.grant(member)
    try:
        assert (await server.http.get(f"/groups/{group}/folders/{folder}", headers=h)).status_code == 200
        assert (await server.http.get(f"/groups/other-{group}/folders/{folder}", headers=h)).status_code == 403
        # The non-member names the group that has access: refused.
        r = await server.http.get(f"/groups/{group}/folders/{folder}", headers=bearer(other.session_token))
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    finally:
        await server.iam.permission.revoke(member)
        await server.iam.permission.revoke(shared)
        await server.iam.identity.delete(other.identity.id)


async def test_subject_computed_from_the_session(server: Server, user: ory_iam.FlowResult) -> None:
    """A subject callback gets the session (here: a per-user staff group as a subject set)."""
    assert user.session_token is not None and user.identity is not None
    h = bearer(user.session_token)
    folder = f"f-{uuid.uuid4().hex}"
    t = {"namespace": "folders", "object": folder, "relation": "view", "subject": {"namespace": "groups", "object": f"staff-of-{user.identity.id}", "relation": "member"}}
    m = {"namespace": "groups", "object": f"staff-of-{user.identity.id}", "relation": "member", "subject": user.identity.id}
    assert (await server.http.get(f"/staff-folders/{folder}", headers=h)).status_code == 403
    await server.iam.permission.grant(t)
    await server.iam.permission.grant(m)
    try:
        assert (await server.http.get(f"/staff-folders/{folder}", headers=h)).status_code == 200
    finally:
        await server.iam.permission.revoke(m)
        await server.iam.permission.revoke(t)


def test_a_subject_taken_from_the_request_is_refused_at_construction(iam: ory_iam.Iam) -> None:
    """Issue 27, item 5: the old ``subject=f(request, session)`` form cannot be built any more."""
    auth = IamAuth(iam, tenant="customer")

    def from_url(request: Request, session: Session) -> str:
        return str(request.path_params["group"])

    with pytest.raises(TypeError):
        auth.require_permission("folders", "view", object="f", subject=from_url)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        auth.require_permission("folders", "view", object="f", subject="")
    # The forms that stay: a fixed id or subject set, or f(session).
    auth.require_permission("folders", "view", object="f", subject="service-account")
    auth.require_permission("folders", "view", object="f", subject=ory_iam.SubjectSet("groups", "g", "member"))
    auth.require_permission("folders", "view", object="f", subject=lambda s: s.identity.id)


async def test_kratos_unreachable_is_503_never_anonymous(server: Server) -> None:
    h = {"authorization": "Bearer ory_st_" + uuid.uuid4().hex}
    first = await server.http.get("/down/me", headers=h)
    assert first.status_code == 503
    assert first.json()["statusCode"] == 503 and first.json()["error"] == "upstream_unavailable"
    assert set(first.json()) <= {"statusCode", "error", "requestId"}  # no message, no upstream text
    assert "retry-after" not in first.headers  # a refused connection says nothing about when
    # optional_user must not turn an outage into an anonymous request either.
    assert (await server.http.get("/down/maybe", headers=h)).status_code == 503
    # The breaker is open now (two failures): it knows how long it stays open.
    r = await server.http.get("/down/me", headers=h)
    assert r.status_code == 503
    assert 1 <= int(r.headers["retry-after"]) <= 30
    # The IamAuth's retry_after fallback fills in where the library knows nothing.
    r = await server.http.get("/down-hinted/me", headers=h)
    assert r.status_code == 503 and r.headers["retry-after"] == "8"
    # No credential at all needs no Kratos: optional_user is anonymous, current_user 401.
    assert (await server.http.get("/down/maybe")).json() == {"id": None}
    assert (await server.http.get("/down/me")).status_code == 401


async def test_keto_unreachable_is_503_never_allowed(server: Server, user: ory_iam.FlowResult) -> None:
    assert user.session_token is not None and user.identity is not None
    h = bearer(user.session_token)
    doc = f"doc-{uuid.uuid4().hex}"
    tuple_ = {"namespace": "documents", "object": doc, "relation": "edit", "subject": user.identity.id}
    await server.iam.permission.grant(tuple_)  # allowed by the real Keto...
    try:
        assert (await server.http.post(f"/documents/{doc}/edit", headers=h)).status_code == 200
        statuses = []
        retry_after = None
        for _ in range(3):  # ...and never by the unreachable one
            r = await server.http.post(f"/down/documents/{doc}/edit", headers=h)
            statuses.append(r.status_code)
            retry_after = r.headers.get("retry-after", retry_after)
        assert statuses == [503, 503, 503]
        assert retry_after is not None and 1 <= int(retry_after) <= 30
    finally:
        await server.iam.permission.revoke(tuple_)


async def test_tenant_per_router(server: Server, user: ory_iam.FlowResult) -> None:
    assert user.session_token is not None
    customer = bearer(user.session_token)
    staff_flows = server.iam.flow.for_tenant("admin")
    flow = await staff_flows.initiate_registration()
    reg = await staff_flows.submit_registration(
        flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": f"py-{uuid.uuid4().hex}@example.test"}}
    )
    assert reg.kind == "success" and reg.session_token is not None and reg.identity is not None
    staff = bearer(reg.session_token)
    try:
        # (admin-tenant sessions live 3 s in the stack: ask right away)
        r = await server.http.get("/staff/me", headers=staff)
        assert r.status_code == 200 and r.json() == {"tenant": "admin", "id": reg.identity.id}
        r = await server.http.get("/customer/me", headers=staff)
        assert r.status_code == 401 and 'realm="customer"' in r.headers["www-authenticate"]
        r = await server.http.get("/staff/me", headers=customer)
        assert r.status_code == 401 and 'realm="admin"' in r.headers["www-authenticate"]
        assert (await server.http.get("/customer/me", headers=customer)).json() == {"tenant": "customer"}
    finally:
        await server.iam.identity.for_tenant("admin").delete(reg.identity.id)


async def test_require_token(server: Server, iam_config: dict[str, Any]) -> None:
    client = await server.iam.oauth2_client.create(grant_types=["client_credentials"], scope="read write")
    assert client.client_secret is not None
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["hydra"].update(client_id=client.client_id, client_secret=client.client_secret.expose())
    token = (await ory_iam.Iam.from_config(cfg).token.client_credentials("read")).access_token
    try:
        r = await server.http.get("/service", headers=bearer(token))
        assert r.status_code == 200 and r.json() == {"client_id": client.client_id, "scope": ["read"]}

        r = await server.http.get("/service-write", headers=bearer(token))
        assert r.status_code == 403 and r.json() == {"statusCode": 403, "error": "forbidden"}
        assert r.headers["www-authenticate"] == 'Bearer realm="customer", error="insufficient_scope", scope="read write"'

        r = await server.http.get("/service")
        assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="customer"'
        forged = token.expose()[:-1] + ("B" if token.expose()[-1] == "A" else "A")
        r = await server.http.get("/service", headers={"authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
        assert forged not in r.text
    finally:
        await server.iam.oauth2_client.delete(client.client_id)


async def test_install_maps_errors_raised_in_routes(server: Server, user: ory_iam.FlowResult) -> None:
    assert user.session_token is not None and user.identity is not None
    r = await server.http.get(f"/lookup/{uuid.uuid4()}")
    assert r.status_code == 404 and r.json()["statusCode"] == 404 and r.json()["error"] == "not_found"
    assert set(r.json()) <= {"statusCode", "error", "requestId"}
    assert (await server.http.get(f"/lookup/{user.identity.id}")).json() == {"schema": "customer"}
    r = await server.http.get("/direct")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith('Bearer realm="customer"')
    assert (await server.http.get("/direct", headers=bearer(user.session_token))).json() == {"id": user.identity.id}


async def test_fake_users_and_override_in_process(iam: ory_iam.Iam) -> None:
    """The testing helpers: the app's own IamAuth (built on the real Iam) answers from a FakeOry
    inside `override`, in process through httpx's ASGI transport, and from the real stack after."""
    from ory_iam.fastapi import FakeUsers
    from ory_iam.testing import FakeOry

    auth = IamAuth(iam, tenant="customer")
    app = FastAPI()
    auth.install(app)

    @app.get("/me")
    async def me(user: Session = Depends(auth.current_user)) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.get("/admin-area")
    async def admin_area(user: Session = Depends(auth.require_role("admin"))) -> dict[str, Any]:
        return {"id": user.identity.id}

    @app.post("/documents/{id}/edit")
    async def edit(id: str, user: Session = Depends(auth.require_permission("documents", "edit", object=doc_edit))) -> dict[str, Any]:
        return {"edited": id}

    @app.get("/service")
    async def service(p: IamMachinePrincipal = Depends(auth.require_token("read"))) -> dict[str, Any]:
        return {"client_id": p.client_id}

    fake = FakeOry(tenants=["customer"])
    users = FakeUsers(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as c:
        with auth.override(fake.iam):
            ada = await users.login(roles=["admin"])
            bob = await users.login(kind="cookie")
            assert ada.token.expose() not in repr(ada)
            assert (await c.get("/me", headers=ada.headers)).json() == {"id": ada.identity.id}
            assert (await c.get("/me", headers=bob.headers)).json() == {"id": bob.identity.id}
            assert (await c.get("/me")).status_code == 401
            assert (await c.get("/admin-area", headers=ada.headers)).status_code == 200
            assert (await c.get("/admin-area", headers=bob.headers)).status_code == 403
            assert (await c.post("/documents/d1/edit", headers=bob.headers)).status_code == 403
            await users.grant(bob, "documents", "edit", "d1")
            assert (await c.post("/documents/d1/edit", headers=bob.headers)).json() == {"edited": "d1"}
            await users.revoke(bob, "documents", "edit", "d1")
            assert (await c.post("/documents/d1/edit", headers=bob.headers)).status_code == 403
            assert (await c.get("/service", headers=await users.machine_headers("read"))).status_code == 200
            assert (await c.get("/service", headers=await users.machine_headers("write"))).status_code == 403
            assert fake.requests().get("kratos-public GET sessions/whoami", 0) >= 1
        # Back on the real stack, the fake's session means nothing.
        assert (await c.get("/me", headers=ada.headers)).status_code == 401


async def test_plain_starlette_error_handlers(iam: ory_iam.Iam) -> None:
    """ory_iam.starlette alone (no FastAPI): IamError and IamHTTPException both become JSON."""
    from starlette.applications import Starlette
    from starlette.requests import Request as StarletteRequest
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ory_iam.starlette import http_exception, install_error_handlers

    async def who(request: StarletteRequest) -> JSONResponse:
        return JSONResponse({"id": (await iam.session.whoami(request)).identity.id})

    async def gone(request: StarletteRequest) -> JSONResponse:
        try:
            await iam.identity.get(str(uuid.uuid4()))
        except ory_iam.IamNotFoundError as e:
            raise http_exception(e) from e
        return JSONResponse({})

    app = Starlette(routes=[Route("/who", who), Route("/gone", gone)])
    install_error_handlers(app, transport="cookie")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as c:
        r = await c.get("/who")
        assert r.status_code == 401 and r.json() == {"statusCode": 401, "error": "unauthorized"}
        assert r.headers["www-authenticate"] == 'Cookie realm="customer"'
        r = await c.get("/gone")
        assert r.status_code == 404 and r.json()["statusCode"] == 404 and r.json()["error"] == "not_found"


async def test_a_planted_memo_is_not_a_session(server: Server) -> None:
    """Issue 27: a look-alike session written into request.state or the scope by other code is
    ignored; Kratos is asked and the anonymous request is refused."""
    r = await server.http.get("/me", headers={"x-plant": "1"})
    assert r.status_code == 401, r.text
    assert "victim" not in r.text
