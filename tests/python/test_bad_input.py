"""Bad input (issue 8): every public method fed wrong types, empty, 1 MiB and malformed values
fails with the typed error of API.md and sends no request; bad configs are refused at
construction; nothing is written half-way (checked against the real stack).

The cases live in tests/scenarios/bad_input.json, shared with tests/node/bad-input.test.js. The
Iam under test points every Ory URL at the fault proxy (tests/reliability/fault_proxy.py), whose
request counter proves that no locally invalid call reached the network.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam import IamConfigurationError, IamError, IamValidationError

from conftest import ROOT, register_secret

sys.path.insert(0, str(ROOT / "tests" / "reliability"))
from proxy import FaultProxy  # noqa: E402

SCENARIOS = json.loads((ROOT / "tests" / "scenarios" / "bad_input.json").read_text())
HUGE = "a" * (1 << 20)
REPORT = ROOT / ".stack" / "reliability" / "bad_input.json"
CLOUD_KEY = "ory_pat_bad_input_project_key"
WORKSPACE_KEY = "ory_wak_bad_input_workspace_key"


def expand(v: Any) -> Any:
    if isinstance(v, str):
        return v.replace("$huge", HUGE)
    if isinstance(v, list):
        return [expand(x) for x in v]
    if isinstance(v, dict):
        return {k: expand(x) for k, x in v.items()}
    return v


@pytest.fixture(scope="module")
def proxy(stack: dict[str, Any]) -> Any:
    with FaultProxy(stack["iam_config"]["tenants"]["customer"]["kratos"]["admin_url"]) as p:
        yield p


def proxied_config(stack: dict[str, Any], url: str) -> dict[str, Any]:
    """The stack's customer tenant and an Ory Network tenant, every URL pointed at `url`."""
    customer = copy.deepcopy(stack["iam_config"]["tenants"]["customer"])
    for product in ("kratos", "keto", "hydra"):
        for k in list(customer[product]):
            if k.endswith("_url"):
                customer[product][k] = url
    # One attempt, short timeout: a case that wrongly sends a request fails fast.
    customer["http"] = {"timeout_ms": 2000, "retries": 0}
    register_secret(CLOUD_KEY)
    register_secret(WORKSPACE_KEY)
    cloud = {
        "mode": "cloud",
        "cloud": {"project_slug": "bad-input", "api_key": CLOUD_KEY},
        "console": {"url": url, "workspace_api_key": WORKSPACE_KEY},
        "http": {"timeout_ms": 2000, "retries": 0},
    }
    return {"default_tenant": "customer", "tenants": {"customer": customer, "cloud": cloud}, "audit": {"sink": "log"}}


def write_report(lang: str, section: dict[str, Any]) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads(REPORT.read_text())
    except (OSError, ValueError):
        doc = {}
    doc[lang] = section
    doc["cases"] = sum(s["cases"] for k, s in doc.items() if isinstance(s, dict) and "cases" in s)
    doc["passed"] = sum(s["passed"] for k, s in doc.items() if isinstance(s, dict) and "passed" in s)
    doc["failed"] = sum(s["failed"] for k, s in doc.items() if isinstance(s, dict) and "failed" in s)
    REPORT.write_text(json.dumps(doc, indent=1))


async def run_case(iam: ory_iam.Iam, case: dict[str, Any], proxy: FaultProxy) -> str | None:
    """None when the case behaves; otherwise what went wrong."""
    before = proxy.stats()["requests"]
    problem: str | None = None
    try:
        svc = getattr(iam, case["service"])
        if case.get("tenant"):
            svc = svc.for_tenant(case["tenant"])
        if case.get("iterate"):
            out = None
            async for out in getattr(svc, case["call"])(*expand(case["args"])):
                break
        else:
            out = await getattr(svc, case["call"])(*expand(case["args"]))
        if not case.get("returns_null"):
            problem = f"returned {type(out).__name__}, expected {case['code']}"
        elif out is not None:
            problem = f"returned {type(out).__name__}, expected None"
    except IamError as e:
        if case.get("returns_null"):
            problem = f"raised {e.code}, expected None"
        elif e.code != case["code"]:
            problem = f"raised {e.code}, expected {case['code']}"
        elif len(str(e)) > 4096 or HUGE[:256] in repr(e):
            problem = "the error echoes the input"
    except BaseException as e:  # noqa: BLE001 - TypeError, PanicException…: all are bugs here
        problem = f"raised {type(e).__name__}, not IamError"
    sent = proxy.stats()["requests"] - before
    if sent:
        problem = f"{problem or 'ok'}; sent {sent} request(s)"
    return problem


async def test_bad_input_sweep(stack: dict[str, Any], proxy: FaultProxy) -> None:
    iam = ory_iam.Iam.from_config(proxied_config(stack, proxy.url))
    t0 = time.monotonic()
    failures: list[tuple[str, str]] = []
    for case in SCENARIOS["cases"]:
        problem = await run_case(iam, case, proxy)
        if problem:
            failures.append((case["name"], problem))
    for case in SCENARIOS["configs"]:
        before = proxy.stats()["requests"]
        try:
            ory_iam.Iam.from_config(expand(case["config"]))
            failures.append((case["name"], "config accepted"))
        except IamConfigurationError:
            pass
        except BaseException as e:  # noqa: BLE001
            failures.append((case["name"], f"raised {type(e).__name__}"))
        if proxy.stats()["requests"] != before:
            failures.append((case["name"], "config construction sent a request"))
    total = len(SCENARIOS["cases"]) + len(SCENARIOS["configs"])
    sent = proxy.stats()["requests"]
    print(f"\nbad input (python): {total} cases, {total - len(failures)} passed, {len(failures)} failed, "
          f"{sent} requests reached the proxy, {time.monotonic() - t0:.1f}s")
    for name, problem in failures:
        print(f"  FAIL {name}: {problem}")
    write_report("python", {"cases": total, "passed": total - len(failures), "failed": len(failures),
                            "requests_sent": sent, "failures": [f"{n}: {p}" for n, p in failures]})
    assert not failures


async def test_the_proxy_counts_requests(stack: dict[str, Any], proxy: FaultProxy) -> None:
    """The sweep's 'no request sent' is only meaningful if a valid call through the same Iam is
    counted."""
    iam = ory_iam.Iam.from_config(proxied_config(stack, proxy.url))
    before = proxy.stats()["requests"]
    with pytest.raises(ory_iam.IamNotFoundError):
        await iam.identity.get(str(uuid.uuid4()))
    assert proxy.stats()["requests"] == before + 1


async def test_wrong_python_types(iam: ory_iam.Iam) -> None:
    """Types JSON cannot express are validation errors too, raised before any request."""
    for bad in (object(), b"bytes", 1.5, {1, 2}):
        with pytest.raises(IamValidationError):
            await iam.identity.get(bad)  # type: ignore[arg-type]
        with pytest.raises(IamValidationError):
            await iam.identity.create(schema_id="customer", traits={"email": bad})
        with pytest.raises(IamValidationError):
            await iam.permission.check({"namespace": "documents", "object": bad, "relation": "viewer", "subject_id": "u"})


# --- Nothing written half-way (real Kratos) ---------------------------------------------------


async def test_rejected_create_leaves_no_identity(iam: ory_iam.Iam, email: str) -> None:
    register_secret(email)
    # Kratos rejects the schema violation (an unknown trait) with 400: nothing may be stored, so
    # the same email can then be registered without a conflict.
    with pytest.raises(IamValidationError) as ei:
        await iam.identity.create(schema_id="customer", traits={"email": email, "shoe_size": 44})
    assert ei.value.status == 400
    ident = await iam.identity.create(schema_id="customer", traits={"email": email})
    await iam.identity.delete(ident.id)


async def test_patch_with_one_bad_op_changes_nothing(iam: ory_iam.Iam, email: str) -> None:
    register_secret(email)
    ident = await iam.identity.create(schema_id="customer", traits={"email": email, "roles": ["a"]}, metadata_public={"v": 1})
    try:
        new_email = f"moved-{email}"
        register_secret(new_email)
        good = {"op": "replace", "path": "/metadata_public/v", "value": 2}
        # Refused locally (the second op touches /schema_id): no request, nothing changes.
        with pytest.raises(IamValidationError) as ei:
            await iam.identity.patch(ident.id, [good, {"op": "replace", "path": "/schema_id", "value": "admin"}])
        assert ei.value.status is None and ei.value.fields[0]["path"].startswith("ops[1]")
        # Passes local checks, refused by Kratos (the email must be a string): atomic upstream.
        with pytest.raises(IamValidationError) as ei:
            await iam.identity.patch(ident.id, [good, {"op": "replace", "path": "/traits/email", "value": 42}])
        assert ei.value.status == 400
        # A traits replace that violates the schema leaves the old traits in place.
        with pytest.raises(IamValidationError):
            await iam.identity.update_traits(ident.id, {"email": new_email, "shoe_size": 44})
        after = await iam.identity.get_with_traits(ident.id)
        assert after.traits == {"email": email, "roles": ["a"]}
        assert after.metadata_public == {"v": 1}
    finally:
        await iam.identity.delete(ident.id)
