"""The HTTP answer for an ory-iam error (issue 18): the shared cases of
tests/scenarios/http_answers.json (also run by core/tests/http_answers.rs and
tests/node/http-answers.test.js) through the native function, through ``ory_iam.http_answer``
with real error objects, and through a Starlette app; plus the tenant's transport read from the
config. No stack needed."""

from __future__ import annotations

import json
import pathlib
from typing import Any, Optional

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import ory_iam
from ory_iam import IamConfigurationError, IamError, IamValidationError, Session, _ory_iam
from ory_iam.errors import (
    IamConflictError,
    IamForbiddenError,
    IamNotFoundError,
    IamUnauthorizedError,
    IamUpstreamUnavailableError,
)
from ory_iam.fastapi import IamAuth, default_roles
from ory_iam.starlette import IamHTTPException, http_exception, install_error_handlers

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = json.loads((ROOT / "tests" / "scenarios" / "http_answers.json").read_text())
CASES = SCENARIOS["cases"]

CLASSES: dict[str, type[IamError]] = {
    "configuration": IamConfigurationError,
    "unauthorized": IamUnauthorizedError,
    "forbidden": IamForbiddenError,
    "not_found": IamNotFoundError,
    "conflict": IamConflictError,
    "validation": IamValidationError,
    "upstream_unavailable": IamUpstreamUnavailableError,
}

# A message no answer may carry (not a secret's shape: the suite's leak scan reads every error).
SECRET_MESSAGE = "upstream-said-do-not-echo"


def error_of(facts: dict[str, Any]) -> IamError:
    cls = CLASSES.get(facts["code"], IamError)
    return cls(
        SECRET_MESSAGE,
        code=facts["code"],
        tenant=facts.get("tenant"),
        request_id=facts.get("request_id"),
        retry_after=facts.get("retry_after"),
        fields=facts.get("fields"),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_native_function(case: dict[str, Any]) -> None:
    status, headers, body = _ory_iam.http_answer(**case["facts"], **case["context"])
    assert (status, headers, body) == (case["status"], case["headers"], case["body"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_http_answer_of_an_error_object(case: dict[str, Any]) -> None:
    ctx = case["context"]
    a = ory_iam.http_answer(
        error_of(case["facts"]),
        transport=ctx.get("transport"),
        realm=ctx.get("realm"),
        bearer_presented=ctx.get("bearer_presented", False),
        required_scopes=ctx.get("required_scopes", ()),
        retry_after_fallback=ctx.get("retry_after_fallback"),
    )
    assert (a.status, a.headers, a.body) == (case["status"], case["headers"], case["body"])
    assert tuple(a) == (case["status"], case["headers"], case["body"])
    assert SECRET_MESSAGE not in json.dumps(a.body) + json.dumps(a.headers)
    exc = http_exception(
        error_of(case["facts"]),
        transport=ctx.get("transport"),
        realm=ctx.get("realm"),
        token_presented=ctx.get("bearer_presented", False),
        retry_after=ctx.get("retry_after_fallback"),
        required_scopes=ctx.get("required_scopes", ()),
    )
    assert (exc.status_code, exc.headers or {}, exc.body) == (case["status"], case["headers"], case["body"])


# Through a Starlette app: the cases a request can express (the realm is the error's tenant,
# scopes belong to require_token).
HTTP_CASES = [c for c in CASES if "realm" not in c["context"] and "required_scopes" not in c["context"]]


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c["name"] for c in HTTP_CASES])
async def test_starlette_handlers_answer_the_same(case: dict[str, Any]) -> None:
    ctx = case["context"]

    async def boom(request: Request) -> Response:
        raise error_of(case["facts"])

    async def boom_http(request: Request) -> Response:
        raise http_exception(
            error_of(case["facts"]),
            transport=ctx.get("transport"),
            token_presented=ctx.get("bearer_presented", False),
            retry_after=ctx.get("retry_after_fallback"),
        )

    app = Starlette(routes=[Route("/boom", boom), Route("/boom-http", boom_http)])
    install_error_handlers(app, transport=ctx.get("transport"), retry_after=ctx.get("retry_after_fallback"))
    headers = {"authorization": "Bearer not-a-real-token"} if ctx.get("bearer_presented") else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as c:
        for path in ("/boom", "/boom-http"):
            r = await c.get(path, headers=headers)
            assert r.status_code == case["status"], path
            assert r.json() == case["body"], path
            for name in ("www-authenticate", "retry-after"):
                assert r.headers.get(name) == case["headers"].get(name), (path, name)
            assert SECRET_MESSAGE not in r.text


def test_roles_of() -> None:
    assert _ory_iam.roles_of(None) == []
    assert _ory_iam.roles_of({"roles": "admin"}) == []
    assert _ory_iam.roles_of({"roles": ["admin", 1, None, {"x": 1}, "billing"]}) == ["admin", "billing"]
    assert _ory_iam.roles_of({"roles": ["a"], "bad": float("nan")}) == []  # not JSON: no roles
    assert _ory_iam.roles_of({"roles": ["a"], "bad": float("nan")}, {"roles": ["b"]}) == []


def test_roles_of_metadata_then_traits_shared_scenarios() -> None:
    """tests/scenarios/roles.json, as Node runs it (issue 23): metadata first, else traits."""
    cases = json.loads((ROOT / "tests" / "scenarios" / "roles.json").read_text())["cases"]
    for case in cases:
        assert _ory_iam.roles_of(case["metadata_public"], case["traits"]) == case["roles"], case["name"]


def test_audit_role_denial_reaches_the_tenant_sink(iam_config: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    cfg = dict(iam_config, audit={"sink": "callback"})
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    iam.audit_role_denial("admin", required_roles=["admin"], actor="identity-1", route="GET /staff", request_id="rid-1")
    (e,) = events
    assert (e["name"], e["result"], e["tenant"], e["actor"], e["request_id"]) == ("authz.role.deny", "denied", "admin", "identity-1", "rid-1")
    assert e["attributes"] == {"roles": ["admin"], "route": "GET /staff"}
    iam.audit_role_denial(required_roles=["x"])
    assert events[-1]["tenant"] == iam.default_tenant and events[-1]["actor"] is None
    with pytest.raises(IamConfigurationError):
        iam.audit_role_denial("nope", required_roles=[])


def test_bad_transport_is_a_validation_error() -> None:
    with pytest.raises(IamValidationError) as e:
        _ory_iam.http_answer("unauthorized", transport="basic")
    assert e.value.fields[0]["path"] == "transport"
    iam = ory_iam.Iam.from_config(config(api="bearer"))
    with pytest.raises(IamValidationError):
        IamAuth(iam, transport="basic")  # type: ignore[arg-type]
    with pytest.raises(IamValidationError):
        install_error_handlers(Starlette(), transport="basic")  # type: ignore[arg-type]


def config(**transports: Optional[str]) -> dict[str, Any]:
    tenants: dict[str, Any] = {}
    for name, t in transports.items():
        tenants[name] = {"kratos": {"public_url": "http://127.0.0.1:9/"}}
        if t is not None:
            tenants[name]["transport"] = t
    return {"tenants": tenants, "default_tenant": next(iter(transports)), "audit": {"sink": "none"}}


def test_transport_of_reads_the_config() -> None:
    iam = ory_iam.Iam.from_config(config(api="bearer", web="cookie", both=None))
    assert iam.transport_of() == "bearer"
    assert [iam.transport_of(t) for t in ("api", "web", "both")] == ["bearer", "cookie", "cookie-or-bearer"]
    with pytest.raises(IamConfigurationError):
        iam.transport_of("nope")


async def test_iam_auth_challenge_follows_the_tenant_transport() -> None:
    """IamAuth reads the tenant's transport; ``transport=`` narrows it (switching a cookie
    tenant to bearer is refused). No credential needs no Kratos, so this runs without the stack."""
    iam = ory_iam.Iam.from_config(config(api="bearer", web="cookie", both=None))
    api, web, web_forced = IamAuth(iam, tenant="api"), IamAuth(iam, tenant="web"), IamAuth(iam, tenant="both", transport="bearer")
    assert (api.transport, web.transport, web_forced.transport) == ("bearer", "cookie", "bearer")
    with pytest.raises(ory_iam.IamConfigurationError):
        IamAuth(iam, tenant="web", transport="bearer")

    app = FastAPI()
    api.install(app)

    @app.get("/api")
    async def api_me(user: Session = Depends(api.current_user)) -> dict[str, Any]:
        return {}

    @app.get("/web")
    async def web_me(user: Session = Depends(web.current_user)) -> dict[str, Any]:
        return {}

    @app.get("/forced")
    async def forced_me(user: Session = Depends(web_forced.current_user)) -> dict[str, Any]:
        return {}

    @app.get("/raw")
    async def raw(request: Request) -> dict[str, Any]:
        await iam.session.for_tenant("web").whoami(request)  # IamError → install(): web's transport
        return {}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as c:
        want = {
            "/api": 'Bearer realm="api"',
            "/web": 'Cookie realm="web"',
            "/forced": 'Bearer realm="both"',
            "/raw": 'Cookie realm="web"',
        }
        for path, challenge in want.items():
            r = await c.get(path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == challenge, path
            assert r.json() == {"statusCode": 401, "error": "unauthorized"}, path


def test_default_roles_and_http_exception_body() -> None:
    class Ident:
        metadata_public: Any = {"roles": ["admin", 3]}
        traits: Any = {"roles": ["owner"]}

    class S:
        identity = Ident()

    assert default_roles(S()) == ["admin"]  # type: ignore[arg-type]
    Ident.metadata_public = {}
    assert default_roles(S()) == []  # type: ignore[arg-type]  # traits never count by default
    e = IamHTTPException(IamNotFoundError("gone", request_id="r-1"), 404)
    assert e.body == {"statusCode": 404, "error": "not_found", "requestId": "r-1"} and e.detail == "not_found"
