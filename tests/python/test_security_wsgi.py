"""The framework attack suite (tests/security/framework_attacks.json, issue 27) against the blocking
adapters: a Flask app over ory_iam.flask and a Django app over ory_iam.django, each with the suite's
routes, served over real HTTP (werkzeug's threaded server on a loopback port, so the raw headers of
each attack reach the app as sent) against the real stack. Every attack that names no framework
(those meant for all) runs against both; the rules checked are the FastAPI driver's
(test_security_frameworks.py: status, identity, error body, no secret in a refusal).

Python's face of prototype pollution here: while `setup.pollute` is on, the planted keys are class
attributes of the framework's request object and of Flask's `g`, and keys of every request's WSGI
environ: none of them may make a guard see a session it did not resolve itself."""

from __future__ import annotations

import sys
import threading
import types
import uuid
from typing import Any, AsyncIterator, Callable, Iterator, Optional

import httpx
import pytest

import ory_iam
from ory_iam import Session
from ory_iam.sync import Iam

from conftest import register_secret
from test_security_frameworks import (
    SUITE,
    SUITE_CONFIG,
    FaultProxy,
    Suite,
    User,
    check,
    closed_port,
    config_with_secrets,
    expand,
    login,
    pointed,
    register,
)
from test_session import PASSWORD

FRAMEWORKS = ["flask", "django"]
POLLUTION: dict[str, Any] = {}
#: Where WSGI answers differently, and why that is still safe. A WSGI environ holds one value per
#: header: werkzeug and gunicorn join repeated headers with "," (not the "; " RFC 6265 wants for
#: Cookie), so two Cookie headers reach the core as one cookie whose value holds a ",": refused as
#: malformed (401), never B's session, never a mix. Browsers send one Cookie header.
WSGI_STATUS = {"two Cookie headers: the first session cookie counts": [200, 401]}


def _wsgi(a: dict[str, Any]) -> dict[str, Any]:
    if a["name"] not in WSGI_STATUS:
        return a
    return {**a, "expect": {**a["expect"], "status": WSGI_STATUS[a["name"]]}}


ATTACKS = [_wsgi(a) for a in SUITE["attacks"] if "frameworks" not in a]


def who(s: Optional[Session]) -> dict[str, Any]:
    return {"id": s.identity.id if s else None, "tenant": s.tenant if s else None}


class Polluting:
    """WSGI middleware: the planted keys in every request's environ while pollution is on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        for k, v in POLLUTION.items():
            environ[k] = v
        return self.app(environ, start_response)


def flask_app(iams: dict[str, Iam], doc: str) -> tuple[Any, list[type]]:
    import flask
    from flask import Blueprint, Flask, g

    from ory_iam.flask import IamFlask, login_required, require_permission, require_role

    app = Flask("attacks")
    IamFlask(app, iam=iams["main"], tenant="customer")
    bearer_only = IamFlask(app, tenant="customer", transport="bearer")
    admin = IamFlask(app, tenant="admin")

    def path_id(r: Any) -> str:
        return str(r.view_args["id"])

    @app.get("/me")
    @login_required
    def me() -> Any:
        return who(g.iam.session)

    @app.get("/maybe")
    def maybe() -> Any:
        return who(g.iam.user)

    @app.get("/bearer/me")
    def bearer_me() -> Any:
        return who(bearer_only.current_user())

    @app.get("/admin-tenant/me")
    def admin_me() -> Any:
        return who(admin.current_user())

    @app.get("/docs/<id>")
    @require_permission("documents", "view", object=path_id)
    def docs(id: str) -> Any:
        return who(g.iam.session)

    @app.get("/groups/<group>/folders/<id>")
    @require_permission("groups", "member", object=lambda r: r.view_args["group"])
    @require_permission("folders", "view", object=path_id)
    def folder(group: str, id: str) -> Any:
        return who(g.iam.session)

    # A container (a blueprint's before_request) and route-level requirements: all must hold.
    compose = Blueprint("compose", __name__, url_prefix="/compose")
    compose.before_request(require_role("admin")(lambda: None))

    @compose.get("/editor")
    @require_role("editor")
    def editor() -> Any:
        return who(g.iam.session)

    @compose.get("/open")
    def open_() -> Any:
        return who(g.iam.user)

    @compose.get("/maybe")
    def compose_maybe() -> Any:
        return who(g.iam.user)

    perm = Blueprint("perm", __name__, url_prefix="/perm")
    perm.before_request(require_permission("documents", "view", object=f"{doc}-b")(lambda: None))

    @perm.get("/docs/<id>")
    @require_permission("documents", "view", object=path_id)
    def perm_docs(id: str) -> Any:
        return who(g.iam.session)

    app.register_blueprint(compose)
    app.register_blueprint(perm)

    for kind in ("down", "outage"):
        kratos = IamFlask(app, iam=iams[f"{kind}_kratos"], tenant="customer")
        keto = IamFlask(app, iam=iams[f"{kind}_keto"], tenant="customer")
        app.add_url_rule(f"/{kind}/kratos/me", f"{kind}_me", (lambda k: lambda: who(k.current_user()))(kratos))
        app.add_url_rule(f"/{kind}/kratos/maybe", f"{kind}_maybe", (lambda k: lambda: who(k.optional_user()))(kratos))
        app.add_url_rule(
            f"/{kind}/keto/docs/<id>",
            f"{kind}_docs",
            (lambda k: k.require_permission("documents", "view", object=path_id)(lambda id: who(k.current_user())))(keto),
        )
    return app, [flask.wrappers.Request, flask.ctx._AppCtxGlobals]


def django_app(base: dict[str, Any], iams: dict[str, Iam], doc: str) -> tuple[Any, list[type], Callable[[], None]]:
    import django
    from django.conf import settings

    overrides = dict(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        SECRET_KEY="attack-suite-only",
        ROOT_URLCONF="attack_suite_urls",
        MIDDLEWARE=["ory_iam.django.IamMiddleware"],
        ORY_IAM=base,
        ORY_IAM_TENANT="customer",
        ORY_IAM_TRANSPORT=None,
        ORY_IAM_RETRY_AFTER=None,
    )
    undo: Callable[[], None] = lambda: None
    if not settings.configured:
        settings.configure(INSTALLED_APPS=[], **overrides)
        django.setup()
    else:
        from django.test.utils import override_settings

        o = override_settings(**overrides)
        o.enable()
        undo = o.disable

    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpRequest, JsonResponse
    from django.urls import path

    from ory_iam.django import IamDjango, login_required, require_permission, require_role

    bearer_only = IamDjango("customer", transport="bearer")
    admin = IamDjango("admin")

    def path_id(r: Any) -> str:
        return str(r.resolver_match.kwargs["id"])

    def answer(f: Callable[..., Any]) -> Callable[..., Any]:
        def view(request: HttpRequest, **kw: Any) -> Any:
            return JsonResponse(f(request, **kw))

        return view

    container_admin = require_role("admin")
    routes = [
        path("me", login_required(answer(lambda r: who(r.iam.session)))),
        path("maybe", answer(lambda r: who(r.iam.user))),
        path("bearer/me", answer(lambda r: who(bearer_only.current_user(r)))),
        path("admin-tenant/me", answer(lambda r: who(admin.current_user(r)))),
        path("docs/<str:id>", require_permission("documents", "view", object=path_id)(answer(lambda r, id: who(r.iam.session)))),
        path(
            "groups/<str:group>/folders/<str:id>",
            require_permission("groups", "member", object=lambda r: r.resolver_match.kwargs["group"])(
                require_permission("folders", "view", object=path_id)(answer(lambda r, group, id: who(r.iam.session)))
            ),
        ),
        # Containers are outer decorators here (Django has no per-include middleware): all hold.
        path("compose/editor", container_admin(require_role("editor")(answer(lambda r: who(r.iam.session))))),
        path("compose/open", container_admin(answer(lambda r: who(r.iam.user)))),
        path("compose/maybe", container_admin(answer(lambda r: who(r.iam.user)))),
        path(
            "perm/docs/<str:id>",
            require_permission("documents", "view", object=f"{doc}-b")(
                require_permission("documents", "view", object=path_id)(answer(lambda r, id: who(r.iam.session)))
            ),
        ),
    ]
    for kind in ("down", "outage"):
        kratos = IamDjango("customer", iam=iams[f"{kind}_kratos"])
        keto = IamDjango("customer", iam=iams[f"{kind}_keto"])
        routes += [
            path(f"{kind}/kratos/me", answer((lambda k: lambda r: who(k.current_user(r)))(kratos))),
            path(f"{kind}/kratos/maybe", answer((lambda k: lambda r: who(k.optional_user(r)))(kratos))),
            path(
                f"{kind}/keto/docs/<str:id>",
                (lambda k: k.require_permission("documents", "view", object=path_id)(answer(lambda r, id: who(k.current_user(r)))))(keto),
            ),
        ]
    urls = types.ModuleType("attack_suite_urls")
    urls.urlpatterns = routes  # type: ignore[attr-defined]
    sys.modules["attack_suite_urls"] = urls
    return WSGIHandler(), [HttpRequest], undo


class Served:
    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, Polluting(app), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(10)


class WsgiSuite(Suite):
    classes: dict[str, list[type]]
    clients: dict[str, httpx.AsyncClient]


@pytest.fixture(scope="module")
async def suite(iam_config: dict[str, Any]) -> AsyncIterator[WsgiSuite]:
    SUITE_CONFIG.clear()
    SUITE_CONFIG.update(iam_config)
    for s in SUITE["secrets"].values():
        register_secret(s)
    base = config_with_secrets(iam_config)
    customer = base["tenants"]["customer"]
    proxies = {"kratos": FaultProxy(customer["kratos"]["public_url"]), "keto": FaultProxy(customer["keto"]["read_url"])}
    aio = {
        "main": ory_iam.Iam.from_config(base),
        "down_kratos": ory_iam.Iam.from_config(pointed(base, "kratos", "public_url", f"http://127.0.0.1:{closed_port()}/")),
        "down_keto": ory_iam.Iam.from_config(pointed(base, "keto", "read_url", f"http://127.0.0.1:{closed_port()}/")),
        "outage_kratos": ory_iam.Iam.from_config(pointed(base, "kratos", "public_url", proxies["kratos"].url)),
        "outage_keto": ory_iam.Iam.from_config(pointed(base, "keto", "read_url", proxies["keto"].url)),
    }
    # The apps use the blocking views of the same Iam objects (one core each).
    iams = {k: Iam(v) for k, v in aio.items()}
    iam = aio["main"]
    run = uuid.uuid4().hex[:12]
    values = {"doc": f"d-{run}", "doc_tail": f"-{run}", "group": f"g-{run}", "folder": f"f-{run}"}
    users: dict[str, User] = {}
    for name, spec in SUITE["users"].items():
        u = User(name, spec["tenant"], f"fw-wsgi-{name.lower()}-{run}@example.test")
        register_secret(u.email)
        await register(iam, u, spec["roles"])
        await login(iam, u)
        users[name] = u
        values.update(u.values())
    grants = [expand({**g, "subject": users[g["subject"]].id if isinstance(g["subject"], str) else g["subject"]}, values) for g in SUITE["grants"]]
    for g in grants:
        await iam.permission.grant(g)

    fapp, fclasses = flask_app(iams, values["doc"])
    dapp, dclasses, undo = django_app(base, iams, values["doc"])
    servers = {"flask": Served(fapp), "django": Served(dapp)}
    clients = {k: httpx.AsyncClient(base_url=s.url, timeout=30) for k, s in servers.items()}
    try:
        s = WsgiSuite(clients["flask"], iam, users, values, proxies, list(SUITE["secrets"].values()) + [PASSWORD])
        s.clients = clients
        s.classes = {"flask": fclasses, "django": dclasses}
        yield s
    finally:
        for c in clients.values():
            await c.aclose()
        for srv in servers.values():
            srv.close()
        undo()
        for g in grants:
            await iam.permission.revoke(g)
        for u in users.values():
            await iam.identity.for_tenant(u.tenant).delete(u.id)
        for p in proxies.values():
            p.stop()


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("attack", ATTACKS, ids=[a["name"] for a in ATTACKS])
async def test_attack(suite: WsgiSuite, framework: str, attack: dict[str, Any]) -> None:
    setup = attack.get("setup", {})
    text = __import__("json").dumps(attack)
    for name, spec in SUITE["users"].items():
        if spec.get("fresh") and "{" + name + "." in text:
            await login(suite.iam, suite.users[name])
            suite.values.update(suite.users[name].values())
    req = expand(attack["request"], suite.values)
    headers = [(k, v.encode()) for k, v in req["headers"]]
    fault = setup.get("fault")
    if fault:
        suite.proxies[fault["service"]].fault(**{k: v for k, v in fault.items() if k != "service"})
    planted: dict[str, Any] = {}
    if setup.get("pollute"):
        planted = expand(SUITE["pollution"], suite.values)
        POLLUTION.update(planted)
        for cls in suite.classes[framework]:
            for k, v in planted.items():
                setattr(cls, k, v)
    try:
        r = await suite.clients[framework].request(req["method"], req["path"], headers=headers)
        if fault:
            assert suite.proxies[fault["service"]].stats()["requests"] >= 1, "the armed fault was never reached"
    finally:
        if fault:
            suite.proxies[fault["service"]].reset()
        for cls in suite.classes[framework]:
            for k in planted:
                if k in cls.__dict__:
                    delattr(cls, k)
        POLLUTION.clear()
    check(suite, attack, r)


def test_every_class_runs_against_the_blocking_adapters() -> None:
    classes = {a["class"] for a in ATTACKS}
    for c in ("credential precedence", "look-alike cookies", "foreign cookies", "transport", "tenant selection", "keto injection", "subject from the URL", "composition", "outage", "prototype pollution"):
        assert c in classes, c
