"""Fixtures for the Python tests: the real Ory stack from tests/stack (run `tests/stack/up`)."""

from __future__ import annotations

import json
import os
import pathlib
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam import IamError

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


# --- Leak scan (issue 8): everything the library logs (ory_iam log records: audit events with the
# `log` sink, warnings), raises (every IamError: str, repr, fields) and audits to callbacks during
# the whole run is scanned for every secret the tests use: keys and tokens from .stack/stack.json
# and the configs, every `Secret` the library hands out (session tokens, cookies, logout tokens,
# courier bodies), emails and passwords registered with `register_secret`, plus patterns for
# their shapes. The count per source is printed and written to .stack/reliability/leaks.json; a
# planted probe proves each source is really scanned; a leak fails the run.
import logging
import re

_LEAK_PATTERNS = [
    re.compile(r"ory_st_[A-Za-z0-9]{8,}"),  # session tokens
    re.compile(r"ory_kratos_session_\w+=[^;\s\"*]+"),  # session cookies
    re.compile(r"ory_session_[a-z0-9]+=[^;\s\"*]+"),  # Ory Network session cookies
    re.compile(r"ory_lo_[A-Za-z0-9]+"),  # logout tokens
    re.compile(r"ory_(?:pat|wak|apikey)_[A-Za-z0-9_]{6,}"),  # Ory Network API keys
    re.compile(r"a-Long-and-unique-passphrase-42"),  # the test password
    re.compile(r"[\w.+-]+@example\.test"),  # trait values (test emails)
]
_SECRET_KEY = re.compile(r"token|secret|api_key|apikey|password|signer_keys", re.I)
_SECRETS: set[str] = {"a-Long-and-unique-passphrase-42", "ory_pat_ory_iam_test_project_key"}
_MAX_TEXT = 1 << 16


def register_secret(value: Any) -> None:
    """Add a value the library must never log, raise or audit (emails, passwords, keys)."""
    if isinstance(value, str) and len(value) >= 6:
        _SECRETS.add(value)
        # A Set-Cookie / Cookie string: its value alone is the secret part.
        m = re.match(r"\s*[^=;\s]+=([^;]{6,})", value)
        if m:
            _SECRETS.add(m.group(1))
    elif isinstance(value, (list, tuple)):
        for v in value:
            register_secret(v)


def _register_config_secrets(v: Any, key: str = "") -> None:
    if isinstance(v, dict):
        for k, x in v.items():
            _register_config_secrets(x, str(k))
    elif isinstance(v, list):
        for x in v:
            _register_config_secrets(x, key)
    elif isinstance(v, str) and _SECRET_KEY.search(key):
        register_secret(v)


class _LeakScan(logging.Handler):
    SOURCES = ("logs", "errors", "audit_callbacks")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: dict[str, list[str]] = {s: [] for s in self.SOURCES}
        # Where each text came from (a log record's logger and level), printed with a leak so a
        # rare one can be traced without printing the text.
        self.labels: dict[str, list[str]] = {s: [] for s in self.SOURCES}

    def collect(self, source: str, text: str, label: str = "") -> None:
        self.texts[source].append(text[:_MAX_TEXT])
        self.labels[source].append(label)

    def emit(self, record: logging.LogRecord) -> None:
        self.collect("logs", record.getMessage() + json.dumps(getattr(record, "ory_iam", None), default=str), f"{record.name} {record.levelname}")

    def hits(self, text: str) -> list[str]:
        out = [p.pattern for p in _LEAK_PATTERNS if p.search(text)]
        out += [f"secret #{sorted(_SECRETS).index(s)} ({len(s)} chars)" for s in _SECRETS if s in text]
        return out

    def scan(self) -> dict[str, dict[str, Any]]:
        res: dict[str, dict[str, Any]] = {}
        for source, texts in self.texts.items():
            leaks = [f"{source}: {h} [{label}]" for t, label in zip(texts, self.labels[source]) for h in self.hits(t)]
            res[source] = {"scanned": len(texts), "leaks": len(leaks), "examples": leaks[:20]}
        return res


_SCAN = _LeakScan()


def _error_text(e: BaseException) -> str:
    details = {k: getattr(e, k, None) for k in ("code", "status", "tenant", "request_id", "retry_after", "fields")}
    return f"{e}\n{e!r}\n{json.dumps(details, default=str)}"


def _wrap_audit(cb: Any) -> Any:
    if cb is None:
        return None

    def audited(event: dict[str, Any]) -> None:
        _SCAN.collect("audit_callbacks", json.dumps(event, default=str))
        cb(event)

    return audited


def _install_leak_hooks() -> None:
    errors_init = IamError.__init__

    def init(self: IamError, *args: Any, **kwargs: Any) -> None:
        errors_init(self, *args, **kwargs)
        _SCAN.collect("errors", _error_text(self))

    IamError.__init__ = init  # type: ignore[method-assign]

    secret_init = ory_iam.Secret.__init__

    def secret(self: ory_iam.Secret, value: str) -> None:
        secret_init(self, value)
        register_secret(value)

    ory_iam.Secret.__init__ = secret  # type: ignore[method-assign]

    for name in ("from_config", "from_file", "from_env"):
        original = getattr(ory_iam.Iam, name).__func__

        def factory(cls: Any, *args: Any, _original: Any = original, audit_callback: Any = None, **kwargs: Any) -> Any:
            if args and isinstance(args[0], dict):
                _register_config_secrets(args[0])
            return _original(cls, *args, audit_callback=_wrap_audit(audit_callback), **kwargs)

        setattr(ory_iam.Iam, name, classmethod(factory))


def _plant_probe() -> bool:
    """Push one fresh secret through each source the way the library would; all must be found."""
    probe = f"leak-probe-{uuid.uuid4().hex}"
    register_secret(probe)
    logging.getLogger("ory_iam.probe").warning("probe %s", probe)
    IamError(f"probe {probe}", code="internal")
    _wrap_audit(lambda event: None)({"name": "probe", "attributes": {"x": probe}})
    found = all(any(probe in t and _SCAN.hits(t) for t in _SCAN.texts[s]) for s in _LeakScan.SOURCES)
    for s in _LeakScan.SOURCES:
        kept = [(t, label) for t, label in zip(_SCAN.texts[s], _SCAN.labels[s]) if probe not in t]
        _SCAN.texts[s] = [t for t, _ in kept]
        _SCAN.labels[s] = [label for _, label in kept]
    _SECRETS.discard(probe)
    return found


def pytest_configure(config: Any) -> None:
    logger = logging.getLogger("ory_iam")
    logger.addHandler(_SCAN)
    logger.setLevel(logging.DEBUG)
    _install_leak_hooks()
    try:
        _register_config_secrets(_stack())
    except RuntimeError:
        pass


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    probe_ok = _plant_probe()
    res = _SCAN.scan()
    total = sum(r["leaks"] for r in res.values())
    counts = ", ".join(f"{r['scanned']} {s}" for s, r in res.items())
    print(f"\nleak scan (python): {counts} scanned for {len(_SECRETS)} secrets + {len(_LEAK_PATTERNS)} patterns: "
          f"{total} leaks; planted probe {'detected' if probe_ok else 'NOT detected'}")
    for r in res.values():
        for leak in r["examples"]:
            print(f"  LEAK {leak}")
    out = ROOT / ".stack" / "reliability" / "leaks.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        doc = json.loads(out.read_text()) if out.exists() else {}
        doc["python"] = {"sources": res, "secrets": len(_SECRETS), "leaks": total, "probe_detected": probe_ok}
        out.write_text(json.dumps(doc, indent=1))
    except (OSError, ValueError):
        pass
    if total or not probe_ok:
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def _register_email(request: Any) -> None:
    # The `email` fixture's value is a trait the library must never echo.
    if "email" in request.fixturenames:
        register_secret(request.getfixturevalue("email"))


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


# This run's Redis session-cache key (base64 of 32 random bytes): every Redis config of the tests
# uses it, so the Iam instances of one run share entries.
REDIS_KEY = __import__("base64").b64encode(os.urandom(32)).decode()
register_secret(REDIS_KEY)


def redis_cache(url: str) -> dict[str, Any]:
    """`session_cache` for the Redis at `url`, with this run's key."""
    return {"redis": {"url": url, "keys": [REDIS_KEY]}}
