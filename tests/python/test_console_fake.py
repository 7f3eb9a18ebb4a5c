"""Self-test of the fake Ory Network console (tests/console/fake_console.py): it keeps state like
the real service and checks requests and responses against the official OpenAPI document — a
valid session records no violation, a request that breaks the document records one."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import threading
import urllib.error
import urllib.request
from typing import Any, Iterator, Optional

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[1] / "console" / "fake_console.py"
_spec = importlib.util.spec_from_file_location("fake_console", _PATH)
assert _spec and _spec.loader
fake_console = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_console)

KEY = "ory_wak_selftest"


@pytest.fixture
def console() -> Iterator[tuple[str, list[str]]]:
    server, violations = fake_console.serve(0, KEY)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", violations
    server.shutdown()


def call(base: str, method: str, path: str, body: Any = None, key: Optional[str] = KEY) -> tuple[int, Any, Any]:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(base + path, method=method, headers=headers, data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None, r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, json.loads(raw) if raw else None, e.headers


def test_state_and_documented_shapes(console: tuple[str, list[str]]) -> None:
    base, violations = console
    assert call(base, "GET", "/workspaces", key="wrong")[0] == 401
    s, w, _ = call(base, "POST", "/workspaces", {"name": "team"})
    assert s == 201 and w["name"] == "team"
    call(base, "POST", "/workspaces", {"name": "second"})
    s, page, _ = call(base, "GET", "/workspaces?page_size=1")
    assert s == 200 and len(page["workspaces"]) == 1 and page["has_next_page"]
    s, page2, _ = call(base, "GET", f"/workspaces?page_size=1&page_token={page['next_page_token']}")
    assert page2["workspaces"][0]["id"] != page["workspaces"][0]["id"] and not page2["has_next_page"]

    s, p, _ = call(base, "POST", "/projects", {"name": "Shop", "environment": "dev", "workspace_id": w["id"]})
    assert s == 201 and p["slug"]
    s, meta, _ = call(base, "GET", "/projects")
    assert meta[0]["hosts"] == [f"{p['slug']}.projects.oryapis.com"]
    assert call(base, "PUT", f"/projects/{p['id']}", {"name": "Shop 2", "services": {}, "cors_admin": {}, "cors_public": {}, "organizations": []})[0] == 200
    s, key, _ = call(base, "POST", f"/projects/{p['id']}/tokens", {"name": "ci"})
    assert s == 201 and key["value"].startswith("ory_pat_")
    s, keys, _ = call(base, "GET", f"/projects/{p['id']}/tokens")
    assert "value" not in keys[0]
    s, stream, _ = call(base, "POST", f"/projects/{p['id']}/eventstreams", {"type": "sns", "topic_arn": "arn:aws:sns:x", "role_arn": "arn:aws:iam::1:role/x"})
    assert s == 201
    assert call(base, "DELETE", f"/projects/{p['id']}/eventstreams/{stream['id']}")[0] == 204
    assert call(base, "DELETE", f"/projects/{p['id']}")[0] == 204
    assert call(base, "GET", f"/projects/{p['id']}")[0] == 404
    assert violations == [], violations


def test_requests_that_break_the_document_are_recorded(console: tuple[str, list[str]]) -> None:
    base, violations = console
    assert call(base, "POST", "/workspaces", {"nom": "x"})[0] == 400
    assert call(base, "POST", "/projects", {"name": 5, "environment": "dev"})[0] == 400
    assert call(base, "GET", "/no-such-thing")[0] == 404
    assert call(base, "GET", "/workspaces", key=None)[0] == 401
    text = "\n".join(violations)
    assert "createWorkspace request.name: required" in text
    assert "createProject request.name" in text
    assert "no such console operation" in text
    assert "no oryWorkspaceApiKey bearer header" in text


def test_injected_faults(console: tuple[str, list[str]]) -> None:
    base, _ = console
    call(base, "POST", "/__fault", {"status": 503, "count": 2, "retry_after": 1})
    s, _, h = call(base, "GET", "/workspaces")
    assert s == 503 and h["Retry-After"] == "1"
    assert call(base, "GET", "/workspaces")[0] == 503
    assert call(base, "GET", "/workspaces")[0] == 200
