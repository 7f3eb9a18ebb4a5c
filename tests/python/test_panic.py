"""No panic crosses the FFI boundary (issue 8): a panic inside the Rust side of a call becomes
`IamError` (code `internal`) — never PanicException, a hung awaitable or a dead interpreter.
Uses the hidden `_debug_panic` of debug (test) builds. Writes .stack/reliability/panic.json."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam import IamError, _ory_iam

from conftest import ROOT

pytestmark = pytest.mark.skipif(not hasattr(_ory_iam, "_debug_panic"), reason="release build: no _debug_panic")
RESULTS: dict[str, Any] = {}


def _record(key: str, value: Any) -> None:
    RESULTS[key] = value
    out = ROOT / ".stack" / "reliability" / "panic.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads(out.read_text())
    except (OSError, ValueError):
        doc = {}
    doc.setdefault("python", {}).update(RESULTS)
    out.write_text(json.dumps(doc, indent=1))


def _outcome(e: BaseException) -> str:
    return f"{type(e).__name__}/{getattr(e, 'code', '-')}"


def test_sync_panic_is_iam_error() -> None:
    with pytest.raises(IamError) as ei:
        _ory_iam._debug_panic("sync")
    assert type(ei.value) is IamError and ei.value.code == "internal"
    assert "deliberate" not in str(ei.value)  # the panic text (which could quote data) is dropped
    _record("sync", _outcome(ei.value))


async def test_async_panic_is_iam_error_and_the_runtime_survives(iam: ory_iam.Iam) -> None:
    for _ in range(3):  # the same runtime threads keep working after each panic
        with pytest.raises(IamError) as ei:
            await _ory_iam._debug_panic("async")
        assert type(ei.value) is IamError and ei.value.code == "internal"
        assert "deliberate" not in str(ei.value)
    with pytest.raises(ory_iam.IamNotFoundError):
        await iam.identity.get(str(uuid.uuid4()))
    _record("async", _outcome(ei.value))
    _record("runtime_alive_after_panics", True)


async def test_a_panic_while_resolving_a_batch_fails_only_its_own_call(iam: ory_iam.Iam) -> None:
    # Results of one loop are resolved together on the loop thread: a panic while building one
    # of them must fail that call alone and leave the others of the same batch resolved.
    missing = str(uuid.uuid4())
    out = await asyncio.wait_for(
        asyncio.gather(
            *[_ory_iam._debug_panic("convert") for _ in range(5)],
            *[iam.identity.get(missing) for _ in range(5)],
            return_exceptions=True,
        ),
        30,
    )
    assert all(type(e) is IamError and e.code == "internal" for e in out[:5]), out
    assert all(isinstance(e, ory_iam.IamNotFoundError) for e in out[5:]), out
    assert not any("deliberate" in str(e) for e in out)
    _record("convert", _outcome(out[0]))


def test_the_process_survives_a_panic() -> None:
    code = (
        "import asyncio, ory_iam\n"
        "from ory_iam import _ory_iam\n"
        "async def main():\n"
        "    try:\n"
        "        await _ory_iam._debug_panic('async')\n"
        "    except ory_iam.IamError as e:\n"
        "        print('caught', e.code)\n"
        "asyncio.run(main())\n"
        "try:\n"
        "    _ory_iam._debug_panic('sync')\n"
        "except ory_iam.IamError as e:\n"
        "    print('caught', e.code)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split("\n")[:2] == ["caught internal", "caught internal"]
    # The panic hook prints where, never what (a panic message could quote a secret).
    assert "deliberate" not in r.stderr and "ory-iam: internal error" in r.stderr
    _record("process_exit_code", r.returncode)
