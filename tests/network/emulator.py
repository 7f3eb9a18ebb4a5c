#!/usr/bin/env python3
"""A single-host Ory Network project emulator for ory-iam's cloud-mode tests.

Ory Network serves one project's Kratos, Keto and Hydra on one host
(`https://{slug}.projects.oryapis.com` or a custom domain) and guards the admin and permission
APIs with the project API key. This script is that host on loopback, in front of the real
servers of the local stack (`.stack/stack.json`: the customer Kratos, Keto, Hydra), and strict to
the official Network API document (`shared/ory-api/ory-network-client-v1.22.65.json`):

* Routing is generated from the document: every operation whose server is the project host
  (console operations carry their own `servers`, `https://api.console.ory.sh`, and are left to
  tests/console/fake_console.py). A method + path the document does not list answers 404.
* The `oryAccessToken` scheme (HTTP bearer) is enforced on exactly the operations whose
  `security` requires it: `Authorization: Bearer <project API key>`, else 401. The key is not
  forwarded to the servers behind (Ory Network consumes it).
* The project's session cookie is `ory_session_<slug without dashes>`: renamed to and from the
  backend Kratos's cookie, and the backend's own name is dropped from requests, as Ory Network
  does not know it.
* Every request is recorded as one JSON line in `--record`: method, path, operationId, whether
  the document requires the key, the status answered, `key_in` — every place of the request
  where the key occurs (`header:<name>`, `query`, `body`) — and `authorization` (`none`,
  `project-key` or `other`); never the key itself.

Which server behind serves an operation is not in the document (its tags name areas, not
products); the table `BACKENDS` maps tags to the stack's servers. Documented operations with no
server in the stack (`elements`, `ApiKeys`) answer 501 after the key check.

    python3 emulator.py --stack .stack/stack.json --key KEY --slug SLUG --record FILE
    # prints {"port": N, "url": "http://127.0.0.1:N/", "cookie_name": "..."} on its first line

Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pathlib
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

SPEC_NAME = "ory-network-client-v1.22.65.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Tag of an operation → (product, surface) of the stack server that answers it. `None`: no
# such server in the stack. `/admin/...` paths go to the admin surface of Kratos and Hydra.
BACKENDS: dict[str, Optional[str]] = {
    "identity": "kratos", "frontend": "kratos", "courier": "kratos", "metadata": "kratos",
    "relationship": "keto", "permission": "keto",
    "oAuth2": "hydra", "oidc": "hydra", "jwk": "hydra", "wellknown": "hydra",
    "elements": None, "ApiKeys": None,
}


def find_spec() -> pathlib.Path:
    here = pathlib.Path(__file__).resolve()
    for c in (os.environ.get("ORY_IAM_SHARED", ""), str(here.parents[3] / "shared"), "/work/shared"):
        if c and (pathlib.Path(c) / "ory-api" / SPEC_NAME).exists():
            return pathlib.Path(c) / "ory-api" / SPEC_NAME
    raise SystemExit(f"emulator: cannot find ory-api/{SPEC_NAME} (set ORY_IAM_SHARED)")


class Route:
    def __init__(self, method: str, template: str, op: dict[str, Any]) -> None:
        self.method = method.upper()
        self.template = template
        self.operation = op.get("operationId", "")
        security = op.get("security") or []
        # Required when every alternative of the `security` list names the scheme.
        self.key_required = bool(security) and all("oryAccessToken" in alt for alt in security)
        tags = op.get("tags") or []
        self.product = BACKENDS.get(tags[0]) if tags else None
        parts = re.split(r"(\{[^}]+\})", template)
        self.regex = re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + r"\Z")
        self.literal_len = sum(len(p) for p in parts if not p.startswith("{"))


def routes_from(spec: dict[str, Any]) -> list[Route]:
    out = []
    for template, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            # Operations with their own `servers` live elsewhere (the console).
            if op is None or op.get("servers") or item.get("servers"):
                continue
            out.append(Route(method, template, op))
    # Most specific first: `/admin/identities/by/external/{externalID}` before `/admin/identities/{id}`.
    out.sort(key=lambda r: -r.literal_len)
    return out


class Emulator:
    def __init__(self, spec: dict[str, Any], stack: dict[str, Any], key: str, slug: str, record: pathlib.Path):
        self.routes = routes_from(spec)
        self.key = key
        self.cookie_name = "ory_session_" + slug.replace("-", "")
        kratos = stack["kratos"]["customer"]
        self.backend_cookie = kratos["session_cookie_name"]
        self.bases = {
            ("kratos", "public"): kratos["public_url"], ("kratos", "admin"): kratos["admin_url"],
            ("keto", "public"): stack["keto"]["read_url"], ("keto", "admin"): stack["keto"]["write_url"],
            ("hydra", "public"): stack["hydra"]["public_url"], ("hydra", "admin"): stack["hydra"]["admin_url"],
        }
        self.record_path = record
        self.lock = threading.Lock()

    def match(self, method: str, path: str) -> Optional[Route]:
        for r in self.routes:
            if r.method == method and r.regex.match(path):
                return r
        return None

    def target(self, route: Route, path: str) -> tuple[str, str]:
        admin = path.startswith("/admin/")
        base = self.bases[(route.product or "", "admin" if admin or route.operation == "getVersion" else "public")]
        # Kratos's admin port serves its routes under /admin (`/version` is `/admin/version`).
        if route.product == "kratos" and route.operation == "getVersion":
            path = "/admin" + path
        return base, path

    def where_key(self, headers: Any, query: str, body: bytes) -> list[str]:
        found = []
        for name, value in headers.items():
            if self.key in value:
                found.append(f"header:{name.lower()}")
        if self.key in query or self.key in urllib.parse.unquote_plus(query):
            found.append("query")
        if body and (self.key.encode() in body or self.key in urllib.parse.unquote_plus(body.decode("latin-1"))):
            found.append("body")
        return sorted(set(found))

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock, open(self.record_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def request_cookies(self, header: Optional[str]) -> Optional[str]:
        """The project's cookie renamed to the backend's; the backend's own names dropped."""
        if not header:
            return header
        out = []
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name in (self.backend_cookie, "ory_kratos_session"):
                continue
            if name == self.cookie_name:
                name = self.backend_cookie
            out.append(f"{name}={value}")
        return "; ".join(out) if out else None

    def response_cookie(self, value: str) -> str:
        if value.startswith(self.backend_cookie + "="):
            return self.cookie_name + value[len(self.backend_cookie):]
        return value


def make_handler(emu: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: int, reason: str, message: str) -> None:
            # Ory's `errorGeneric` shape.
            self.reply(status, {"error": {"code": status, "status": reason, "message": message}})

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urllib.parse.urlsplit(self.path)
            path, query = url.path, url.query
            route = emu.match(self.command, path)
            entry: dict[str, Any] = {
                "method": self.command, "path": path,
                "operation": route.operation if route else None,
                "key_required": bool(route and route.key_required),
                "key_in": emu.where_key(self.headers, query, body),
                # What Authorization carried, never its value: none, the project key, or other
                # (a session token, client credentials, a wrong key).
                "authorization": ("none" if self.headers.get("Authorization") is None
                                  else "project-key" if self.headers.get("Authorization") == f"Bearer {emu.key}"
                                  else "other"),
            }
            try:
                if route is None:
                    entry["status"] = 404
                    return self.error(404, "Not Found", "no such operation in the Ory Network API document")
                if route.key_required and self.headers.get("Authorization") != f"Bearer {emu.key}":
                    entry["status"] = 401
                    return self.error(401, "Unauthorized", "a valid project API key is required")
                if route.product is None:
                    entry["status"] = 501
                    return self.error(501, "Not Implemented", "not emulated: no such server in the local stack")
                entry["status"] = self.forward(route, path, query, body)
            finally:
                emu.record(entry)

        def forward(self, route: Route, path: str, query: str, body: bytes) -> int:
            base, upstream_path = emu.target(route, path)
            u = urllib.parse.urlsplit(base)
            drop = {"host", "connection", "content-length", "cookie", "accept-encoding"}
            if route.key_required:
                drop.add("authorization")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
            cookie = emu.request_cookies(self.headers.get("Cookie"))
            if cookie:
                headers["Cookie"] = cookie
            if body:
                headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            try:
                conn.request(self.command, upstream_path + (f"?{query}" if query else ""), body=body or None,
                             headers=headers)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    lk = k.lower()
                    if lk in ("transfer-encoding", "connection", "content-length", "keep-alive"):
                        continue
                    self.send_header(k, emu.response_cookie(v) if lk == "set-cookie" else v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return r.status
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    return Handler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stack", default=str(pathlib.Path(__file__).resolve().parents[2] / ".stack" / "stack.json"))
    ap.add_argument("--key", required=True, help="the project API key the host accepts")
    ap.add_argument("--slug", required=True, help="the project slug (names the session cookie)")
    ap.add_argument("--record", required=True, help="file receiving one JSON line per request")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    spec = json.loads(find_spec().read_text())
    stack = json.loads(pathlib.Path(a.stack).read_text())
    record = pathlib.Path(a.record)
    record.write_text("")
    emu = Emulator(spec, stack, a.key, a.slug, record)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(emu))
    server.daemon_threads = True
    port = server.server_address[1]
    print(json.dumps({"port": port, "url": f"http://127.0.0.1:{port}/", "cookie_name": emu.cookie_name}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
