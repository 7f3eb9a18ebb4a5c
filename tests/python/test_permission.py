"""PermissionService from Python against the real Keto."""

from __future__ import annotations

import copy
import socket
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam import IamPermissionTuple, IamUpstreamUnavailableError, IamValidationError, SubjectSet


def make(iam_config: dict[str, Any], ttl: int = 0) -> ory_iam.Iam:
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["cache"] = {"permission_ttl_ms": ttl}
    return ory_iam.Iam.from_config(cfg)


def obj() -> str:
    return f"doc-{uuid.uuid4().hex}"


async def test_grant_check_revoke_idempotent(iam_config: dict[str, Any]) -> None:
    p = make(iam_config).permission
    t = {"namespace": "documents", "object": obj(), "relation": "view", "subject": "alice"}
    assert await p.check(t) is False
    await p.grant(t)
    await p.grant(t)
    assert await p.check(IamPermissionTuple(**t)) is True
    await p.revoke(t)
    await p.revoke(t)
    assert await p.check(t) is False
    with pytest.raises(IamValidationError):
        await p.check({**t, "object": ""})
    with pytest.raises(IamValidationError):
        await p.check({**t, "extra": 1})


async def test_subject_sets_expand_and_list_paging(iam_config: dict[str, Any]) -> None:
    p = make(iam_config).permission
    group, doc = obj(), obj()
    await p.grant({"namespace": "groups", "object": group, "relation": "member", "subject": "bob"})
    await p.grant(IamPermissionTuple("documents", doc, "view", SubjectSet("groups", group, "member")))
    assert await p.check({"namespace": "documents", "object": doc, "relation": "view", "subject": "bob"})
    tree = await p.expand(namespace="documents", object=doc, relation="view", max_depth=3)
    assert tree.kind == "union" and "bob" in repr(tree)
    for i in range(7):
        await p.grant({"namespace": "documents", "object": doc, "relation": "edit", "subject": f"user-{i}"})
    page = await p.list(namespace="documents", object=doc, relation="edit", page_size=3)
    assert len(page.items) == 3 and page.next_page_token
    every = [t async for t in p.list_all(namespace="documents", object=doc, relation="edit", page_size=3)]
    assert sorted(t.subject for t in every) == sorted(f"user-{i}" for i in range(7))  # type: ignore[type-var]


async def test_check_batch_order_and_isolation(iam_config: dict[str, Any]) -> None:
    p = make(iam_config).permission
    doc = obj()
    tuples: list[Any] = []
    for i in range(25):
        t = {"namespace": "documents", "object": doc, "relation": "view", "subject": f"u{i}"}
        if i % 3 == 0:
            await p.grant(t)
        tuples.append(t)
    tuples.insert(5, {"namespace": "documents", "object": doc, "relation": "", "subject": "broken"})
    results = await p.check_batch(tuples)
    assert len(results) == 26
    for i, r in enumerate(results):
        if i == 5:
            assert not r.allowed and r.error
            continue
        n = i if i < 5 else i - 1
        assert r.allowed == (n % 3 == 0) and r.error is None


async def test_decision_cache_and_fresh(iam_config: dict[str, Any]) -> None:
    cached = make(iam_config, ttl=60_000).permission
    other = make(iam_config).permission
    t = {"namespace": "documents", "object": obj(), "relation": "view", "subject": "carol"}
    assert await cached.check(t) is False
    await other.grant(t)
    assert await cached.check(t) is False, "cached decision"
    assert await cached.check(t, fresh=True) is True
    await cached.revoke(t)
    assert await cached.check(t) is False
    await cached.grant(t)
    assert await cached.check(t) is True


async def test_keto_down_never_allowed(iam_config: dict[str, Any]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["keto"]["read_url"] = f"http://127.0.0.1:{port}/"
    cfg["tenants"]["customer"]["http"] = {"retries": 1, "backoff_base_ms": 10}
    p = ory_iam.Iam.from_config(cfg).permission
    t = {"namespace": "documents", "object": "d", "relation": "view", "subject": "alice"}
    with pytest.raises(IamUpstreamUnavailableError):
        await p.check(t)
    assert all(not r.allowed and r.error for r in await p.check_batch([t, t]))
