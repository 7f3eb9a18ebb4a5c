#!/usr/bin/env python3
"""A fake Ory Network console (control plane) for ory-iam's tests — the one permitted fake: no
open-source server exists for it.

It serves the console operations of the official OpenAPI document
(`shared/ory-api/ory-network-client-v1.22.65.json`, the operations whose server is
`https://api.console.ory.sh`) from in-memory state, and checks **every request it receives and
every response it sends** against that document: path and method, the `oryWorkspaceApiKey`
bearer header, request bodies and response bodies (types, required fields, enums, `$ref`,
`allOf`/`oneOf`). Each mismatch is recorded; tests read them from `GET /__violations` and fail
on any. A request that breaks the document is answered 400 (and recorded).

Test controls (not part of the document): `POST /__fault {"status": 503, "count": 2,
"retry_after": 1}` makes the next `count` requests answer `status`; `GET /__violations`.

    python3 fake_console.py [--port N] [--key KEY]   # prints "listening on http://127.0.0.1:N"
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import threading
import urllib.parse
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

CONSOLE_SERVER = "https://api.console.ory.sh"
SPEC_NAME = "ory-network-client-v1.22.65.json"


def find_spec() -> pathlib.Path:
    here = pathlib.Path(__file__).resolve()
    candidates = [os.environ.get("ORY_IAM_SHARED", ""), str(here.parents[3] / "shared"), "/work/shared"]
    for c in candidates:
        if c and (pathlib.Path(c) / "ory-api" / SPEC_NAME).exists():
            return pathlib.Path(c) / "ory-api" / SPEC_NAME
    raise SystemExit(f"fake_console: cannot find ory-api/{SPEC_NAME} (set ORY_IAM_SHARED)")


class Validator:
    """The subset of OpenAPI 3 schema validation the console document uses."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas = spec["components"]["schemas"]

    def resolve(self, s: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in s:
            s = self.schemas[s["$ref"].rsplit("/", 1)[1]]
        return s

    def check(self, v: Any, schema: dict[str, Any], at: str, out: list[str], request: bool = False) -> None:
        s = self.resolve(schema)
        if v is None:
            if not s.get("nullable") and s.get("type") not in (None, "null"):
                out.append(f"{at}: null where {s.get('type')} is expected")
            return
        for sub in s.get("allOf", []):
            self.check(v, sub, at, out, request)
        for key in ("oneOf", "anyOf"):
            if key in s:
                if not any(not self._errors(v, alt, at, request) for alt in s[key]):
                    out.append(f"{at}: matches none of {key}")
        t = s.get("type")
        ok = {
            "object": isinstance(v, dict),
            "array": isinstance(v, list),
            "string": isinstance(v, str),
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": isinstance(v, bool),
        }
        if t in ok and not ok[t]:
            out.append(f"{at}: {type(v).__name__} where {t} is expected")
            return
        if "enum" in s and v not in s["enum"]:
            out.append(f"{at}: {v!r} is not one of the documented values")
        if t == "string" and s.get("format") == "uuid" and not re.fullmatch(r"[0-9a-fA-F-]{36}", v):
            out.append(f"{at}: not a uuid")
        if isinstance(v, dict):
            props = s.get("properties", {})
            for r in s.get("required", []):
                if r not in v and not (request and self.resolve(props.get(r, {})).get("readOnly")):
                    out.append(f"{at}.{r}: required")
            for k, x in v.items():
                if k in props:
                    self.check(x, props[k], f"{at}.{k}", out, request)
                elif isinstance(s.get("additionalProperties"), dict):
                    self.check(x, s["additionalProperties"], f"{at}.{k}", out, request)
        if isinstance(v, list) and "items" in s:
            for i, x in enumerate(v):
                self.check(x, s["items"], f"{at}[{i}]", out, request)

    def _errors(self, v: Any, schema: dict[str, Any], at: str, request: bool) -> list[str]:
        out: list[str] = []
        self.check(v, schema, at, out, request)
        return out


class Operation:
    def __init__(self, method: str, template: str, op: dict[str, Any]) -> None:
        self.method = method.upper()
        self.template = template
        self.op = op
        self.id = op.get("operationId", "")
        self.regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Console:
    """In-memory state behind the documented operations."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.lock = threading.Lock()
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, dict[str, Any]] = {}
        self.project_keys: dict[str, dict[str, dict[str, Any]]] = {}
        self.workspace_keys: dict[str, dict[str, dict[str, Any]]] = {}
        self.streams: dict[str, dict[str, dict[str, Any]]] = {}

    @staticmethod
    def err(status: int, reason: str) -> tuple[int, Any]:
        return status, {"error": {"code": status, "status": {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}.get(status, "Error"), "message": reason}}

    def metadata(self, p: dict[str, Any]) -> dict[str, Any]:
        keys = ["id", "hosts", "slug", "state", "created_at", "updated_at", "name", "environment", "home_region", "workspace_id"]
        return {k: p[k] for k in keys if k in p}

    def project(self, p: dict[str, Any]) -> dict[str, Any]:
        keys = ["id", "revision_id", "slug", "services", "state", "name", "environment", "home_region", "organizations", "workspace_id", "cors_admin", "cors_public"]
        return {k: p[k] for k in keys if k in p}

    @staticmethod
    def page(items: list[Any], q: dict[str, str]) -> tuple[list[Any], Optional[str]]:
        size = int(q.get("page_size", "250"))
        start = int(q.get("page_token") or 0)
        chunk = items[start : start + size]
        nxt = str(start + size) if start + size < len(items) else None
        return chunk, nxt

    def handle(self, op: str, params: dict[str, str], q: dict[str, str], body: Any) -> tuple[int, Any]:
        with self.lock:
            return self._handle(op, params, q, body)

    def _handle(self, op: str, p: dict[str, str], q: dict[str, str], body: Any) -> tuple[int, Any]:
        if op == "listWorkspaces":
            items, nxt = self.page(sorted(self.workspaces.values(), key=lambda w: w["created_at"]), q)
            return 200, {"workspaces": items, "next_page_token": nxt or "", "has_next_page": nxt is not None}
        if op == "createWorkspace":
            w = {"id": str(uuid.uuid4()), "name": body["name"], "created_at": now(), "updated_at": now()}
            self.workspaces[w["id"]] = w
            return 201, w
        if op in ("getWorkspace", "updateWorkspace", "listWorkspaceProjects", "listWorkspaceApiKeys", "createWorkspaceApiKey", "deleteWorkspaceApiKey"):
            w = self.workspaces.get(p["workspace"])
            if w is None:
                return self.err(404, "workspace not found")
            keys = self.workspace_keys.setdefault(w["id"], {})
            if op == "getWorkspace":
                return 200, w
            if op == "updateWorkspace":
                w.update({k: v for k, v in body.items() if k in ("name",)}, updated_at=now())
                return 200, w
            if op == "listWorkspaceProjects":
                ps = [self.metadata(x) for x in self.projects.values() if x.get("workspace_id") == w["id"]]
                return 200, {"projects": ps, "next_page": "", "has_next_page": False}
            if op == "listWorkspaceApiKeys":
                return 200, [{k: v for k, v in x.items() if k != "value"} for x in keys.values()]
            if op == "createWorkspaceApiKey":
                value = f"ory_wak_{uuid.uuid4().hex}"
                k = {"id": str(uuid.uuid4()), "name": body["name"], "owner_id": str(uuid.uuid4()), "workspace_id": w["id"], "created_at": now(), "updated_at": now(), "last_characters": value[-4:], "value": value}
                keys[k["id"]] = k
                return 201, k
            if keys.pop(p["token_id"], None) is None:
                return self.err(404, "key not found")
            return 204, None
        if op == "listProjects":
            return 200, [self.metadata(x) for x in self.projects.values()]
        if op == "createProject":
            pid = str(uuid.uuid4())
            slug = f"{re.sub(r'[^a-z0-9]+', '-', body['name'].lower()).strip('-') or 'project'}-{pid[:6]}"
            if body.get("workspace_id") and body["workspace_id"] not in self.workspaces:
                return self.err(404, "workspace not found")
            proj = {
                "id": pid, "revision_id": str(uuid.uuid4()), "slug": slug, "services": {}, "state": "running",
                "name": body["name"], "environment": body["environment"], "home_region": body.get("home_region", "eu-central"),
                "organizations": [], "workspace_id": body.get("workspace_id"),
                "hosts": [f"{slug}.projects.oryapis.com"], "created_at": now(), "updated_at": now(),
            }
            if proj["workspace_id"] is None:
                del proj["workspace_id"]
            self.projects[pid] = proj
            return 201, self.project(proj)
        if op in ("getProject", "setProject", "patchProject", "purgeProject", "getProjectMembers", "listProjectApiKeys", "createProjectApiKey", "deleteProjectApiKey", "listEventStreams", "createEventStream", "setEventStream", "deleteEventStream"):
            proj = self.projects.get(p.get("project_id") or p.get("project", ""))
            if proj is None:
                return self.err(404, "project not found")
            if op == "getProject":
                return 200, self.project(proj)
            if op == "setProject":
                proj.update({k: v for k, v in body.items() if k in ("name", "services", "cors_admin", "cors_public")}, revision_id=str(uuid.uuid4()), updated_at=now())
                return 200, {"project": self.project(proj), "warnings": []}
            if op == "patchProject":
                for change in body if isinstance(body, list) else []:
                    if change.get("op") in ("replace", "add") and change.get("path") == "/name":
                        proj["name"] = change.get("value")
                proj.update(revision_id=str(uuid.uuid4()), updated_at=now())
                return 200, {"project": self.project(proj), "warnings": []}
            if op == "purgeProject":
                del self.projects[proj["id"]]
                return 204, None
            if op == "getProjectMembers":
                return 200, []
            keys = self.project_keys.setdefault(proj["id"], {})
            if op == "listProjectApiKeys":
                return 200, [{k: v for k, v in x.items() if k != "value"} for x in keys.values()]
            if op == "createProjectApiKey":
                value = f"ory_pat_{uuid.uuid4().hex}"
                k = {"id": str(uuid.uuid4()), "name": body["name"], "owner_id": str(uuid.uuid4()), "project_id": proj["id"], "created_at": now(), "updated_at": now(), "last_characters": value[-4:], "value": value}
                keys[k["id"]] = k
                return 201, k
            if op == "deleteProjectApiKey":
                return (204, None) if keys.pop(p["token_id"], None) is not None else self.err(404, "key not found")
            streams = self.streams.setdefault(proj["id"], {})
            if op == "listEventStreams":
                return 200, {"event_streams": list(streams.values())}
            if op == "createEventStream":
                if streams:
                    # One stream per project (the documented 409).
                    return 409, {"error": {"code": 409, "status": "Conflict", "message": "the project already has an event stream"}}
                s = {"id": str(uuid.uuid4()), "type": body["type"], "created_at": now(), "updated_at": now()}
                s.update({k: body[k] for k in ("topic_arn", "role_arn", "https_endpoint", "status") if k in body})
                streams[s["id"]] = s
                return 201, s
            s = streams.get(p["event_stream_id"])
            if s is None:
                return 400, {"error": {"code": 400, "message": "event stream not found"}}
            if op == "setEventStream":
                s.update({k: body[k] for k in ("type", "topic_arn", "role_arn", "https_endpoint", "status") if k in body}, updated_at=now())
                return 200, s
            del streams[s["id"]]
            return 204, None
        return 501, {"error": {"code": 501, "message": f"{op} is not implemented by the fake console"}}


def make_handler(spec: dict[str, Any], console: Console, violations: list[str]) -> type[BaseHTTPRequestHandler]:
    v = Validator(spec)
    ops: list[Operation] = []
    for template, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and any(s.get("url") == CONSOLE_SERVER for s in op.get("servers", [])):
                ops.append(Operation(method, template, op))
    faults = {"status": 0, "count": 0, "retry_after": None}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def send(self, status: int, body: Any, headers: Optional[dict[str, str]] = None) -> None:
            raw = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for k, val in (headers or {}).items():
                self.send_header(k, val)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def dispatch(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if url.path == "/__violations":
                return self.send(200, list(violations))
            if url.path == "/__fault":
                faults.update(json.loads(raw or b"{}"))
                return self.send(200, faults)
            match = next(((o, m) for o in ops if o.method == self.command for m in [o.regex.match(url.path)] if m), None)
            if match is None:
                violations.append(f"{self.command} {url.path}: no such console operation in the document")
                return self.send(404, {"error": {"code": 404, "message": "no such operation"}})
            op, m = match
            where = f"{op.id} request"
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                violations.append(f"{where}: no oryWorkspaceApiKey bearer header")
            if faults["count"] > 0:
                faults["count"] -= 1
                extra = {"Retry-After": str(faults["retry_after"])} if faults.get("retry_after") is not None else None
                return self.send(int(faults["status"]), {"error": {"code": faults["status"], "message": "injected fault"}}, extra)
            if auth != f"Bearer {console.key}":
                status, body = Console.err(401, "invalid workspace API key")
                return self.reply(op, status, body)
            body: Any = None
            rb = op.op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    violations.append(f"{where}: body is not JSON")
                    return self.send(400, {"error": {"code": 400, "message": "body is not JSON"}})
            if rb is not None:
                problems: list[str] = []
                if body is None and op.op.get("requestBody", {}).get("required"):
                    problems.append(f"{where}: body required")
                elif body is not None:
                    v.check(body, rb, where, problems, request=True)
                if problems:
                    violations.extend(problems)
                    return self.send(400, {"error": {"code": 400, "message": "; ".join(problems)}})
            for prm in op.op.get("parameters", []):
                if prm.get("in") == "query" and prm["name"] in q:
                    sch = v.resolve(prm.get("schema", {}))
                    if sch.get("type") == "integer" and not re.fullmatch(r"-?\d+", q[prm["name"]]):
                        violations.append(f"{where}: query {prm['name']} is not an integer")
            status, out = console.handle(op.id, m.groupdict(), q, body)
            self.reply(op, status, out)

        def reply(self, op: Operation, status: int, body: Any) -> None:
            responses = op.op.get("responses", {})
            doc = responses.get(str(status)) or responses.get("default")
            where = f"{op.id} response {status}"
            if doc is None:
                violations.append(f"{where}: status not documented")
            else:
                sch = doc.get("content", {}).get("application/json", {}).get("schema")
                if sch is None and body is not None:
                    violations.append(f"{where}: a body where none is documented")
                elif sch is not None:
                    v.check(body, sch, where, violations)
            self.send(status, body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch

    return Handler


def serve(port: int, key: str) -> tuple[ThreadingHTTPServer, list[str]]:
    spec = json.loads(find_spec().read_text())
    violations: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(spec, Console(key), violations))
    return server, violations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--key", default="ory_wak_test_console_key")
    args = ap.parse_args()
    server, _ = serve(args.port, args.key)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
