"""X-Request-Id correlation: every Ory call made inside ``request_id_scope`` carries the
request's id (async and blocking API, any service), concurrent tasks and threads keep their own,
and outside a scope (or with an id that must not reach a log line) each request gets a fresh UUID."""

from __future__ import annotations

import asyncio
import copy
import http.server
import re
import threading
import uuid
from typing import Any, Iterator

import pytest

import ory_iam
import ory_iam.sync
from ory_iam import current_request_id, request_id_for, request_id_scope

MISSING = "9f425a8d-7efc-4768-8f23-7647a74fdf13"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class _Capture(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def _answer(self) -> None:
        # Recorded before answering, so a finished call's request is there.
        type(self).seen.append((self.path, self.headers.get("x-request-id", "")))
        body = b'{"error":{"code":404}}'
        self.send_response(404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *a: Any) -> None:
        pass


@pytest.fixture
def captured(iam_config: dict[str, Any]) -> Iterator[tuple[list[tuple[str, str]], dict[str, Any]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    _Capture.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    at = f"http://127.0.0.1:{server.server_address[1]}/"
    iam_config = copy.deepcopy(iam_config)  # the session's config: later modules use it as it is
    t = iam_config["tenants"]["customer"]
    t["kratos"]["admin_url"] = at
    t["kratos"]["public_url"] = at
    t["keto"]["read_url"] = at
    t["hydra"]["admin_url"] = at
    t["http"] = {"retries": 0}
    yield _Capture.seen, iam_config
    server.shutdown()


async def _quiet(aw: Any) -> None:
    try:
        await aw
    except ory_iam.IamError:
        pass


async def test_every_call_in_the_scope_carries_the_id(captured: Any) -> None:
    seen, cfg = captured
    iam = ory_iam.Iam.from_config(cfg)
    rid = "req-7f3a:checkout/42"
    with request_id_scope(rid) as got:
        assert got == rid and current_request_id() == rid
        await _quiet(iam.identity.get(MISSING))
        await asyncio.sleep(0.005)
        await _quiet(iam.permission.check({"namespace": "documents", "object": "doc-1", "relation": "view", "subject": MISSING}))
        await _quiet(iam.oauth2_client.get("some-client"))
        await _quiet(iam.session.whoami({"authorization": "Bearer ory_st_x"}))
        kept = iam.identity.for_tenant("customer")  # a handle made inside is not bound to the scope
        await _quiet(kept.get(MISSING))
    assert [i for _, i in seen] == [rid] * 5, seen
    assert current_request_id() is None
    await _quiet(kept.get(MISSING))
    await _quiet(iam.identity.get(MISSING))
    assert UUID.match(seen[5][1]) and UUID.match(seen[6][1]) and seen[5][1] != seen[6][1]
    await iam.close()


async def test_concurrent_tasks_keep_their_own_ids(captured: Any) -> None:
    seen, cfg = captured
    iam = ory_iam.Iam.from_config(cfg)

    async def one(n: int) -> None:
        with request_id_scope(f"req-{n}"):
            for i in range(3):
                await asyncio.sleep(((n * 7 + i * 3) % 5) / 1000)
                await _quiet(iam.identity.get(f"9f425a8d-7efc-4768-8f23-00000000000{n}"))

    await asyncio.gather(*(one(n) for n in range(1, 7)))
    assert len(seen) == 18
    for path, rid in seen:
        assert rid == f"req-{path[-1]}"
    await iam.close()


def test_blocking_api_and_threads(captured: Any) -> None:
    seen, cfg = captured
    iam = ory_iam.sync.Iam.from_config(cfg)

    def one(n: int) -> None:
        with request_id_scope(f"req-{n}"):
            for _ in range(3):
                try:
                    iam.identity.get(f"9f425a8d-7efc-4768-8f23-00000000000{n}")
                except ory_iam.IamError:
                    pass

    threads = [threading.Thread(target=one, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 24
    for path, rid in seen:
        assert rid == f"req-{path[-1]}"
    iam.close()


@pytest.mark.parametrize("bad", ["", "two words", "a\r\nx-admin: 1", "x" * 201, "café", None])
async def test_an_invalid_incoming_id_is_replaced(captured: Any, bad: Any) -> None:
    seen, cfg = captured
    iam = ory_iam.Iam.from_config(cfg)
    with request_id_scope(bad) as rid:
        await _quiet(iam.identity.get(MISSING))
    assert uuid.UUID(rid) and seen[-1][1] == rid
    assert request_id_for("ok-id") == "ok-id"
    await iam.close()
