"""The framework attack suite (issue 27) against a FastAPI app over ory_iam.fastapi: every attack of
tests/security/framework_attacks.json whose `frameworks` names `fastapi`, over real HTTP (uvicorn on
a loopback port, httpx) against the real stack. The same file drives the Express and NestJS apps in
tests/node/security-frameworks.test.js; see its `about` for the format and the rules checked."""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import sys
import uuid
from typing import Any, AsyncIterator, Optional

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.datastructures import State

import ory_iam
from ory_iam import Session
from ory_iam.fastapi import IamAuth

from conftest import ROOT, register_secret
from test_session import PASSWORD, Jar, closed_port

sys.path.insert(0, str(ROOT / "tests" / "reliability"))
from proxy import FaultProxy  # noqa: E402

SUITE: dict[str, Any] = json.loads((ROOT / "tests" / "security" / "framework_attacks.json").read_text())
ATTACKS = [a for a in SUITE["attacks"] if "fastapi" in a.get("frameworks", ["fastapi", "express", "nestjs"])]
ERROR_OF = {401: "unauthorized", 403: "forbidden", 503: "upstream_unavailable"}
# One attempt, a short timeout and no circuit breaker: the outage routes answer within about a
# second, and every outage attack reaches the fault it arms (an open breaker would answer first).
FAST_FAIL = {"timeout_ms": 1000, "retries": 0, "breaker_threshold": 0}


def expand(v: Any, values: dict[str, str]) -> Any:
    """The suite's placeholders ({A.token}, {doc}, ...) replaced, in strings, lists and dicts."""
    if isinstance(v, str):
        for k, x in values.items():
            v = v.replace("{" + k + "}", x)
        return v
    if isinstance(v, list):
        return [expand(x, values) for x in v]
    if isinstance(v, dict):
        return {expand(k, values): expand(x, values) for k, x in v.items()}
    return v


class User:
    def __init__(self, name: str, tenant: str, email: str) -> None:
        self.name, self.tenant, self.email = name, tenant, email
        self.id = ""
        self.token = ""
        self.cookie = ""
        self.cookie_value = ""

    def values(self) -> dict[str, str]:
        n = self.name
        return {f"{n}.id": self.id, f"{n}.token": self.token, f"{n}.cookie": self.cookie, f"{n}.cookie_value": self.cookie_value}


async def register(iam: ory_iam.Iam, user: User, roles: list[str]) -> None:
    flows = iam.flow.for_tenant(user.tenant)
    flow = await flows.initiate_registration()
    reg = await flows.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": user.email}})
    assert reg.kind == "success" and reg.identity is not None
    user.id = reg.identity.id
    if roles:
        await iam.identity.for_tenant(user.tenant).patch(user.id, [{"op": "add", "path": "/metadata_public", "value": {"roles": roles}}])


async def login(iam: ory_iam.Iam, user: User) -> None:
    """A native session (its token) and a browser session (its cookie) of `user`."""
    flows = iam.flow.for_tenant(user.tenant)
    body = {"method": "password", "identifier": user.email, "password": PASSWORD}
    native = await flows.submit_login((await flows.initiate_login()).id, body)
    assert native.kind == "success" and native.session_token is not None
    user.token = native.session_token.expose()
    jar = Jar()
    browser = await flows.initiate_login(kind="browser")
    ok = await flows.submit_login(browser.id, body, cookie=jar.update(browser.set_cookie), csrf_token=browser.csrf_token)
    assert ok.kind == "success"
    jar.update(ok.set_cookie)
    name = iam_cookie_name(user.tenant)
    user.cookie_value = jar.cookies[name]
    user.cookie = f"{name}={user.cookie_value}"


def iam_cookie_name(tenant: str) -> str:
    return str(SUITE_CONFIG["tenants"][tenant]["kratos"]["session_cookie_name"])


SUITE_CONFIG: dict[str, Any] = {}


def who(s: Optional[Session]) -> dict[str, Any]:
    return {"id": s.identity.id if s else None, "tenant": s.tenant if s else None}


def path_id(r: Request) -> str:
    return str(r.path_params["id"])


def build_app(iams: dict[str, ory_iam.Iam], doc: str) -> FastAPI:
    auth = IamAuth(iams["main"], tenant="customer")
    bearer_only = IamAuth(iams["main"], tenant="customer", transport="bearer")
    admin = IamAuth(iams["main"], tenant="admin")
    app = FastAPI()
    auth.install(app)

    @app.middleware("http")
    async def planted(request: Request, call_next: Any) -> Any:
        # The Python face of prototype pollution: while `setup.pollute` is on, every request's
        # scope carries the planted keys too (State's class attributes are set by the test).
        for k, v in POLLUTION.items():
            request.scope[k] = v
        return await call_next(request)

    @app.get("/me")
    async def me(s: Session = Depends(auth.current_user)) -> dict[str, Any]:
        return who(s)

    @app.get("/maybe")
    async def maybe(s: Optional[Session] = Depends(auth.optional_user)) -> dict[str, Any]:
        return who(s)

    @app.get("/bearer/me")
    async def bearer_me(s: Session = Depends(bearer_only.current_user)) -> dict[str, Any]:
        return who(s)

    @app.get("/admin-tenant/me")
    async def admin_me(s: Session = Depends(admin.current_user)) -> dict[str, Any]:
        return who(s)

    @app.get("/docs/{id}")
    async def docs(s: Session = Depends(auth.require_permission("documents", "view", object=path_id))) -> dict[str, Any]:
        return who(s)

    # The URL names objects only; the subject of both checks is the caller.
    @app.get(
        "/groups/{group}/folders/{id}",
        dependencies=[Depends(auth.require_permission("groups", "member", object=lambda r: r.path_params["group"]))],
    )
    async def folder(s: Session = Depends(auth.require_permission("folders", "view", object=path_id))) -> dict[str, Any]:
        return who(s)

    compose = APIRouter(prefix="/compose", dependencies=[Depends(auth.require_role("admin"))])

    @compose.get("/editor")
    async def editor(s: Session = Depends(auth.require_role("editor"))) -> dict[str, Any]:
        return who(s)

    @compose.get("/open")
    async def open_(request: Request) -> dict[str, Any]:
        return who(await auth.optional_user(request))

    @compose.get("/maybe")
    async def compose_maybe(s: Optional[Session] = Depends(auth.optional_user)) -> dict[str, Any]:
        return who(s)

    perm = APIRouter(prefix="/perm", dependencies=[Depends(auth.require_permission("documents", "view", object=f"{doc}-b"))])

    @perm.get("/docs/{id}")
    async def perm_docs(s: Session = Depends(auth.require_permission("documents", "view", object=path_id))) -> dict[str, Any]:
        return who(s)

    app.include_router(compose)
    app.include_router(perm)

    for kind in ("down", "outage"):
        kratos = IamAuth(iams[f"{kind}_kratos"], tenant="customer")
        keto = IamAuth(iams[f"{kind}_keto"], tenant="customer")
        app.add_api_route(f"/{kind}/kratos/me", _route(kratos.current_user))
        app.add_api_route(f"/{kind}/kratos/maybe", _route(kratos.optional_user))
        app.add_api_route(f"/{kind}/keto/docs/{{id}}", _route(keto.require_permission("documents", "view", object=path_id)))
    return app


def _route(dep: Any) -> Any:
    async def route(s: Optional[Session] = Depends(dep)) -> dict[str, Any]:
        return who(s)

    return route


POLLUTION: dict[str, Any] = {}


class Suite:
    def __init__(self, http: httpx.AsyncClient, iam: ory_iam.Iam, users: dict[str, User], values: dict[str, str], proxies: dict[str, FaultProxy], secrets: list[str]) -> None:
        self.http, self.iam, self.users, self.values, self.proxies, self.secrets = http, iam, users, values, proxies, secrets


def config_with_secrets(base: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(base)
    for t in cfg["tenants"].values():
        t["kratos"]["admin_token"] = SUITE["secrets"]["kratos_admin_token"]
        t["keto"]["api_key"] = SUITE["secrets"]["keto_api_key"]
    return cfg


def pointed(base: dict[str, Any], product: str, key: str, url: str) -> dict[str, Any]:
    cfg = copy.deepcopy(base)
    cfg["tenants"]["customer"][product][key] = url
    cfg["tenants"]["customer"]["http"] = dict(FAST_FAIL)
    return cfg


@pytest.fixture(scope="module")
async def suite(iam_config: dict[str, Any]) -> AsyncIterator[Suite]:
    SUITE_CONFIG.clear()
    SUITE_CONFIG.update(iam_config)
    for s in SUITE["secrets"].values():
        register_secret(s)
    base = config_with_secrets(iam_config)
    customer = base["tenants"]["customer"]
    proxies = {"kratos": FaultProxy(customer["kratos"]["public_url"]), "keto": FaultProxy(customer["keto"]["read_url"])}
    iams = {
        "main": ory_iam.Iam.from_config(base),
        "down_kratos": ory_iam.Iam.from_config(pointed(base, "kratos", "public_url", f"http://127.0.0.1:{closed_port()}/")),
        "down_keto": ory_iam.Iam.from_config(pointed(base, "keto", "read_url", f"http://127.0.0.1:{closed_port()}/")),
        "outage_kratos": ory_iam.Iam.from_config(pointed(base, "kratos", "public_url", proxies["kratos"].url)),
        "outage_keto": ory_iam.Iam.from_config(pointed(base, "keto", "read_url", proxies["keto"].url)),
    }
    iam = iams["main"]
    run = uuid.uuid4().hex[:12]
    values = {"doc": f"d-{run}", "doc_tail": f"-{run}", "group": f"g-{run}", "folder": f"f-{run}"}
    users: dict[str, User] = {}
    for name, spec in SUITE["users"].items():
        u = User(name, spec["tenant"], f"fw-{name.lower()}-{run}@example.test")
        register_secret(u.email)
        await register(iam, u, spec["roles"])
        await login(iam, u)
        users[name] = u
        values.update(u.values())
    grants = [expand({**g, "subject": users[g["subject"]].id if isinstance(g["subject"], str) else g["subject"]}, values) for g in SUITE["grants"]]
    for g in grants:
        await iam.permission.grant(g)

    app = build_app(iams, values["doc"])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    while not srv.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=30) as client:
            yield Suite(client, iam, users, values, proxies, list(SUITE["secrets"].values()) + [PASSWORD])
    finally:
        srv.should_exit = True
        await task
        sock.close()
        for g in grants:
            await iam.permission.revoke(g)
        for u in users.values():
            await iam.identity.for_tenant(u.tenant).delete(u.id)
        for p in proxies.values():
            p.stop()


def secrets_of(suite: Suite) -> list[str]:
    out = list(suite.secrets)
    for u in suite.users.values():
        out += [u.token, u.cookie_value, u.email]
    return [s for s in out if s]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a["name"] for a in ATTACKS])
async def test_attack(suite: Suite, attack: dict[str, Any]) -> None:
    setup = attack.get("setup", {})
    text = json.dumps(attack)
    for name, spec in SUITE["users"].items():
        if spec.get("fresh") and "{" + name + "." in text:
            # (sessions of this tenant are short-lived in the stack: log in right before)
            await login(suite.iam, suite.users[name])
            suite.values.update(suite.users[name].values())
    req = expand(attack["request"], suite.values)
    headers = [(k, v.encode()) for k, v in req["headers"]]
    fault = setup.get("fault")
    if fault:
        suite.proxies[fault["service"]].fault(**{k: v for k, v in fault.items() if k != "service"})
    if setup.get("pollute"):
        planted = expand(SUITE["pollution"], suite.values)
        POLLUTION.update(planted)
        for k, v in planted.items():
            setattr(State, k, v)
    try:
        r = await suite.http.request(req["method"], req["path"], headers=headers)
        if fault:
            assert suite.proxies[fault["service"]].stats()["requests"] >= 1, "the armed fault was never reached"
    finally:
        if fault:
            suite.proxies[fault["service"]].reset()
        for k in list(POLLUTION):
            if k in State.__dict__:
                delattr(State, k)
        POLLUTION.clear()
    check(suite, attack, r)


def check(suite: Suite, attack: dict[str, Any], r: httpx.Response) -> None:
    want = attack["expect"]
    assert r.status_code in want["status"], f"{attack['name']}: {r.status_code} {r.text[:200]}"
    if r.status_code == 200 and "identity" in want:
        who_ = want["identity"]
        expected = None if who_ == "anonymous" else suite.users[who_].id
        assert r.json()["id"] == expected, f"{attack['name']}: the app saw {r.json()['id']}, not {who_}"
        if "tenant" in want:
            assert r.json()["tenant"] == want["tenant"]
    if r.status_code in ERROR_OF:
        body = r.json()
        assert body["error"] == ERROR_OF[r.status_code] and body["statusCode"] == r.status_code
        assert set(body) <= {"statusCode", "error", "requestId"}
    if r.status_code >= 400:
        seen = r.text + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        leaked = [s for s in secrets_of(suite) if s in seen]
        assert not leaked, f"{attack['name']}: a secret in the {r.status_code} answer"


def test_every_fastapi_attack_is_run() -> None:
    """The suite is not empty and every class of the issue is present for FastAPI."""
    classes = {a["class"] for a in ATTACKS}
    for c in ("credential precedence", "look-alike cookies", "foreign cookies", "transport", "tenant selection", "keto injection", "subject from the URL", "composition", "outage", "prototype pollution"):
        assert c in classes, c
