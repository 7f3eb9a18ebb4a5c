"""Issue 23 ("What an ory-nestjs user expects"), Python side, against the real stack: in FastAPI
(in process over httpx's ASGI transport) and Flask (its test client), permission requirements on
one route are ANDed, the Keto subject of a user and of an OAuth2 client is configurable per
integration, machine principals are permission- and role-checked (their scopes are their roles),
an object resolver yielding nothing is a 400 (Keto never asked), a role denial is audited
``authz.role.deny``, the health helpers answer 200/503, and the ``log`` audit sink logs failures
and denials at WARNING. Django's side is in test_django.py (Django is configured once per
process)."""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any, AsyncIterator, Iterator, Optional

import httpx
import pytest
from fastapi import Depends, FastAPI, Request

import ory_iam
import ory_iam.sync
from ory_iam import IamMachinePrincipal, Session
from ory_iam.fastapi import IamAuth, health_router

from test_session import closed_port, register_native

NS = "documents"


def keto_down(iam_config: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["keto"]["read_url"] = f"http://127.0.0.1:{closed_port()}/"
    cfg["tenants"]["customer"]["http"] = {"timeout_ms": 1000, "retries": 0, "breaker_threshold": 0}
    return cfg


def kratos_down(iam_config: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["kratos"]["public_url"] = f"http://127.0.0.1:{closed_port()}/"
    cfg["tenants"]["customer"]["http"] = {"timeout_ms": 1000, "retries": 0, "breaker_threshold": 0}
    return cfg


class Caller:
    """A registered user (bearer session token) and an OAuth2 client's access tokens."""

    def __init__(self, identity_id: str, headers: dict[str, str], client_id: str, machine: dict[str, str], machine_admin: dict[str, str]) -> None:
        self.identity_id = identity_id
        self.headers = headers
        self.client_id = client_id
        #: a token with scope "read"; one with "read admin"
        self.machine = machine
        self.machine_admin = machine_admin


@pytest.fixture(scope="module")
async def caller(iam: ory_iam.Iam, iam_config: dict[str, Any]) -> AsyncIterator[Caller]:
    reg = await register_native(iam, f"py-sem-{uuid.uuid4().hex}@example.test")
    assert reg.identity is not None and reg.session_token is not None
    client = await iam.oauth2_client.create(grant_types=["client_credentials"], scope="read admin")
    assert client.client_secret is not None
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["hydra"].update(client_id=client.client_id, client_secret=client.client_secret.expose())
    as_client = ory_iam.Iam.from_config(cfg)
    read = (await as_client.token.client_credentials("read")).access_token
    admin = (await as_client.token.client_credentials("read admin")).access_token
    yield Caller(
        reg.identity.id,
        {"authorization": f"Bearer {reg.session_token.expose()}"},
        client.client_id,
        {"authorization": f"Bearer {read.expose()}"},
        {"authorization": f"Bearer {admin.expose()}"},
    )
    await iam.oauth2_client.delete(client.client_id)
    await iam.identity.delete(reg.identity.id)


def t(obj: str, relation: str, subject: str) -> dict[str, Any]:
    return {"namespace": NS, "object": obj, "relation": relation, "subject": subject}


# --- FastAPI ------------------------------------------------------------------------------------------


def fastapi_app(iam: ory_iam.Iam, no_keto: ory_iam.Iam, no_kratos: ory_iam.Iam) -> FastAPI:
    auth = IamAuth(iam, tenant="customer")
    nest = IamAuth(iam, tenant="customer", subject=lambda identity_id: f"user:{identity_id}", machine_subject=lambda c: f"client:{c}")
    down = IamAuth(no_keto, tenant="customer")
    app = FastAPI()
    auth.install(app)

    def doc(r: Request) -> str:
        return str(r.path_params["id"])

    def from_query(r: Request) -> Optional[str]:
        return r.query_params.get("doc")

    @app.get(
        "/both/{id}",
        dependencies=[Depends(auth.require_permission(NS, "view", object=doc)), Depends(auth.require_permission(NS, "edit", object=doc))],
    )
    async def both(id: str) -> dict[str, Any]:
        return {"ok": id}

    @app.get("/view/{id}")
    async def view(id: str, s: Session = Depends(auth.require_permission(NS, "view", object=doc))) -> dict[str, Any]:
        return {"id": s.identity.id}

    @app.get("/nest/view/{id}")
    async def nest_view(id: str, s: Session = Depends(nest.require_permission(NS, "view", object=doc))) -> dict[str, Any]:
        return {"id": s.identity.id}

    @app.get("/machine/view/{id}")
    async def machine_view(id: str, p: IamMachinePrincipal = Depends(auth.require_permission(NS, "view", object=doc, principal="machine"))) -> dict[str, Any]:
        return {"client_id": p.client_id}

    @app.get("/nest/machine/view/{id}")
    async def nest_machine_view(id: str, p: IamMachinePrincipal = Depends(nest.require_permission(NS, "view", object=doc, principal="machine"))) -> dict[str, Any]:
        return {"client_id": p.client_id}

    @app.get("/query-doc")
    async def query_doc(s: Session = Depends(auth.require_permission(NS, "view", object=from_query))) -> dict[str, Any]:
        return {"id": s.identity.id}

    @app.get("/down/query-doc")
    async def down_query_doc(s: Session = Depends(down.require_permission(NS, "view", object=from_query))) -> dict[str, Any]:
        return {"id": s.identity.id}

    @app.get("/machine/admin")
    async def machine_admin(p: IamMachinePrincipal = Depends(auth.require_role("admin", principal="machine"))) -> dict[str, Any]:
        return {"client_id": p.client_id}

    @app.get("/admin")
    async def admin(s: Session = Depends(auth.require_role("admin"))) -> dict[str, Any]:
        return {"id": s.identity.id}

    @app.get("/work/{id}")
    async def work(id: str, s: Session = Depends(auth.current_user)) -> dict[str, Any]:
        # Ory calls made in the route itself (not only the guard's whoami).
        await iam.identity.get(s.identity.id)
        allowed = await iam.permission.check(t(id, "view", s.identity.id), fresh=True)
        return {"allowed": allowed, "rid": ory_iam.current_request_id()}

    app.include_router(health_router(iam))
    app.include_router(health_router(no_kratos, path="/health-down"))
    return app


@pytest.fixture(scope="module")
async def api(iam: ory_iam.Iam, iam_config: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    app = fastapi_app(iam, ory_iam.Iam.from_config(keto_down(iam_config)), ory_iam.Iam.from_config(kratos_down(iam_config)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as c:
        yield c


async def test_fastapi_permissions_on_one_route_are_anded(api: httpx.AsyncClient, iam: ory_iam.Iam, caller: Caller) -> None:
    d = f"and-{uuid.uuid4().hex}"
    assert (await api.get(f"/both/{d}", headers=caller.headers)).status_code == 403
    await iam.permission.grant(t(d, "view", caller.identity_id))
    try:
        assert (await api.get(f"/view/{d}", headers=caller.headers)).status_code == 200
        r = await api.get(f"/both/{d}", headers=caller.headers)  # view alone is not enough
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        await iam.permission.grant(t(d, "edit", caller.identity_id))
        assert (await api.get(f"/both/{d}", headers=caller.headers)).status_code == 200
    finally:
        await iam.permission.revoke(t(d, "edit", caller.identity_id))
        await iam.permission.revoke(t(d, "view", caller.identity_id))


async def test_fastapi_subject_mapper_for_users_and_machines(api: httpx.AsyncClient, iam: ory_iam.Iam, caller: Caller) -> None:
    d = f"subj-{uuid.uuid4().hex}"
    # ory-nestjs's Keto data: user:<id> and a client's own subject.
    grants = [t(d, "view", f"user:{caller.identity_id}"), t(d, "view", f"client:{caller.client_id}")]
    for g in grants:
        await iam.permission.grant(g)
    try:
        assert (await api.get(f"/nest/view/{d}", headers=caller.headers)).json() == {"id": caller.identity_id}
        assert (await api.get(f"/view/{d}", headers=caller.headers)).status_code == 403  # default: the bare id
        r = await api.get(f"/nest/machine/view/{d}", headers=caller.machine)
        assert r.status_code == 200 and r.json() == {"client_id": caller.client_id}
        assert (await api.get(f"/machine/view/{d}", headers=caller.machine)).status_code == 403
        await iam.permission.grant(t(d, "view", caller.client_id))
        assert (await api.get(f"/machine/view/{d}", headers=caller.machine)).json() == {"client_id": caller.client_id}
        # A session token is no OAuth2 access token; no token is a 401 with the Bearer challenge.
        assert (await api.get(f"/machine/view/{d}", headers=caller.headers)).status_code == 401
        r = await api.get(f"/machine/view/{d}")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    finally:
        await iam.permission.revoke(t(d, "view", caller.client_id))
        for g in grants:
            await iam.permission.revoke(g)


@pytest.mark.parametrize("query", ["", "?doc=", "?other=x"])
async def test_fastapi_object_resolving_to_nothing_is_400_and_keto_is_not_asked(api: httpx.AsyncClient, caller: Caller, query: str) -> None:
    for path in ("/query-doc", "/down/query-doc"):  # the second one's Keto is unreachable: a call would be a 503
        r = await api.get(path + query, headers=caller.headers)
        assert r.status_code == 400, (path, r.text)
        body = r.json()
        assert body["statusCode"] == 400 and body["error"] == "validation"
        assert [f["path"] for f in body["fields"]] == ["object"]
    assert (await api.get("/query-doc?doc=x")).status_code == 401  # the session is checked first


async def test_fastapi_machine_scopes_are_roles_and_role_denials_are_audited(
    api: httpx.AsyncClient, caller: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    r = await api.get("/machine/admin", headers=caller.machine_admin)
    assert r.status_code == 200 and r.json() == {"client_id": caller.client_id}
    with caplog.at_level(logging.INFO, logger="ory_iam.audit"):
        r = await api.get("/machine/admin", headers=caller.machine)
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        r2 = await api.get("/admin", headers={**caller.headers, "x-request-id": "role-deny-2"})
        assert r2.status_code == 403
    denials = [rec for rec in caplog.records if rec.name == "ory_iam.audit" and rec.getMessage() == "authz.role.deny"]
    assert [(rec.levelno, rec.ory_iam["event"]["actor"], rec.ory_iam["event"]["result"], rec.ory_iam["event"]["request_id"]) for rec in denials] == [  # type: ignore[attr-defined]
        (logging.WARNING, caller.client_id, "denied", r.headers["x-request-id"]),
        (logging.WARNING, caller.identity_id, "denied", "role-deny-2"),
    ]
    assert all(rec.ory_iam["event"]["attributes"] == {"roles": ["admin"]} and rec.ory_iam["tenant"] == "customer" for rec in denials)  # type: ignore[attr-defined]


async def test_fastapi_health_router(api: httpx.AsyncClient, iam_config: dict[str, Any]) -> None:
    r = await api.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "up" and body["tenants"]["customer"]["kratos-public"] == "up"
    assert body["tenants"]["customer"]["keto-read"] == "up"
    r = await api.get("/health-down")
    assert r.status_code == 503 and r.json()["status"] == "down"
    down = {(t, p) for t, ps in r.json()["tenants"].items() for p, state in ps.items() if state == "down"}
    assert down == {("customer", "kratos-public")}
    for text in (r.text, (await api.get("/health")).text):
        assert "127.0.0.1" not in text and "http" not in text
        assert not any(v in text for v in _secret_values(iam_config))


def _secret_values(v: Any, key: str = "") -> list[str]:
    if isinstance(v, dict):
        return [s for k, x in v.items() for s in _secret_values(x, str(k))]
    if isinstance(v, list):
        return [s for x in v for s in _secret_values(x, key)]
    return [v] if isinstance(v, str) and any(w in key for w in ("token", "secret", "key")) and len(v) >= 6 else []


# --- the log sink's levels (item 7) -----------------------------------------------------------------


async def test_log_sink_logs_failures_and_denials_at_warning(iam: ory_iam.Iam, caller: Caller, caplog: pytest.LogCaptureFixture) -> None:
    d = f"log-{uuid.uuid4().hex}"
    with caplog.at_level(logging.DEBUG, logger="ory_iam.audit"):
        await iam.session.whoami({"authorization": caller.headers["authorization"]})  # auth.success
        with pytest.raises(ory_iam.IamUnauthorizedError):
            await iam.session.whoami({"authorization": "Bearer ory_st_" + uuid.uuid4().hex})  # auth.failure.expired
        assert await iam.permission.check(t(d, "view", caller.identity_id)) is False  # authz.permission.deny
    levels = {}
    for rec in caplog.records:
        if rec.name == "ory_iam.audit":
            ev = rec.ory_iam["event"]  # type: ignore[attr-defined]
            levels.setdefault(ev["name"], set()).add((rec.levelno, ev["result"]))
    assert levels["auth.success"] == {(logging.INFO, "success")}
    assert levels["auth.failure.expired"] == {(logging.WARNING, "failure")}
    assert levels["authz.permission.deny"] == {(logging.WARNING, "denied")}


# --- Flask ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sync_iam(iam_config: dict[str, Any]) -> Iterator[ory_iam.sync.Iam]:
    i = ory_iam.sync.Iam.from_config(iam_config)
    yield i
    i.close()


@pytest.fixture(scope="module")
def flask_client(sync_iam: ory_iam.sync.Iam, iam_config: dict[str, Any]) -> Any:
    from flask import Flask, g, request

    from ory_iam.flask import IamFlask, health_blueprint, login_required, require_permission, require_role

    app = Flask(__name__)
    IamFlask(app, iam=sync_iam, tenant="customer")
    nest = IamFlask(iam=sync_iam, tenant="customer", subject=lambda i: f"user:{i}", machine_subject=lambda c: f"client:{c}")
    nest.init_app(app)
    no_keto = IamFlask(iam=ory_iam.sync.Iam.from_config(keto_down(iam_config)), tenant="customer")
    no_keto.init_app(app)

    def doc(r: Any) -> str:
        return str(r.view_args["id"])

    @app.get("/both/<id>")
    @require_permission(NS, "view", object=doc)
    @require_permission(NS, "edit", object=doc)
    def both(id: str) -> Any:
        return {"ok": id}

    @app.get("/view/<id>")
    @require_permission(NS, "view", object=doc)
    def view(id: str) -> Any:
        return {"id": g.iam.session.identity.id}

    @app.get("/nest/view/<id>")
    @nest.require_permission(NS, "view", object=doc)
    def nest_view(id: str) -> Any:
        return {"id": g.iam.session.identity.id}

    @app.get("/machine/view/<id>")
    @require_permission(NS, "view", object=doc, principal="machine")
    def machine_view(id: str) -> Any:
        return {"client_id": g.iam_principal.client_id}

    @app.get("/nest/machine/view/<id>")
    @nest.require_permission(NS, "view", object=doc, principal="machine")
    def nest_machine_view(id: str) -> Any:
        return {"client_id": g.iam_principal.client_id}

    @app.get("/query-doc")
    @require_permission(NS, "view", object=lambda r: r.args.get("doc"))
    def query_doc() -> Any:
        return {}

    @app.get("/down/query-doc")
    @no_keto.require_permission(NS, "view", object=lambda r: r.args.get("doc"))
    def down_query_doc() -> Any:
        return {}

    @app.get("/work/<id>")
    @login_required
    def work(id: str) -> Any:
        s = g.iam.session
        g.iam.iam.identity.get(s.identity.id)
        allowed = g.iam.iam.permission.check(t(id, "view", s.identity.id), fresh=True)
        return {"allowed": allowed, "rid": ory_iam.current_request_id()}

    @app.get("/machine/admin")
    @require_role("admin", principal="machine")
    def machine_admin() -> Any:
        return {"client_id": g.iam_principal.client_id}

    @app.get("/admin")
    @login_required
    @require_role("admin")
    def admin() -> Any:
        return {}

    app.register_blueprint(health_blueprint())
    app.register_blueprint(health_blueprint(ory_iam.sync.Iam.from_config(kratos_down(iam_config)), url="/health-down", name="down"))
    del request
    return app.test_client()


def test_flask_permissions_on_one_route_are_anded(flask_client: Any, sync_iam: ory_iam.sync.Iam, caller: Caller) -> None:
    d = f"and-{uuid.uuid4().hex}"
    assert flask_client.get(f"/both/{d}", headers=caller.headers).status_code == 403
    sync_iam.permission.grant(t(d, "edit", caller.identity_id))
    try:
        assert flask_client.get(f"/both/{d}", headers=caller.headers).status_code == 403  # edit alone
        sync_iam.permission.grant(t(d, "view", caller.identity_id))
        assert flask_client.get(f"/both/{d}", headers=caller.headers).get_json() == {"ok": d}
    finally:
        sync_iam.permission.revoke(t(d, "view", caller.identity_id))
        sync_iam.permission.revoke(t(d, "edit", caller.identity_id))


def test_flask_subject_mapper_for_users_and_machines(flask_client: Any, sync_iam: ory_iam.sync.Iam, caller: Caller) -> None:
    d = f"subj-{uuid.uuid4().hex}"
    grants = [t(d, "view", f"user:{caller.identity_id}"), t(d, "view", f"client:{caller.client_id}")]
    for g_ in grants:
        sync_iam.permission.grant(g_)
    try:
        assert flask_client.get(f"/nest/view/{d}", headers=caller.headers).get_json() == {"id": caller.identity_id}
        assert flask_client.get(f"/view/{d}", headers=caller.headers).status_code == 403
        assert flask_client.get(f"/nest/machine/view/{d}", headers=caller.machine).get_json() == {"client_id": caller.client_id}
        assert flask_client.get(f"/machine/view/{d}", headers=caller.machine).status_code == 403
        sync_iam.permission.grant(t(d, "view", caller.client_id))
        assert flask_client.get(f"/machine/view/{d}", headers=caller.machine).get_json() == {"client_id": caller.client_id}
        assert flask_client.get(f"/machine/view/{d}").status_code == 401
    finally:
        sync_iam.permission.revoke(t(d, "view", caller.client_id))
        for g_ in grants:
            sync_iam.permission.revoke(g_)


@pytest.mark.parametrize("query", ["", "?doc="])
def test_flask_object_resolving_to_nothing_is_400_and_keto_is_not_asked(flask_client: Any, caller: Caller, query: str) -> None:
    for path in ("/query-doc", "/down/query-doc"):
        r = flask_client.get(path + query, headers=caller.headers)
        body = r.get_json()
        assert r.status_code == 400 and body["error"] == "validation" and [f["path"] for f in body["fields"]] == ["object"], (path, body)


def test_flask_machine_scopes_are_roles_and_role_denials_are_audited(flask_client: Any, caller: Caller, caplog: pytest.LogCaptureFixture) -> None:
    assert flask_client.get("/machine/admin", headers=caller.machine_admin).get_json() == {"client_id": caller.client_id}
    with caplog.at_level(logging.INFO, logger="ory_iam.audit"):
        assert flask_client.get("/machine/admin", headers=caller.machine).status_code == 403
        assert flask_client.get("/admin", headers=caller.headers).status_code == 403
    denials = [rec for rec in caplog.records if rec.name == "ory_iam.audit" and rec.getMessage() == "authz.role.deny"]
    assert [(rec.levelno, rec.ory_iam["event"]["actor"]) for rec in denials] == [  # type: ignore[attr-defined]
        (logging.WARNING, caller.client_id),
        (logging.WARNING, caller.identity_id),
    ]


def test_flask_health_blueprint(flask_client: Any) -> None:
    r = flask_client.get("/health")
    assert r.status_code == 200 and r.get_json()["status"] == "up"
    r = flask_client.get("/health-down")
    assert r.status_code == 503 and r.get_json()["status"] == "down"
    assert r.get_json()["tenants"]["customer"]["kratos-public"] == "down"
    assert "127.0.0.1" not in r.get_data(as_text=True)


async def test_health_endpoint_in_plain_starlette(iam: ory_iam.Iam) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Route

    from ory_iam.starlette import health_endpoint

    app = Starlette(routes=[Route("/health", health_endpoint(iam))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as c:
        r = await c.get("/health")
        assert r.status_code == 200 and r.json()["status"] == "up" and r.headers["cache-control"] == "no-store"


async def test_fake_users_grant_through_the_apps_subject_mapper() -> None:
    """FakeUsers given the app's subject mapper grants what the app's checks ask for."""
    from ory_iam.fastapi import FakeUsers
    from ory_iam.testing import FakeOry

    fake = FakeOry(tenants=["customer"])
    mapper = lambda identity_id: f"user:{identity_id}"  # noqa: E731
    auth = IamAuth(fake.iam, tenant="customer", subject=mapper)
    app = FastAPI()
    auth.install(app)

    @app.get("/d/{id}")
    async def d(id: str, s: Session = Depends(auth.require_permission(NS, "view", object=lambda r: str(r.path_params["id"])))) -> dict[str, Any]:
        return {"id": s.identity.id}

    users, plain = FakeUsers(fake, subject=mapper), FakeUsers(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as c:
        ada = await users.login()
        await plain.grant(ada, NS, "view", "d1")  # the bare id: not what the app asks Keto
        assert (await c.get("/d/d1", headers=ada.headers)).status_code == 403
        await users.grant(ada, NS, "view", "d1")
        assert (await c.get("/d/d1", headers=ada.headers)).json() == {"id": ada.identity.id}
        await users.revoke(ada, NS, "view", "d1")
        assert (await c.get("/d/d1", headers=ada.headers)).status_code == 403


# --- X-Request-Id correlation through the adapters (item 6) ---------------------------------------


def ops_during(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(operation, request id) of every Ory request the library made while capturing."""
    return [(r.ory_iam["operation"], r.ory_iam["request_id"]) for r in caplog.records if r.name == "ory_iam.op"]  # type: ignore[attr-defined]


def check_correlation(send: Any, caller: Caller, caplog: pytest.LogCaptureFixture) -> None:
    """``send(path, headers) -> (status, headers, json)``: every Ory call of the request (the
    guard's whoami, the route's identity.get and permission.check) carries the incoming id, the
    response echoes it; without one, or with one that is not 1-200 visible ASCII characters, a
    fresh UUID is used for all of them."""
    import re

    uuid_re = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    cases: list[tuple[Optional[str], Optional[str]]] = [(f"req-{uuid.uuid4().hex}", "same"), (None, "uuid"), ("x" * 201, "uuid"), ("bad id", "uuid")]
    seen_ids = set()
    for incoming, expect in cases:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="ory_iam.op"):
            headers = dict(caller.headers)
            if incoming is not None:
                headers["x-request-id"] = incoming
            status, response_headers, body = send(f"/work/{uuid.uuid4().hex}", headers)
        assert status == 200, body
        rid = response_headers["x-request-id"]
        assert rid == incoming if expect == "same" else uuid_re.match(rid), (incoming, rid)
        assert body["rid"] == rid
        ops = ops_during(caplog)
        assert {op.split(" ")[0] for op, _ in ops} >= {"GET"} and len(ops) >= 3, ops  # whoami, identity.get, check
        assert {r for _, r in ops} == {rid}, ops
        seen_ids.add(rid)
    assert len(seen_ids) == len(cases)  # a fresh id per request


async def test_fastapi_request_id_reaches_every_ory_call(api: httpx.AsyncClient, caller: Caller, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    loop = asyncio.get_running_loop()

    def send(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        r = asyncio.run_coroutine_threadsafe(api.get(path, headers=headers), loop).result()
        return r.status_code, dict(r.headers), r.json()

    await loop.run_in_executor(None, check_correlation, send, caller, caplog)


def test_flask_request_id_reaches_every_ory_call(flask_client: Any, caller: Caller, caplog: pytest.LogCaptureFixture) -> None:
    def send(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        r = flask_client.get(path, headers=headers)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_json()

    check_correlation(send, caller, caplog)
