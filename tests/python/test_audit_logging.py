"""Audit events and log records reach Python `logging` (sink `log`) and callbacks, redacted."""

from __future__ import annotations

import copy
import json
import logging
import socket
from typing import Any

import ory_iam
from conftest import redis_cache


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_log_sink_goes_to_python_logging(iam_config: dict[str, Any], email: str) -> None:
    cap = Capture()
    logger = logging.getLogger("ory_iam")
    logger.addHandler(cap)
    logger.setLevel(logging.DEBUG)
    try:
        cfg = copy.deepcopy(iam_config)
        cfg["audit"] = {"sink": "log"}
        iam = ory_iam.Iam.from_config(cfg)
        created = await iam.identity.create(schema_id="customer", traits={"email": email})
        await iam.identity.delete(created.id)
        audit = [r for r in cap.records if r.name == "ory_iam.audit"]
        deletes = [r for r in audit if getattr(r, "ory_iam")["event"]["name"] == "identity.delete"]
        assert len(deletes) == 1
        ev = getattr(deletes[0], "ory_iam")["event"]
        assert ev["target_id"] == created.id and ev["tenant"] == "customer"
        assert deletes[0].levelno == logging.INFO
        assert email not in json.dumps([getattr(r, "ory_iam") for r in audit])
        # Failures and denials at WARNING (issue 23): visible under logging's default level.
        assert await iam.session.whoami_or_null({"authorization": "Bearer ory_st_not_a_session_0000"}) is None
        failed = [r for r in cap.records if r.name == "ory_iam.audit" and getattr(r, "ory_iam")["event"]["result"] != "success"]
        assert failed and all(r.levelno == logging.WARNING for r in failed)
        assert "ory_st_not_a_session_0000" not in json.dumps([getattr(r, "ory_iam") for r in failed])
    finally:
        logger.removeHandler(cap)


async def test_cache_trouble_is_logged_not_raised(iam_config: dict[str, Any]) -> None:
    cap = Capture()
    logger = logging.getLogger("ory_iam")
    logger.addHandler(cap)
    logger.setLevel(logging.DEBUG)
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cfg = copy.deepcopy(iam_config)
        cfg["session_cache"] = redis_cache(f"redis://127.0.0.1:{port}/0")
        cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 60000}
        iam = ory_iam.Iam.from_config(cfg)
        assert await iam.session.whoami_or_null({"authorization": "Bearer ory_st_nope"}) is None
        warnings = [r for r in cap.records if r.name == "ory_iam.cache" and r.levelno == logging.WARNING]
        assert warnings, "the unreachable Redis is reported through logging"
        assert "ory_st_nope" not in json.dumps([getattr(r, "ory_iam", None) for r in cap.records] + [r.getMessage() for r in cap.records])
    finally:
        logger.removeHandler(cap)
