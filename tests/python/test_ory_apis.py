"""Issue 25 from Python against the real stack: Keto patch / delete_matching / namespaces;
Kratos revoke_sessions, admin session list/get, recovery links and codes, flow errors."""

from __future__ import annotations

import copy
import json
import urllib.parse
import uuid
from typing import Any

import httpx
import pytest

import ory_iam
from ory_iam import IamNotFoundError, IamPermissionTuple, IamUnauthorizedError, IamValidationError

PASSWORD = "a-Long-and-unique-passphrase-42"


def make(iam_config: dict[str, Any], events: list[dict[str, Any]]) -> ory_iam.Iam:
    cfg = copy.deepcopy(iam_config)
    cfg["session_cache"] = "memory"
    cfg["audit"] = {"sink": "callback"}
    cfg["tenants"]["customer"]["cache"] = {"permission_ttl_ms": 60_000, "session_ttl_ms": 60_000}
    return ory_iam.Iam.from_config(cfg, audit_callback=events.append)


def obj() -> str:
    return f"doc-{uuid.uuid4().hex}"


async def tuples_of(iam: ory_iam.Iam, namespace: str, object: str) -> list[IamPermissionTuple]:
    return (await iam.permission.list(namespace=namespace, object=object)).items


async def test_patch_is_one_transaction_and_invalidates_the_cache(iam_config: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    p = iam.permission
    folder_a, folder_b, doc = obj(), obj(), obj()
    in_a = {"namespace": "folders", "object": folder_a, "relation": "parent", "subject": doc}
    in_b = IamPermissionTuple("folders", folder_b, "parent", doc)
    await p.grant(in_a)
    assert await p.check(in_a) and not await p.check(in_b)
    events.clear()

    await p.patch([{"action": "delete", "tuple": in_a}, {"action": "insert", "tuple": in_b}])
    assert await tuples_of(iam, "folders", folder_a) == []
    assert await tuples_of(iam, "folders", folder_b) == [in_b]
    assert not await p.check(in_a) and await p.check(in_b), "the cached answers are gone"
    mutations = [(e["name"], e["result"], e["attributes"]["via"]) for e in events if e["name"] != "authz.permission.deny"]
    assert mutations == [("authz.permission.revoke", "success", "patch"), ("authz.permission.grant", "success", "patch")]

    # One entry Keto refuses: nothing applies.
    doc2 = obj()
    fine = {"namespace": "documents", "object": doc2, "relation": "view", "subject": "alice"}
    events.clear()
    with pytest.raises(IamNotFoundError):
        await p.patch([
            {"action": "insert", "tuple": fine},
            {"action": "delete", "tuple": in_b},
            {"action": "insert", "tuple": {**fine, "namespace": "no-such-namespace"}},
        ])
    assert await tuples_of(iam, "documents", doc2) == []
    assert await tuples_of(iam, "folders", folder_b) == [in_b]
    assert [e["result"] for e in events] == ["failure"] * 3

    # Invalid locally: nothing sent.
    events.clear()
    with pytest.raises(IamValidationError) as err:
        await p.patch([{"action": "insert", "tuple": fine}, {"action": "insert", "tuple": {**fine, "object": ""}}])
    assert err.value.fields[0]["path"] == "patch[1].tuple.object"
    with pytest.raises(IamValidationError):
        await p.patch([{"action": "upsert", "tuple": fine}])  # type: ignore[typeddict-item]
    assert events == [] and await tuples_of(iam, "documents", doc2) == []
    await p.revoke(in_b)


async def test_delete_matching_refuses_a_namespace_alone(iam_config: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    p = iam.permission
    doc, other = obj(), obj()
    for s in ("alice", "bob"):
        await p.grant({"namespace": "documents", "object": doc, "relation": "view", "subject": s})
    await p.grant({"namespace": "documents", "object": other, "relation": "view", "subject": "alice"})
    alice = {"namespace": "documents", "object": doc, "relation": "view", "subject": "alice"}
    assert await p.check(alice)
    events.clear()

    with pytest.raises(IamValidationError) as err:
        await p.delete_matching(namespace="documents")
    assert err.value.fields[0]["path"] == "query"
    assert events == [] and len(await tuples_of(iam, "documents", doc)) == 2

    await p.delete_matching(namespace="documents", object=doc)
    assert await tuples_of(iam, "documents", doc) == []
    assert not await p.check(alice), "the cached allow is gone"
    assert len(await tuples_of(iam, "documents", other)) == 1
    e = [x for x in events if x["name"] != "authz.permission.deny"]
    assert [(x["name"], x["result"], x["target_id"]) for x in e] == [("authz.permission.delete_matching", "success", doc)]
    with pytest.raises(IamNotFoundError):
        await p.delete_matching({"namespace": "no-such-namespace", "object": doc})
    await p.delete_matching(namespace="documents", object=other, subject="alice")
    assert await tuples_of(iam, "documents", other) == []
    assert await p.namespaces() == ["documents", "folders", "groups"]


async def register(iam: ory_iam.Iam, email: str) -> tuple[str, str]:
    flow = await iam.flow.initiate_registration()
    res = await iam.flow.submit_registration(flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": email}})
    assert res.identity is not None and res.session_token is not None
    return res.identity.id, res.session_token.expose()


async def test_revoke_sessions_logs_out_everywhere_even_from_the_cache(iam_config: dict[str, Any], email: str) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    id, token = await register(iam, email)
    headers = {"x-session-token": token}
    s = await iam.session.whoami(headers)
    assert (await iam.session.whoami(headers)).cache_hit

    got = await iam.session.get(s.id)
    assert (got.id, got.identity.id, got.active, got.identity.traits) == (s.id, id, True, None)
    page = await iam.session.list(page_size=1, active=True)
    assert len(page.items) == 1 and page.items[0].active
    seen = False
    async for x in iam.session.list_all(active=True):
        if x.id == s.id:
            seen = True
            break
    assert seen
    events.clear()

    await iam.identity.revoke_sessions(id)
    assert [(e["name"], e["result"], e["target_id"]) for e in events] == [("authz.session.revoke_all", "success", id)]
    with pytest.raises(IamUnauthorizedError):
        await iam.session.whoami(headers)
    with pytest.raises(IamNotFoundError):  # Kratos deletes them (v1.3.1)
        await iam.session.get(s.id)
    for bad in ("../x", "not-a-uuid"):
        with pytest.raises(IamValidationError):
            await iam.identity.revoke_sessions(bad)
        with pytest.raises(IamValidationError):
            await iam.session.get(bad)
    with pytest.raises(IamNotFoundError):
        await iam.session.get(str(uuid.uuid4()))
    await iam.identity.delete(id)


async def test_recovery_link_and_code_recover_the_account(iam_config: dict[str, Any], email: str) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    id, _ = await register(iam, email)
    events.clear()

    rec = await iam.identity.create_recovery_link(id, expires_in="10m")
    link = rec.link.expose()
    assert rec.code is None and link not in repr(rec) and link not in json.dumps(rec.to_dict())
    assert [(e["name"], e["attributes"]["method"]) for e in events] == [("identity.recovery.create", "link")]
    assert link not in json.dumps(events)
    async with httpx.AsyncClient(follow_redirects=False) as http:
        r = await http.get(link)
    assert r.status_code == 303
    cookie = "; ".join(c.split(";")[0] for c in r.headers.get_list("set-cookie"))
    assert (await iam.session.whoami({"cookie": cookie})).identity.id == id

    rec = await iam.identity.create_recovery_code(id)
    assert rec.code is not None
    flow_id = urllib.parse.parse_qs(urllib.parse.urlparse(rec.link.expose()).query)["flow"][0]
    done = await iam.flow.submit_recovery(flow_id, {"method": "code", "code": rec.code.expose()})
    assert done.kind == "success"
    cookie = "; ".join(c.expose().split(";")[0] for c in done.set_cookie)
    assert (await iam.session.whoami({"cookie": cookie})).identity.id == id

    with pytest.raises(IamValidationError) as err:
        await iam.identity.create_recovery_link(id, expires_in="soon")
    assert err.value.fields[0]["path"] == "expires_in"
    with pytest.raises(IamValidationError):
        await iam.identity.create_recovery_link(str(uuid.uuid4()))  # Kratos v1.3.1: 400, not the documented 404
    with pytest.raises(IamNotFoundError):
        await iam.identity.create_recovery_code(str(uuid.uuid4()))
    await iam.identity.delete(id)


async def test_flow_error_by_the_id_of_kratos_redirect(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    iam = make(iam_config, [])
    public = stack["kratos"]["customer"]["public_url"]
    async with httpx.AsyncClient(follow_redirects=False) as http:
        r = await http.get(f"{public}self-service/login/browser", params={"return_to": "https://evil.example/"})
    id = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["location"]).query)["id"][0]
    e = await iam.flow.get_error(id)
    assert (e.id, e.tenant, e.error["code"]) == (id, "customer", 400)
    with pytest.raises(IamNotFoundError):
        await iam.flow.get_error(str(uuid.uuid4()))
    with pytest.raises(IamValidationError):
        await iam.flow.get_error("stub:500")


async def login(iam: ory_iam.Iam, email: str) -> str:
    flow = await iam.flow.initiate_login()
    res = await iam.flow.submit_login(flow.id, {"method": "password", "identifier": email, "password": PASSWORD})
    assert res.session_token is not None
    return res.session_token.expose()


async def test_a_user_manages_their_own_sessions(iam_config: dict[str, Any], email: str) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    id, token_a = await register(iam, email)
    a, b, c = ({"x-session-token": t} for t in (token_a, await login(iam, email), await login(iam, email)))
    sb, sc, sa = [await iam.session.whoami(h) for h in (b, c, a)]
    assert (await iam.session.whoami(b)).cache_hit and (await iam.session.whoami(c)).cache_hit

    mine = await iam.session.list_mine(a)
    assert sorted(s.id for s in mine.items) == sorted([sb.id, sc.id]), "the other sessions, not the current one"
    assert all(s.identity.id == id and s.identity.traits is None for s in mine.items)
    page = await iam.session.list_mine(a, page_size=1)
    assert len(page.items) == 1 and page.next_page_token
    assert sorted([s.id async for s in iam.session.list_mine_all(a)]) == sorted([sb.id, sc.id])
    events.clear()

    await iam.session.revoke_mine(a, sb.id)
    revokes = [(e["name"], e["target_id"], e["attributes"]["by"]) for e in events if e["name"].startswith("authz.session")]
    assert revokes == [("authz.session.revoke", sb.id, "owner")]
    with pytest.raises(IamUnauthorizedError):
        await iam.session.whoami(b)
    with pytest.raises(IamValidationError):
        await iam.session.revoke_mine(a, sa.id)
    other_id, other_token = await register(iam, f"other-{uuid.uuid4().hex}@example.test")
    other = await iam.session.whoami({"x-session-token": other_token})
    await iam.session.revoke_mine(a, other.id)  # Kratos v1.3.1: 204, and nothing happens
    assert (await iam.session.whoami({"x-session-token": other_token})).id == other.id
    assert (await iam.session.get(other.id)).active, "someone else's session is untouched"

    events.clear()
    # Kratos v1.3.1 counts every other session it marked inactive: C, and B again.
    assert await iam.session.revoke_my_other_sessions(a) == 2
    assert [(e["name"], e["target_id"], e["attributes"]["scope"]) for e in events if e["name"].startswith("authz.session")] == [
        ("authz.session.revoke_all", id, "others")
    ]
    with pytest.raises(IamUnauthorizedError):
        await iam.session.whoami(c)
    assert (await iam.session.whoami(a)).id == sa.id
    assert (await iam.session.list_mine(a)).items == []
    with pytest.raises(IamUnauthorizedError):
        await iam.session.list_mine({"x-session-token": "not-a-session"})
    with pytest.raises(IamUnauthorizedError):
        await iam.session.revoke_my_other_sessions({})
    await iam.identity.delete(id)
    await iam.identity.delete(other_id)


OPL = """import { Namespace, Context } from "@ory/keto-namespace-types"

class User implements Namespace {}

class Document implements Namespace {
  related: {
    viewers: User[]
  }

  permits = {
    view: (ctx: Context): boolean => this.related.viewers.includes(ctx.subject),
  }
}
"""


async def test_opl_syntax_is_checked_by_ketos_opl_server(iam_config: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    p = make(iam_config, events).permission
    assert await p.check_opl_syntax(OPL) == []
    errors = await p.check_opl_syntax("class User implements Namespace {}\nclass Doc implements Namespace {\n  related: {\n")
    assert len(errors) == 1 and errors[0].message and errors[0].start.line == 3 and errors[0].start.column > 0
    assert events == []
    cfg = copy.deepcopy(iam_config)
    del cfg["tenants"]["customer"]["keto"]["opl_url"]
    with pytest.raises(ory_iam.IamConfigurationError):
        await ory_iam.Iam.from_config(cfg).permission.check_opl_syntax(OPL)


async def test_create_many_imports_with_a_result_each(iam_config: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = make(iam_config, events)
    a, b, c = (f"bulk-{uuid.uuid4().hex}@example.test" for _ in range(3))
    out = await iam.identity.create_many([
        {"schema_id": "customer", "traits": {"email": a}},
        {"schema_id": "customer", "traits": {"email": 42}},
        {"schema_id": "customer", "traits": {"email": b}},
    ])
    assert [r.error for r in out] == [None, "validation", None]
    ia, ib = out[0].identity_id, out[2].identity_id
    assert ia and ib
    await iam.identity.get(ia)
    assert [(e["name"], e["result"], e["target_id"]) for e in events] == [
        ("identity.create", "success", ia), ("identity.create", "failure", None), ("identity.create", "success", ib),
    ]
    assert a not in json.dumps(events)
    # A duplicate: Kratos v1.3.1 reports an id for c but keeps nothing of the batch.
    out = await iam.identity.create_many([{"schema_id": "customer", "traits": {"email": e}} for e in (a, c)])
    assert [r.error for r in out] == ["conflict", "upstream_unavailable"]
    assert (await iam.identity.list(credentials_identifier=c)).items == []
    again = await iam.identity.create_many([{"schema_id": "customer", "traits": {"email": c}}])
    assert again[0].identity_id
    with pytest.raises(IamValidationError) as err:
        await iam.identity.create_many([{"schema_id": "customer", "traits": {"email": "x@example.test"}}, {"schema_id": ""}])
    assert err.value.fields[0]["path"].startswith("inputs[1]")
    for i in (ia, ib, again[0].identity_id):
        await iam.identity.delete(i)
