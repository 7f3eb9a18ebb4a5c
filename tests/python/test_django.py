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
