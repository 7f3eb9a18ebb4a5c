"""ory_iam.django (and its DRF classes) against the real stack: examples/django-app through Django's
test client and served by gunicorn (`--preload`, 2 sync workers) over real HTTP, each running the
scenario of wsgi_scenario.py; plus the DRF views, a class-based view, planted state and the subject
rule. Django is configured once per process: this module owns it."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from typing import Any, Iterator, Optional

import pytest

from conftest import ROOT
from wsgi_scenario import Gunicorn, Send, Stack, http_send, run, served

APP_DIR = ROOT / "examples" / "django-app"


@pytest.fixture(scope="module")
def wsgi(iam_config: dict[str, Any]) -> Iterator[Stack]:
    s = Stack(iam_config)
    yield s
    s.close()


@pytest.fixture(scope="module")
def example(wsgi: Stack) -> Any:
    import os

    os.environ["ORY_IAM_CONFIG_FILE"] = wsgi.config_file
    os.environ.pop("ORY_IAM_STACK", None)
    try:
        spec = importlib.util.spec_from_file_location("django_example_app", APP_DIR / "app.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["django_example_app"] = mod  # ROOT_URLCONF names it
        spec.loader.exec_module(mod)
    finally:
        del os.environ["ORY_IAM_CONFIG_FILE"]
    return mod


def client_send(example: Any) -> Send:
    from django.test import Client

    c = Client()

    def send(method: str, path: str, headers: dict[str, str], body: Optional[dict[str, Any]]) -> tuple[int, dict[str, str], Any]:
        data = json.dumps(body) if body is not None else ""
        r = c.generic(method, path, data=data, content_type="application/json", headers=headers)
        try:
            parsed = json.loads(r.content) if r.content else None
        except ValueError:
            parsed = None
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, parsed

    return send


def test_example_app_with_the_test_client(wsgi: Stack, example: Any) -> None:
    run(client_send(example), wsgi)


@pytest.fixture(scope="module")
def gunicorn(wsgi: Stack) -> Iterator[Gunicorn]:
    yield from served("app:application", APP_DIR, {"ORY_IAM_CONFIG_FILE": wsgi.config_file, "ORY_IAM_STACK": ""},
                      ["--preload", "-w", "2", "-k", "sync"])


def test_example_app_served_by_gunicorn_preload_sync_workers(wsgi: Stack, gunicorn: Gunicorn) -> None:
    run(http_send(gunicorn.client), wsgi)


def drf_and_cbv(send: Send, wsgi: Stack) -> None:
    from wsgi_scenario import PASSWORD

    email = f"py-drf-{uuid.uuid4().hex}@example.test"
    status, _, body = send("POST", "/register", {}, {"email": email, "password": PASSWORD})
    assert status == 200
    ident, auth = body["id"], {"authorization": f"Bearer {body['token']}"}
    try:
        status, _, body = send("GET", "/api/me", auth, None)
        assert (status, body) == (200, {"id": ident, "tenant": "customer"})
        status, headers, body = send("GET", "/api/me", {}, None)
        assert status == 401 and body == {"statusCode": 401, "error": "unauthorized"} and "www-authenticate" in headers, (status, body)
        doc = f"drf-{uuid.uuid4().hex}"
        t = {"namespace": "documents", "object": doc, "relation": "view", "subject": ident}
        for p in (f"/api/documents/{doc}", f"/cbv/documents/{doc}"):
            status, _, body = send("GET", p, auth, None)
            assert status == 403 and body == {"statusCode": 403, "error": "forbidden"}, (p, body)
            assert send("GET", p, {}, None)[0] == 401
        wsgi.iam.permission.grant(t)
        try:
            for p in (f"/api/documents/{doc}", f"/cbv/documents/{doc}"):
                status, _, body = send("GET", p, auth, None)
                assert status == 200 and body["reader"] == ident, (p, body)
        finally:
            wsgi.iam.permission.revoke(t)
        wsgi.proxy.fault("reset")
        try:
            for p in ("/api/me", f"/api/documents/{doc}", f"/cbv/documents/{doc}"):
                status, _, body = send("GET", p, auth, None)
                assert status == 503 and body["error"] == "upstream_unavailable", (p, body)
        finally:
            wsgi.proxy.reset()
    finally:
        wsgi.iam.identity.delete(ident)


def test_drf_and_class_based_views_with_the_test_client(wsgi: Stack, example: Any) -> None:
    drf_and_cbv(client_send(example), wsgi)


def test_drf_and_class_based_views_over_gunicorn(wsgi: Stack, gunicorn: Gunicorn) -> None:
    drf_and_cbv(http_send(gunicorn.client), wsgi)


def test_a_planted_request_attribute_is_not_a_session(wsgi: Stack, example: Any) -> None:
    """Code that sets request.iam (or any attribute) before a view must not let a request
    through: the decorators and mixins use the session the guard resolved itself."""
    from django.test import RequestFactory

    from ory_iam.django import login_required

    @login_required
    def view(request: Any) -> Any:
        from django.http import JsonResponse

        return JsonResponse({"id": "reached"})

    req = RequestFactory().get("/x")
    req.iam = type("Forged", (), {"session": object(), "user": object(), "is_authenticated": True})()
    req.user = req.iam
    r = view(req)
    assert r.status_code == 401 and json.loads(r.content)["error"] == "unauthorized"


def test_a_subject_taken_from_the_request_is_refused_at_construction(example: Any) -> None:
    from ory_iam.django import require_permission

    with pytest.raises(TypeError):
        require_permission("documents", "view", object="d", subject=lambda session, request: "x")  # type: ignore[arg-type,misc]


# --- issue 23: permission semantics, machine principals, roles, health --------------------------------

from test_framework_semantics import NS, Caller, caller, check_correlation, keto_down, kratos_down, t  # noqa: E402,F401


def _settings(iam_config: dict[str, Any], **more: Any) -> Any:
    from django.test.utils import override_settings

    return override_settings(ROOT_URLCONF="django_semantics_urls", ORY_IAM=iam_config, ORY_IAM_TENANT="customer", **more)


def _get(path: str, headers: Optional[dict[str, str]] = None) -> tuple[int, Any]:
    from django.test import Client

    r = Client().get(path, headers=headers or {})
    return r.status_code, (json.loads(r.content) if r.content else None)


def test_permissions_on_one_view_are_anded(example: Any, wsgi: Stack, iam_config: dict[str, Any], caller: Caller) -> None:
    d = f"and-{uuid.uuid4().hex}"
    with _settings(iam_config):
        paths = [f"/both/{d}", f"/cbv/both/{d}", f"/api/both/{d}"]
        assert [_get(p, caller.headers)[0] for p in paths] == [403, 403, 403]
        wsgi.iam.permission.grant(t(d, "view", caller.identity_id))
        try:
            assert [_get(p, caller.headers)[0] for p in paths] == [403, 403, 403]  # view alone
            wsgi.iam.permission.grant(t(d, "edit", caller.identity_id))
            assert [_get(p, caller.headers) for p in paths] == [(200, {"ok": d})] * 3
        finally:
            wsgi.iam.permission.revoke(t(d, "edit", caller.identity_id))
            wsgi.iam.permission.revoke(t(d, "view", caller.identity_id))


def test_subject_mappers_and_machine_principals(example: Any, wsgi: Stack, iam_config: dict[str, Any], caller: Caller) -> None:
    d = f"subj-{uuid.uuid4().hex}"
    grants = [t(d, "view", f"user:{caller.identity_id}"), t(d, "view", f"client:{caller.client_id}")]
    for g in grants:
        wsgi.iam.permission.grant(g)
    try:
        with _settings(iam_config):
            assert _get(f"/nest/view/{d}", caller.headers) == (200, {"id": caller.identity_id})
            assert _get(f"/view/{d}", caller.headers)[0] == 403  # default: the bare id
            assert _get(f"/nest/machine/view/{d}", caller.machine) == (200, {"client_id": caller.client_id})
            assert _get(f"/machine/view/{d}", caller.machine)[0] == 403
            assert _get(f"/api/machine/view/{d}", caller.machine)[0] == 403
            assert _get(f"/machine/view/{d}")[0] == 401
        # The settings' mappers, by dotted path or as callables.
        with _settings(iam_config, ORY_IAM_SUBJECT="django_semantics_urls.keto_subject", ORY_IAM_MACHINE_SUBJECT=lambda c: f"client:{c}"):
            assert _get(f"/view/{d}", caller.headers) == (200, {"id": caller.identity_id})
            assert _get(f"/machine/view/{d}", caller.machine) == (200, {"client_id": caller.client_id})
            assert _get(f"/api/machine/view/{d}", caller.machine) == (200, {"client_id": caller.client_id})
    finally:
        for g in grants:
            wsgi.iam.permission.revoke(g)


def test_object_resolving_to_nothing_is_400_and_keto_is_not_asked(example: Any, iam_config: dict[str, Any], caller: Caller) -> None:
    # Keto unreachable: asking it would be a 503.
    with _settings(keto_down(iam_config)):
        for path in ("/query-doc", "/query-doc?doc=", "/api/query-doc", "/api/query-doc?doc="):
            status, body = _get(path, caller.headers)
            assert status == 400 and body["error"] == "validation" and [f["path"] for f in body["fields"]] == ["object"], (path, body)


def test_machine_scopes_are_roles_and_denials_are_audited(example: Any, iam_config: dict[str, Any], caller: Caller, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with _settings(iam_config):
        assert _get("/machine/admin", caller.machine_admin) == (200, {"client_id": caller.client_id})
        assert _get("/api/machine/admin", caller.machine_admin) == (200, {"client_id": caller.client_id})
        with caplog.at_level(logging.INFO, logger="ory_iam.audit"):
            assert _get("/machine/admin", caller.machine)[0] == 403
            assert _get("/api/machine/admin", caller.machine)[0] == 403
            assert _get("/admin", caller.headers)[0] == 403
    denials = [r for r in caplog.records if r.name == "ory_iam.audit" and r.getMessage() == "authz.role.deny"]
    assert [(r.levelno, r.ory_iam["event"]["actor"], r.ory_iam["event"]["result"]) for r in denials] == [  # type: ignore[attr-defined]
        (logging.WARNING, caller.client_id, "denied"),
        (logging.WARNING, caller.client_id, "denied"),
        (logging.WARNING, caller.identity_id, "denied"),
    ]


def test_health_view(example: Any, iam_config: dict[str, Any]) -> None:
    with _settings(iam_config):
        status, body = _get("/health")
        assert status == 200 and body["status"] == "up" and body["tenants"]["customer"]["kratos-public"] == "up"
    with _settings(kratos_down(iam_config)):
        status, body = _get("/health")
        assert status == 503 and body["status"] == "down" and body["tenants"]["customer"]["kratos-public"] == "down"
        assert "127.0.0.1" not in json.dumps(body)


def test_request_id_reaches_every_ory_call(example: Any, iam_config: dict[str, Any], caller: Caller, caplog: pytest.LogCaptureFixture) -> None:
    from django.test import Client

    def send(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        r = Client().get(path, headers=headers)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, json.loads(r.content)

    with _settings(iam_config):
        check_correlation(send, caller, caplog)
