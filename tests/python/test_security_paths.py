"""Path safety (issue 19, item 2): ids that go into URL paths never reach another endpoint.
Cases in tests/security/hostile_ids.json, shared with Rust and Node. The Iam under test points
every Ory URL at the fault proxy armed to answer 404 to everything: it records each request's
raw path and forwards none."""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import unquote

import pytest

import ory_iam
from ory_iam import IamError

from conftest import ROOT
from test_bad_input import proxied_config

sys.path.insert(0, str(ROOT / "tests" / "reliability"))
from proxy import FaultProxy  # noqa: E402

CASES = json.loads((ROOT / "tests" / "security" / "hostile_ids.json").read_text())


def place(v: Any, id_: str) -> Any:
    if v == "$id":
        return id_
    if isinstance(v, list):
        return [place(x, id_) for x in v]
    if isinstance(v, dict):
        return {k: place(x, id_) for k, x in v.items()}
    return v


@pytest.fixture(scope="module")
def capture(stack: dict[str, Any]) -> Any:
    with FaultProxy(stack["iam_config"]["tenants"]["customer"]["kratos"]["admin_url"]) as p:
        p.fault("status", status=404)
        yield p


def paths(p: FaultProxy) -> dict[str, int]:
    by_path: dict[str, int] = p.stats()["by_path"]
    return dict(by_path)


async def call(iam: ory_iam.Iam, m: dict[str, Any], id_: str) -> IamError | None:
    try:
        await getattr(getattr(iam, m["service"]), m["call"])(*place(m["args"], id_))
    except IamError as e:
        return e
    return None


def stays_in_place(path: str, m: dict[str, Any], id_: str) -> bool:
    if not path.startswith(m["prefix"]):
        return False
    rest = path[len(m["prefix"]) :]
    suffix = m.get("suffix", "")
    if suffix and not rest.endswith(suffix):
        return False
    seg = rest[: len(rest) - len(suffix)] if suffix else rest
    return "/" not in seg and unquote(seg) == id_


async def test_hostile_ids_stay_one_segment_of_their_own_endpoint(stack: dict[str, Any], capture: FaultProxy) -> None:
    iam = ory_iam.Iam.from_config(proxied_config(stack, capture.url))
    failures: list[str] = []
    for m in CASES["methods"]:
        for id_ in CASES["hostile"]:
            before = paths(capture)
            await call(iam, m, id_)
            after = paths(capture)
            sent = {p: n - before.get(p, 0) for p, n in after.items() if n != before.get(p, 0)}
            if not sent:
                failures.append(f"{m['service']}.{m['call']}({id_!r}): no request")
            for p in sent:
                if not stays_in_place(p, m, id_):
                    failures.append(f"{m['service']}.{m['call']}({id_!r}) sent {p}")
    assert not failures, "\n".join(failures)


async def test_ids_no_server_can_hold_are_refused_locally(stack: dict[str, Any], capture: FaultProxy) -> None:
    iam = ory_iam.Iam.from_config(proxied_config(stack, capture.url))
    failures: list[str] = []
    for m in CASES["methods"]:
        for id_ in CASES["refused"]:
            before = capture.stats()["requests"]
            e = await call(iam, m, id_)
            if e is None or e.code != "validation" or not e.fields:
                failures.append(f"{m['service']}.{m['call']}({id_!r}): {e.code if e else 'accepted'}")
            if capture.stats()["requests"] != before:
                failures.append(f"{m['service']}.{m['call']}({id_!r}) sent a request")
    assert not failures, "\n".join(failures)
