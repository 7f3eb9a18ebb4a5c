"""The scenario every blocking framework adapter runs against the real stack (tests/python/
test_flask.py, test_django.py), once through the framework's test client and once over real HTTP
through gunicorn: register → whoami → permission granted/denied → role denied → logout → Kratos
down = 503 (never anonymous), plus concurrent callers. The example apps (examples/flask-app,
examples/django-app) serve the same routes."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Optional

import httpx

from ory_iam.sync import Iam

from conftest import ROOT, register_secret
from test_session import PASSWORD  # noqa: F401 — re-exported for the adapters' tests

sys.path.insert(0, str(ROOT / "tests" / "reliability"))
from proxy import FaultProxy  # noqa: E402

#: (method, path, headers, json body) → (status, lower-case headers, parsed JSON body or None)
Send = Callable[[str, str, dict[str, str], Optional[dict[str, Any]]], tuple[int, dict[str, str], Any]]


def app_config(iam_config: dict[str, Any], kratos_url: str) -> dict[str, Any]:
    """The stack's config with the customer tenant's Kratos behind `kratos_url` (the fault proxy),
    one attempt and no breaker (an armed fault is seen at once), no session cache (every whoami
    asks Kratos, so an outage is seen)."""
    cfg = json.loads(json.dumps(iam_config))
    cfg["tenants"]["customer"]["kratos"]["public_url"] = kratos_url
    cfg["tenants"]["customer"]["http"] = {"timeout_ms": 5000, "retries": 0, "breaker_threshold": 0}
    cfg["session_cache"] = "none"
    cfg["audit"] = {"sink": "none"}
    return cfg


class Stack:
    """A fault proxy in front of the customer Kratos and a config file pointing at it."""

    def __init__(self, iam_config: dict[str, Any]) -> None:
        self.proxy = FaultProxy(iam_config["tenants"]["customer"]["kratos"]["public_url"])
        self.config = app_config(iam_config, self.proxy.url)
        self.dir = tempfile.mkdtemp(prefix="ory-iam-wsgi-")
        self.config_file = os.path.join(self.dir, "iam.json")
        pathlib.Path(self.config_file).write_text(json.dumps(self.config))
        self.iam = Iam.from_config(app_config(iam_config, iam_config["tenants"]["customer"]["kratos"]["public_url"]))

    def close(self) -> None:
        self.iam.close()
        self.proxy.stop()


def run(send: Send, stack: Stack) -> None:
    email = f"py-wsgi-{uuid.uuid4().hex}@example.test"
    register_secret(email)
    status, _, body = send("POST", "/register", {}, {"email": email, "password": PASSWORD})
    assert status == 200, body
    ident, token = body["id"], body["token"]
    register_secret(token)
    auth = {"authorization": f"Bearer {token}"}
    try:
        # whoami
        status, _, body = send("GET", "/me", auth, None)
        assert (status, body["id"]) == (200, ident)
        status, headers, body = send("GET", "/me", {}, None)
        assert status == 401 and body == {"statusCode": 401, "error": "unauthorized"}, body
        assert "www-authenticate" in headers
        status, _, body = send("GET", "/me", {"authorization": "Bearer ory_st_" + "x" * 32}, None)
        assert status == 401 and body["error"] == "unauthorized"
        assert send("GET", "/maybe", {}, None)[2] == {"id": None}
        assert send("GET", "/maybe", auth, None)[2] == {"id": ident}
        # permission: denied, granted, denied again; the subject is the caller
        doc = f"wsgi-{uuid.uuid4().hex}"
        t = {"namespace": "documents", "object": doc, "relation": "view", "subject": ident}
        status, _, body = send("GET", f"/documents/{doc}", auth, None)
        assert status == 403 and body == {"statusCode": 403, "error": "forbidden"}, body
        assert send("GET", f"/documents/{doc}", {}, None)[0] == 401
        stack.iam.permission.grant(t)
        try:
            status, _, body = send("GET", f"/documents/{doc}", auth, None)
            assert status == 200 and body["reader"] == ident, body
        finally:
            stack.iam.permission.revoke(t)
        assert send("GET", f"/documents/{doc}", auth, None)[0] == 403
        # roles come from public metadata only
        assert send("GET", "/admin", auth, None)[0] == 403
        stack.iam.identity.patch(ident, [{"op": "add", "path": "/metadata_public", "value": {"roles": ["admin"]}}])
        assert send("GET", "/admin", auth, None)[0] == 200
        # concurrent callers on one server (one blocking Iam per process)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: send("GET", "/me", auth, None)[:1], range(16)))
        assert statuses == [(200,)] * 16
        # Kratos down: 503 with the core's body, never anonymous
        stack.proxy.fault("reset")
        try:
            for path in ("/me", "/maybe", f"/documents/{doc}"):
                status, _, body = send("GET", path, auth, None)
                assert status == 503 and body["statusCode"] == 503 and body["error"] == "upstream_unavailable", (path, body)
        finally:
            stack.proxy.reset()
        # logout: the token stops working
        assert send("POST", "/logout", auth, None)[0] in (200, 204)
        assert send("GET", "/me", auth, None)[0] == 401
    finally:
        stack.iam.identity.delete(ident)


def http_send(client: httpx.Client) -> Send:
    def send(method: str, path: str, headers: dict[str, str], body: Optional[dict[str, Any]]) -> tuple[int, dict[str, str], Any]:
        r = client.request(method, path, headers=headers, json=body)
        try:
            parsed = r.json()
        except ValueError:
            parsed = None
        return r.status_code, {k.lower(): v for k, v in r.headers.items()}, parsed

    return send


class Gunicorn:
    """gunicorn serving `target` from `chdir` on a Unix socket (started once per test module)."""

    def __init__(self, target: str, chdir: pathlib.Path, env: dict[str, str], args: list[str]) -> None:
        self.dir = tempfile.mkdtemp(prefix="ory-iam-gunicorn-")
        self.sock = os.path.join(self.dir, "app.sock")
        self.log = open(os.path.join(self.dir, "gunicorn.log"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *args, "--bind", f"unix:{self.sock}", "--chdir", str(chdir),
             "--graceful-timeout", "3", "--timeout", "30", target],
            env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(transport=httpx.HTTPTransport(uds=self.sock), base_url="http://app", timeout=30)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, "gunicorn did not start: " + self.output()
            if os.path.exists(self.sock):
                try:
                    self.client.get("/maybe")
                    break
                except httpx.TransportError:
                    pass
            time.sleep(0.05)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:]

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def served(target: str, chdir: pathlib.Path, env: dict[str, str], args: list[str]) -> Iterator[Gunicorn]:
    g = Gunicorn(target, chdir, env, args)
    try:
        yield g
    finally:
        g.close()
