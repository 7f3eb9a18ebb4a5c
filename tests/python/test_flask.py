"""ory_iam.flask against the real stack: examples/flask-app through Flask's test client and served by
gunicorn (`--preload`, 2 workers × `--threads 8`) over real HTTP, each running the scenario of
wsgi_scenario.py; plus the extension's own rules (planted state, subject never from the request,
errors escaping a view, init_app)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
import uuid
from typing import Any, Iterator, Optional

import pytest
from flask import Flask, g

import ory_iam
from ory_iam import IamNotFoundError, Session
from ory_iam.flask import IamFlask, login_required, require_permission
from ory_iam.sync import Iam

from conftest import ROOT
from wsgi_scenario import Gunicorn, Send, Stack, run, served

APP_DIR = ROOT / "examples" / "flask-app"


@pytest.fixture(scope="module")
def wsgi(iam_config: dict[str, Any]) -> Iterator[Stack]:
    s = Stack(iam_config)
    yield s
    s.close()


def load_example(config_file: str, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("ORY_IAM_CONFIG_FILE", config_file)
    monkeypatch.delenv("ORY_IAM_STACK", raising=False)
    spec = importlib.util.spec_from_file_location(f"flask_example_{uuid.uuid4().hex}", APP_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    app: Flask = mod.app
    return app


def client_send(app: Flask) -> Send:
    c = app.test_client()

    def send(method: str, path: str, headers: dict[str, str], body: Optional[dict[str, Any]]) -> tuple[int, dict[str, str], Any]:
        r = c.open(path, method=method, headers=headers, json=body)
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.get_json(silent=True)

    return send


def test_example_app_with_the_test_client(wsgi: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    run(client_send(load_example(wsgi.config_file, monkeypatch)), wsgi)


@pytest.fixture(scope="module")
def gunicorn(wsgi: Stack) -> Iterator[Gunicorn]:
    yield from served("app:app", APP_DIR, {"ORY_IAM_CONFIG_FILE": wsgi.config_file, "ORY_IAM_STACK": ""},
                      ["--preload", "-w", "2", "--threads", "8"])


def test_example_app_served_by_gunicorn_preload_threads(wsgi: Stack, gunicorn: Gunicorn) -> None:
    from wsgi_scenario import http_send

    run(http_send(gunicorn.client), wsgi)


# --- the extension's rules, in process


def small_app(iam: Iam, **options: Any) -> Flask:
    app = Flask(__name__)
    IamFlask(app, iam=iam, tenant="customer", **options)

    @app.get("/me")
    @login_required
    def me() -> Any:
        return {"id": g.iam.session.identity.id}

    @app.get("/lookup/<id>")
    def lookup(id: str) -> Any:
        return {"schema": g.iam.iam.identity.get(id).schema_id}  # IamNotFoundError → 404

    @app.get("/planted")
    @login_required
    def planted() -> Any:
        return {"id": g.iam.session.identity.id}

    return app


def test_errors_escaping_a_view_get_the_cores_answer(wsgi: Stack) -> None:
    c = small_app(wsgi.iam).test_client()
    r = c.get(f"/lookup/{uuid.uuid4()}")
    body = r.get_json()
    assert r.status_code == 404 and (body["statusCode"], body["error"]) == (404, "not_found") and set(body) <= {"statusCode", "error", "requestId"}
    r = c.get("/me", headers={"authorization": "Bearer nope"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_a_planted_session_is_not_a_session(wsgi: Stack) -> None:
    """Another before_request (or a bug) writing g.iam or request attributes must not let a
    request through: the decorators use the session the extension resolved itself."""
    app = small_app(wsgi.iam)

    @app.before_request
    def plant() -> None:
        from flask import request

        g.iam = type("Forged", (), {"session": object(), "user": object()})()
        setattr(request, "ory_iam_session", object())

    r = app.test_client().get("/planted")
    assert r.status_code == 401


def test_a_subject_taken_from_the_request_is_refused_at_construction() -> None:
    with pytest.raises(TypeError):
        require_permission("documents", "view", object="d", subject=lambda session, request: "x")  # type: ignore[arg-type,misc]


def test_init_app_builds_from_app_config_and_fails_early_on_a_bad_tenant(iam_config: dict[str, Any]) -> None:
    app = Flask(__name__)
    app.config["ORY_IAM"] = iam_config
    ext = IamFlask(tenant="admin")
    ext.init_app(app)
    assert IamFlask.guard(app).tenant == "admin"
    with pytest.raises(ory_iam.IamConfigurationError):
        IamFlask(Flask(__name__), iam=IamFlask.guard(app).iam, tenant="no-such-tenant")


def test_decorators_without_the_extension_say_so() -> None:
    app = Flask(__name__)

    @app.get("/x")
    @login_required
    def x() -> Any:
        return {}

    app.testing = True
    with pytest.raises(RuntimeError):
        app.test_client().get("/x")
