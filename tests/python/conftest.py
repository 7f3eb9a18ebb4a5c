"""Fixtures for the Python tests: the real Ory stack from tests/stack (run `tests/stack/up`)."""

from __future__ import annotations

import json
import os
import pathlib
import uuid
from typing import Any

import pytest

import ory_iam

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _stack() -> dict[str, Any]:
    path = pathlib.Path(os.environ.get("ORY_IAM_STACK", ROOT / ".stack" / "stack.json"))
    if not path.exists():
        raise RuntimeError(f"the tests need the local Ory stack: run tests/stack/up first ({path} missing)")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    return _stack()


@pytest.fixture(scope="session")
def iam_config(stack: dict[str, Any]) -> dict[str, Any]:
    cfg = json.loads(json.dumps(stack["iam_config"]))
    # Audit events go through `logging`, where the leak scan below reads every one of them.
    cfg["audit"] = {"sink": "log"}
    return cfg


@pytest.fixture(scope="session")
def iam(iam_config: dict[str, Any]) -> ory_iam.Iam:
    return ory_iam.Iam.from_config(iam_config)


@pytest.fixture
def email() -> str:
    return f"py-{uuid.uuid4().hex}@example.test"


@pytest.fixture(scope="session")
def scenarios() -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "scenarios" / "identity_errors.json").read_text())


# --- Leak scan: every log record the library emits during the whole run (audit events with the
# default `log` sink, cache warnings) must be free of session tokens, cookies, passwords and
# trait values. The result is printed at the end; a leak fails the run.
import logging
import re

_LEAK_PATTERNS = [
    re.compile(r"ory_st_[A-Za-z0-9]+"),  # session tokens
    re.compile(r"ory_kratos_session_\w+=[^;\s\"]+"),  # session cookies
    re.compile(r"ory_lo_[A-Za-z0-9]+"),  # logout tokens
    re.compile(r"a-Long-and-unique-passphrase-42"),  # the test password
    re.compile(r"[\w.+-]+@example\.test"),  # trait values (test emails)
]


class _LeakScan(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        text = record.getMessage() + json.dumps(getattr(record, "ory_iam", None), default=str)
        for p in _LEAK_PATTERNS:
            m = p.search(text)
            if m:
                self.leaks.append(f"{record.name}: {p.pattern}")


_SCAN = _LeakScan()


def pytest_configure(config: Any) -> None:
    logger = logging.getLogger("ory_iam")
    logger.addHandler(_SCAN)
    logger.setLevel(logging.DEBUG)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    print(f"\nleak scan: {_SCAN.count} log records from ory_iam, {len(_SCAN.leaks)} leaks")
    for leak in _SCAN.leaks[:20]:
        print(f"  LEAK {leak}")
    if _SCAN.leaks:
        session.exitstatus = 1


@pytest.fixture
def cloud_config(stack: dict[str, Any]) -> dict[str, Any]:
    """One cloud tenant pointed at the stack's spec-checking fake console."""
    return {
        "tenants": {
            "cloud": {
                "mode": "cloud",
                "cloud": {"project_slug": "ory-iam-test", "api_key": "ory_pat_ory_iam_test_project_key"},
                "console": {"url": stack["console"]["url"], "workspace_api_key": stack["console"]["workspace_api_key"]},
                "http": {"timeout_ms": 5000, "retries": 2, "backoff_base_ms": 10},
            }
        },
        "audit": {"sink": "log"},
    }
