#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 proxy for the reliability suite (stdlib only, asyncio).

    python3 tests/reliability/fault_proxy.py --upstream http://127.0.0.1:PORT [--port 0]

prints one line `{"port": N}` on stdout once it listens on 127.0.0.1, then forwards every request
to the upstream server (a real Ory server of the local stack), unless a fault is armed. Control
endpoints live on the same port and are never forwarded or counted:

    POST /__proxy/fault   {"mode": ..., "times": n?, "path": "substring"?, ...}   arm a fault
    POST /__proxy/reset   disarm and zero every counter
    GET  /__proxy/stats   {"requests": n, "by_path": {...}, ...}

`times` = how many matching requests get the fault (default: all until reset); `path` = only
requests whose path contains this substring match (others are forwarded and still counted).

Modes (extra keys in brackets):
    pass            forward (same as no fault)
    status          answer `status` (500) with a JSON error body [retry_after: secs or HTTP date]
    hang            read the request, never answer; the connection stays open until the client
                    closes it (counted in `hang_open` / `hang_closed`)
    drip            200 + Content-Length, then the body one byte every `interval_ms` (200)
    malformed       200 application/json whose body is not JSON
    truncated       the upstream's real answer, cut after half its body, connection closed
    oversize        200 with a `size`-byte JSON body (16 MiB) [content_length: true | false
                    (chunked)]
    content_type    the upstream's real answer with Content-Type `content_type` (text/html)
    missing_fields  200 application/json `body` (default {}) lacking what the client needs
    delay           forward after `delay_ms`
    patch_json      the upstream's real JSON answer with top-level fields replaced by `set`
                    (e.g. `{"expires_in": 2**64 - 1}`: extreme numbers a server may send)
    delay_answer    forward at once, hold the upstream's answer `delay_ms` before sending it (an
                    answer that was true when the server gave it and is stale when it arrives)
    kill            read the request, wait `after_ms` (50), then the whole proxy process exits
                    hard: a server dying mid-request; afterwards the port refuses connections
    reset           read the request, then abort the connection (TCP RST) without answering
    close_after     the upstream's real answer (kept alive as the client asked), then the proxy
                    closes the connection: a server whose idle timeout fires right after
                    answering (counted in `closed_after`)
"""

from __future__ import annotations

import argparse
import asyncio
import http
import json
import os
import resource
import socket
import struct
import sys
import time
import urllib.parse
from typing import Any

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}
MAX_HEAD = 256 * 1024
MODES = {
    "pass",
    "status",
    "hang",
    "drip",
    "malformed",
    "truncated",
    "oversize",
    "content_type",
    "missing_fields",
    "delay",
    "delay_answer",
    "kill",
    "reset",
    "close_after",
    "patch_json",
}
def reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status"


class Closed(Exception):
    """The client went away or the connection must not be reused."""


class State:
    def __init__(self) -> None:
        self.fault: dict[str, Any] | None = None
        self.remaining: int | None = None
        self.zero()

    def zero(self) -> None:
        self.requests = 0
        self.by_path: dict[str, int] = {}
        self.faulted = 0
        self.connections_total = 0
        self.hang_open = 0
        self.hang_closed = 0
        self.last_hang_closed_at: float | None = None
        self.upstream_errors = 0
        self.closed_after = 0

    def take_fault(self, path: str) -> dict[str, Any] | None:
        f = self.fault
        if not f or f["mode"] == "pass":
            return None
        if f.get("path") and f["path"] not in path:
            return None
        if self.remaining is not None:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
        self.faulted += 1
        return f


STATE = State()
OPEN_CONNECTIONS = 0


class Request:
    def __init__(self, method: str, target: str, version: str, headers: list[tuple[str, str]], body: bytes):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path or "/"

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    @property
    def keep_alive(self) -> bool:
        conn = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


async def read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise Closed() from e
    except (asyncio.LimitOverrunError, ConnectionError) as e:
        raise Closed() from e
    lines = raw.decode("latin-1").split("\r\n")
    start = lines[0]
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    return start, headers


async def read_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]], until_eof: bool) -> bytes:
    h = {k.lower(): v for k, v in headers}
    if "chunked" in h.get("transfer-encoding", "").lower():
        out = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, then the empty line.
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                return bytes(out)
            out += await reader.readexactly(size)
            await reader.readexactly(2)
    if "content-length" in h:
        return await reader.readexactly(int(h["content-length"]))
    if until_eof:
        return await reader.read()
    return b""


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    head = await read_head(reader)
    if head is None:
        return None
    start, headers = head
    try:
        method, target, version = start.split(" ", 2)
        body = await read_body(reader, headers, until_eof=False)
    except (ValueError, asyncio.IncompleteReadError, ConnectionError) as e:
        raise Closed() from e
    return Request(method, target, version, headers, body)


def response_bytes(status: int, headers: list[tuple[str, str]], body: bytes, keep_alive: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason(status)}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: " + ("keep-alive" if keep_alive else "close"))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_bytes(status: int, value: object, keep_alive: bool = True) -> bytes:
    return response_bytes(status, [("Content-Type", "application/json")], json.dumps(value).encode(), keep_alive)


class Upstream:
    def __init__(self, url: str):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit("--upstream must be an http:// URL")
        self.host = u.hostname
        self.port = u.port or 80
        self.prefix = u.path.rstrip("/")

    async def forward(self, req: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request on a fresh upstream connection (`Connection: close`); the whole answer."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            lines = [f"{req.method} {self.prefix}{req.target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            for k, v in req.headers:
                if k.lower() in HOP_BY_HOP or k.lower() == "host":
                    continue
                lines.append(f"{k}: {v}")
            lines.append(f"Content-Length: {len(req.body)}")
            lines.append("Connection: close")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + req.body)
            await writer.drain()
            head = await read_head(reader)
            if head is None:
                raise Closed()
            start, headers = head
            status = int(start.split(" ", 2)[1])
            no_body = req.method == "HEAD" or status in (204, 304) or 100 <= status < 200
            body = b"" if no_body else await read_body(reader, headers, until_eof=True)
            kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
            return status, kept, body
        finally:
            writer.close()


async def control(req: Request, writer: asyncio.StreamWriter) -> None:
    action = req.path[len("/__proxy/") :]
    if action == "stats" and req.method == "GET":
        body = {
            "requests": STATE.requests,
            "by_path": STATE.by_path,
            "faulted": STATE.faulted,
            "fault": STATE.fault,
            "remaining": STATE.remaining,
            "connections_total": STATE.connections_total,
            "closed_after": STATE.closed_after,
            "connections_open": OPEN_CONNECTIONS,
            "hang_open": STATE.hang_open,
            "hang_closed": STATE.hang_closed,
            "last_hang_closed_at": STATE.last_hang_closed_at,
            "upstream_errors": STATE.upstream_errors,
            "now": time.time(),
        }
        writer.write(json_bytes(200, body))
    elif action == "reset" and req.method == "POST":
        STATE.fault = None
        STATE.remaining = None
        STATE.zero()
        writer.write(json_bytes(200, {"ok": True}))
    elif action == "fault" and req.method == "POST":
        try:
            f = json.loads(req.body or b"{}")
            if not isinstance(f, dict) or f.get("mode") not in MODES:
                raise ValueError("mode")
        except ValueError:
            writer.write(json_bytes(400, {"error": f"mode must be one of {sorted(MODES)}"}))
        else:
            STATE.fault = f
            times = f.get("times")
            STATE.remaining = int(times) if times is not None else None
            writer.write(json_bytes(200, {"ok": True}))
    else:
        writer.write(json_bytes(404, {"error": "unknown control endpoint"}))
    await writer.drain()


async def hang(reader: asyncio.StreamReader) -> None:
    STATE.hang_open += 1
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    finally:
        STATE.hang_open -= 1
        STATE.hang_closed += 1
        STATE.last_hang_closed_at = time.time()


def abort(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


async def apply(
    f: dict[str, Any], req: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: Upstream
) -> None:
    """Answer `req` according to fault `f`. Raises `Closed` when the connection is finished."""
    mode = f["mode"]
    if mode == "status":
        status = int(f.get("status", 500))
        headers = [("Content-Type", "application/json")]
        if f.get("retry_after") is not None:
            headers.append(("Retry-After", str(f["retry_after"])))
        body = json.dumps({"error": {"code": status, "status": reason(status)}}).encode()
        writer.write(response_bytes(status, headers, body, req.keep_alive))
        await writer.drain()
        return
    if mode == "hang":
        await hang(reader)
        raise Closed()
    if mode == "drip":
        body = json.dumps({"id": "00000000-0000-4000-8000-000000000000", "pad": "x" * 512}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode())
        interval = float(f.get("interval_ms", 200)) / 1000
        for i in range(len(body)):
            if writer.is_closing() or reader.at_eof():
                break
            writer.write(body[i : i + 1])
            await writer.drain()
            await asyncio.sleep(interval)
        raise Closed()
    if mode == "malformed":
        body = b'{"id": "00000000-0000-4000-8000-000000000000", "allowed": tru, nope'
        writer.write(response_bytes(200, [("Content-Type", "application/json")], body, req.keep_alive))
        await writer.drain()
        return
    if mode == "missing_fields":
        body = json.dumps(f.get("body", {})).encode()
        writer.write(response_bytes(200, [("Content-Type", "application/json")], body, req.keep_alive))
        await writer.drain()
        return
    if mode == "oversize":
        size = int(f.get("size", 16 * 1024 * 1024))
        with_length = bool(f.get("content_length", True))
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        head += f"Content-Length: {size}\r\n\r\n" if with_length else "Transfer-Encoding: chunked\r\n\r\n"
        writer.write(head.encode())
        chunk = b'{"pad":"' + b"x" * (65536 - 8)
        sent = 0
        while sent < size:
            part = chunk[: min(len(chunk), size - sent)]
            chunk = b"x" * 65536
            writer.write(part if with_length else b"%x\r\n%b\r\n" % (len(part), part))
            sent += len(part)
            await writer.drain()
        if not with_length:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        raise Closed()
    if mode == "kill":
        await asyncio.sleep(float(f.get("after_ms", 50)) / 1000)
        sys.stdout.flush()
        os._exit(17)
    if mode == "reset":
        abort(writer)
        raise Closed()
    # The modes below start from the real upstream answer.
    if mode == "delay":
        await asyncio.sleep(float(f.get("delay_ms", 1000)) / 1000)
    status, headers, body = await up.forward(req)
    if mode == "delay_answer":
        await asyncio.sleep(float(f.get("delay_ms", 1000)) / 1000)
    if mode == "truncated":
        half = body[: max(1, len(body) // 2)]
        head = f"HTTP/1.1 {status} {reason(status)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers)
        head += f"Content-Length: {max(len(body), 2)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode("latin-1") + half)
        await writer.drain()
        raise Closed()
    if mode == "close_after":
        writer.write(response_bytes(status, headers, body, req.keep_alive))
        await writer.drain()
        STATE.closed_after += 1
        raise Closed()
    if mode == "patch_json":
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            doc.update(f.get("set", {}))
            body = json.dumps(doc).encode()
    if mode == "content_type":
        ctype = str(f.get("content_type", "text/html; charset=utf-8"))
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"] + [("Content-Type", ctype)]
    writer.write(response_bytes(status, headers, body, req.keep_alive))
    await writer.drain()


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: Upstream) -> None:
    global OPEN_CONNECTIONS
    OPEN_CONNECTIONS += 1
    try:
        while True:
            req = await read_request(reader)
            if req is None:
                return
            if req.path.startswith("/__proxy/"):
                await control(req, writer)
            else:
                STATE.requests += 1
                STATE.by_path[req.path] = STATE.by_path.get(req.path, 0) + 1
                f = STATE.take_fault(req.path)
                if f is not None:
                    await apply(f, req, reader, writer, up)
                else:
                    try:
                        status, headers, body = await up.forward(req)
                    except (OSError, Closed, asyncio.IncompleteReadError, ValueError):
                        # The upstream itself is down: say so like a gateway would.
                        STATE.upstream_errors += 1
                        writer.write(json_bytes(502, {"error": "upstream unreachable"}, req.keep_alive))
                    else:
                        writer.write(response_bytes(status, headers, body, req.keep_alive))
                    await writer.drain()
            if not req.keep_alive:
                return
    except (Closed, ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        OPEN_CONNECTIONS -= 1
        if not writer.is_closing():
            writer.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="http://host:port of the real server")
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    up = Upstream(a.upstream)
    # 1,000 concurrent clients each need a client and an upstream socket.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def on_conn(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        STATE.connections_total += 1
        await serve(r, w, up)

    server = await asyncio.start_server(on_conn, "127.0.0.1", a.port, limit=MAX_HEAD, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
