"""PermissionService from Python against the real Keto."""

from __future__ import annotations

import copy
import pathlib
import socket
import sys
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam import (
    IamConfigurationError,
    IamPermissionTuple,
    IamUpstreamUnavailableError,
    IamValidationError,
    SubjectSet,
)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "reliability"))
from proxy import FaultProxy  # noqa: E402


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


def batch_requests(proxy: FaultProxy) -> tuple[int, int]:
    """(requests to the batch endpoint, all requests) the proxy forwarded to Keto."""
    return proxy.requests("batch/check"), proxy.requests()


async def test_keto_batch_size_within_and_beyond_the_servers_limit(
    iam_config: dict[str, Any], stack: dict[str, Any]
) -> None:
    limit = stack["keto"]["max_batch_check_size"]
    doc = obj()
    tuples = [{"namespace": "documents", "object": doc, "relation": "view", "subject": f"u{i}"} for i in range(limit + 5)]
    writer = make(iam_config).permission
    for t in tuples[::3]:
        await writer.grant(t)
    expect = [i % 3 == 0 for i in range(len(tuples))]
    with FaultProxy(stack["keto"]["read_url"]) as proxy:
        cfg = copy.deepcopy(iam_config)
        cfg["tenants"]["customer"]["keto"].update(read_url=proxy.url, batch_size=limit)
        results = await ory_iam.Iam.from_config(cfg).permission.check_batch(tuples)
        assert [r.allowed for r in results] == expect and all(r.error is None for r in results)
        assert batch_requests(proxy) == (2, 2), "one full batch and the 5 left over"

        # Above the server's limit Keto answers 400: the same answers come from single checks.
        proxy.reset()
        cfg["tenants"]["customer"]["keto"]["batch_size"] = limit + 1
        results = await ory_iam.Iam.from_config(cfg).permission.check_batch(tuples[: limit + 1])
        assert [r.allowed for r in results] == expect[: limit + 1] and all(r.error is None for r in results)
        assert batch_requests(proxy) == (1, limit + 2)


@pytest.mark.parametrize("bad", [0, 65536, -1, "ten"])
def test_keto_batch_size_is_validated(iam_config: dict[str, Any], bad: Any) -> None:
    cfg = copy.deepcopy(iam_config)
    cfg["tenants"]["customer"]["keto"]["batch_size"] = bad
    with pytest.raises(IamConfigurationError) as ei:
        ory_iam.Iam.from_config(cfg)
    assert [f["path"] for f in ei.value.fields] == ["tenants.customer.keto.batch_size"]


async def test_check_batch_caches_and_audits_like_check(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    doc = obj()
    tuples: list[Any] = [{"namespace": "documents", "object": doc, "relation": "view", "subject": f"u{i}"} for i in range(12)]
    writer = make(iam_config).permission
    for t in tuples[::3]:
        await writer.grant(t)
    # Keto reports an error for a tuple in a namespace it does not know.
    tuples.append({"namespace": "no-such-namespace", "object": "o", "relation": "view", "subject": "u0"})
    expect = [i % 3 == 0 for i in range(12)] + [False]
    events: list[dict[str, Any]] = []
    with FaultProxy(stack["keto"]["read_url"]) as proxy:
        cfg = copy.deepcopy(iam_config)
        cfg["tenants"]["customer"]["keto"]["read_url"] = proxy.url
        cfg["tenants"]["customer"]["cache"] = {"permission_ttl_ms": 60_000}
        cfg["audit"] = {"sink": "callback"}
        p = ory_iam.Iam.from_config(cfg, audit_callback=events.append).permission
        first = await p.check_batch(tuples)
        assert [r.allowed for r in first] == expect
        assert all(r.error is None for r in first[:12]) and first[12].error
        assert batch_requests(proxy) == (2, 2)
        names = [e["name"] for e in events]
        assert names.count("authz.permission.deny") == 8 and names.count("authz.upstream_unavailable") == 1

        # Cached for check_batch and check alike; only the failed tuple is asked again.
        second = await p.check_batch(tuples)
        assert [r.allowed for r in second] == expect
        assert await p.check(tuples[1]) is False
        assert batch_requests(proxy) == (3, 3)
        names = [e["name"] for e in events]
        assert names.count("authz.permission.deny") == 8 and names.count("authz.upstream_unavailable") == 2


async def test_a_revoke_invalidates_cached_answers_derived_through_subject_sets(iam_config: dict[str, Any]) -> None:
    """Issue 19: revoking a group membership must end the cached allow on a document the group
    can view (before: only the revoked tuple's own object was invalidated). A string subject is
    always an id: "groups:g#member" is not a subject set."""
    p = make(iam_config, ttl=60_000).permission
    group, doc, bob = obj(), obj(), f"bob-{uuid.uuid4().hex}"
    member = {"namespace": "groups", "object": group, "relation": "member", "subject": bob}
    via = IamPermissionTuple("documents", doc, "view", SubjectSet("groups", group, "member"))
    await p.grant(member)
    await p.grant(via)
    q = {"namespace": "documents", "object": doc, "relation": "view", "subject": bob}
    assert await p.check(q)
    await p.revoke(member)
    assert not await p.check(q), "the cached allow outlived the revoke"
    as_text = {"namespace": "documents", "object": doc, "relation": "view", "subject": f"groups:{group}#member"}
    await p.grant(member)
    assert not await p.check(as_text), "a string subject was read as a subject set"
    await p.revoke(member)
    await p.revoke(via)
