"""IdentityService and MetadataService from Python against the real Kratos instances."""

from __future__ import annotations

import asyncio
import copy
import json
import pathlib
import subprocess
import sys
import uuid
from typing import Any

import pytest

import ory_iam
from ory_iam import (
    IamConfigurationError,
    IamConflictError,
    IamError,
    IamNotFoundError,
    IamUpstreamUnavailableError,
    IamValidationError,
)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tests" / "reliability"))
from proxy import FaultProxy  # noqa: E402


async def test_server_versions_match_the_stack(iam: ory_iam.Iam, stack: dict[str, Any]) -> None:
    v = await iam.metadata.version()
    print(f"servers: kratos {v.kratos}, keto {v.keto}, hydra {v.hydra}")
    assert v.tenant == "customer"
    assert (v.kratos, v.keto, v.hydra) == (stack["versions"]["kratos"], stack["versions"]["keto"], stack["versions"]["hydra"])


async def test_create_get_get_with_traits_delete(iam: ory_iam.Iam, email: str) -> None:
    created = await iam.identity.create(schema_id="customer", traits={"email": email, "name": {"first": "Ada"}})
    assert created.tenant == "customer" and created.schema_id == "customer"
    assert created.traits is not None and created.traits["email"] == email

    plain = await iam.identity.get(created.id)
    assert plain.id == created.id
    assert plain.traits is None, "get() must not carry traits"
    assert plain.verifiable_addresses is None
    assert email not in repr(plain)

    full = await iam.identity.get_with_traits(created.id)
    assert full.traits == {"email": email, "name": {"first": "Ada"}}
    assert email not in repr(full), "repr hides traits"
    assert full.to_dict()["traits"]["email"] == email
    json.dumps(full.to_dict())

    await iam.identity.delete(created.id)
    with pytest.raises(IamNotFoundError) as ei:
        await iam.identity.get(created.id)
    assert ei.value.code == "not_found" and ei.value.status == 404 and ei.value.tenant == "customer"
    assert ei.value.request_id
    with pytest.raises(IamNotFoundError):
        await iam.identity.delete(created.id)


async def test_dict_and_keyword_options_are_equivalent(iam: ory_iam.Iam, email: str) -> None:
    a = await iam.identity.create({"schema_id": "customer", "traits": {"email": email}})
    b_email = "kw-" + email
    b = await iam.identity.create(schema_id="customer", traits={"email": b_email})
    assert (await iam.identity.get_with_traits(a.id)).traits == {"email": email}
    assert (await iam.identity.get_with_traits(b.id)).traits == {"email": b_email}
    await iam.identity.delete(a.id)
    await iam.identity.delete(b.id)


async def test_tenants_never_see_each_others_identities(iam: ory_iam.Iam, email: str) -> None:
    customer = iam.identity.for_tenant("customer")
    admin = iam.identity.for_tenant("admin")
    assert customer == iam.identity and customer != admin
    assert hash(customer) == hash(iam.identity.for_tenant("customer"))
    c = await customer.create(schema_id="customer", traits={"email": email})
    a = await admin.create(schema_id="admin", traits={"email": "admin-" + email})
    assert a.tenant == "admin"
    with pytest.raises(IamNotFoundError):
        await admin.get(c.id)
    with pytest.raises(IamNotFoundError):
        await customer.get(a.id)
    await customer.delete(c.id)
    await admin.delete(a.id)


async def test_duplicate_identifier_is_a_conflict(iam: ory_iam.Iam, email: str) -> None:
    first = await iam.identity.create(schema_id="customer", traits={"email": email})
    with pytest.raises(IamConflictError):
        await iam.identity.create(schema_id="customer", traits={"email": email})
    await iam.identity.delete(first.id)


async def test_shared_error_scenarios(iam: ory_iam.Iam, scenarios: dict[str, Any]) -> None:
    for case in scenarios["cases"]:
        svc = iam.identity if case["tenant"] is None else iam.identity.for_tenant(case["tenant"])
        args = [str(uuid.uuid4()) if a == "$missing_uuid" else copy.deepcopy(a) for a in case["args"]]
        with pytest.raises(IamError) as ei:
            await getattr(svc, case["call"])(*args)
        assert ei.value.code == case["code"], case["name"]
        assert (ei.value.status is None) == case["local"], case["name"]


async def test_wrong_python_types_are_validation_errors(iam: ory_iam.Iam) -> None:
    with pytest.raises(IamValidationError) as ei:
        await iam.identity.get(123)  # type: ignore[arg-type]
    assert ei.value.fields[0]["path"] == "id"
    with pytest.raises(IamValidationError):
        await iam.identity.create(schema_id="customer", traits={"email": object()})
    with pytest.raises(IamValidationError):
        await iam.identity.create(["not", "a", "dict"])  # type: ignore[arg-type]


def test_unknown_tenant_fails_at_the_call(iam: ory_iam.Iam) -> None:
    with pytest.raises(IamConfigurationError) as ei:
        iam.identity.for_tenant("nope")
    assert ei.value.code == "configuration"


def test_invalid_config_lists_every_path() -> None:
    with pytest.raises(IamConfigurationError) as ei:
        ory_iam.Iam.from_config(
            {
                "tenants": {
                    "a": {"mode": "cloud", "kratos": {"public_url": "nope"}},
                    "b": {"transport": "oathkeeper", "kratos": {"public_url": "http://x", "admin_token": "SECRET-TOKEN"}},
                },
                "session_cache": {"redis": {"url": "http://x"}},
            }
        )
    paths = {f["path"] for f in ei.value.fields}
    assert {
        "default_tenant",
        "tenants.a.kratos.public_url",
        "tenants.a.cloud.project_slug",
        "tenants.a.cloud.api_key",
        "tenants.b.oathkeeper.signer_keys",
        "session_cache.redis.url",
    } <= paths
    assert "SECRET-TOKEN" not in str(ei.value) and "SECRET-TOKEN" not in repr(ei.value)


async def test_admin_op_without_admin_url(iam_config: dict[str, Any]) -> None:
    cfg = copy.deepcopy(iam_config)
    del cfg["tenants"]["customer"]["kratos"]["admin_url"]
    iam = ory_iam.Iam.from_config(cfg)
    with pytest.raises(IamConfigurationError) as ei:
        await iam.identity.get(str(uuid.uuid4()))
    assert "kratos.admin_url" in str(ei.value)


async def test_list_and_auto_paging(iam: ory_iam.Iam) -> None:
    admin = iam.identity.for_tenant("admin")
    made = [(await admin.create(schema_id="admin", traits={"email": f"page-{uuid.uuid4().hex}@example.test"})).id for _ in range(3)]
    page = await admin.list(page_size=1)
    assert len(page.items) == 1 and page.next_page_token
    assert page.items[0].traits is None
    seen = [i.id async for i in admin.list_all(page_size=1)]
    assert set(made) <= set(seen)
    for i in made:
        await admin.delete(i)


async def test_delete_is_audited_through_the_callback(iam_config: dict[str, Any], email: str) -> None:
    events: list[dict[str, Any]] = []
    cfg = dict(iam_config, audit={"sink": "callback"})
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    created = await iam.identity.create(schema_id="customer", traits={"email": email})
    await iam.identity.delete(created.id)
    deletes = [e for e in events if e["name"] == "identity.delete"]
    assert len(deletes) == 1
    assert deletes[0]["target_id"] == created.id and deletes[0]["tenant"] == "customer"
    assert deletes[0]["result"] == "success" and deletes[0]["request_id"]
    assert email not in json.dumps(events)


async def test_health(iam: ory_iam.Iam) -> None:
    h = await iam.health()
    assert h.healthy, h
    assert "127.0.0.1" not in json.dumps(h.to_dict())
    assert {(p.tenant, p.product) for p in h.probes} >= {("customer", "kratos-public"), ("admin", "kratos-admin")}
    assert h.warnings == []


async def test_health_states_each_caches_staleness_bound(stack: dict[str, Any]) -> None:
    cfg = copy.deepcopy(stack["iam_config"])
    cfg["session_cache"] = {"memory": {}}
    cfg["tenants"]["customer"]["cache"] = {"session_ttl_ms": 30000, "permission_ttl_ms": 600000}
    cfg["tenants"]["customer"]["hydra"]["bearer_mode"] = "introspect"
    iam = ory_iam.Iam.from_config(cfg)
    try:
        h = await iam.health()
    finally:
        await iam.close()
    got = sorted((s.cache, s.max_stale_ms, s.config_key) for s in h.staleness if s.tenant == "customer")
    assert got == [
        ("decisions", 600000, "tenants.customer.cache.permission_ttl_ms"),
        ("sessions", 30000, "tenants.customer.cache.session_ttl_ms"),
    ]
    assert isinstance(h.staleness[0], ory_iam.Staleness)
    assert len(h.warnings) == 1 and "tenants.customer.cache.permission_ttl_ms" in h.warnings[0]


def test_asyncio_run_without_a_running_loop(stack: dict[str, Any]) -> None:
    """Users call `asyncio.run(iam.identity.get(x))` from sync code; it must just work."""
    code = (
        "import asyncio, json, sys, ory_iam\n"
        "iam = ory_iam.Iam.from_config(json.loads(sys.argv[1]))\n"
        "print(asyncio.run(iam.metadata.version()).kratos)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(stack["iam_config"])], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == stack["versions"]["kratos"]


async def test_concurrent_calls_share_the_runtime(iam: ory_iam.Iam) -> None:
    versions = await asyncio.gather(*[iam.metadata.version() for _ in range(20)])
    assert len({v.kratos for v in versions}) == 1


async def test_update_traits_and_patch(iam: ory_iam.Iam, email: str) -> None:
    created = await iam.identity.create(schema_id="customer", traits={"email": email}, metadata_public={"plan": "pro"})
    updated = await iam.identity.update_traits(created.id, {"email": "u-" + email, "roles": ["editor"]})
    assert updated.traits == {"email": "u-" + email, "roles": ["editor"]}
    assert updated.metadata_public == {"plan": "pro"}
    patched = await iam.identity.patch(
        created.id,
        [
            {"op": "replace", "path": "/state", "value": "inactive"},
            {"op": "add", "path": "/traits/roles/-", "value": "admin"},
        ],
    )
    assert patched.state == "inactive" and patched.traits is not None and patched.traits["roles"] == ["editor", "admin"]
    with pytest.raises(IamValidationError) as ei:
        await iam.identity.patch(created.id, [{"op": "remove", "path": "/credentials"}])
    assert ei.value.status is None and ei.value.fields[0]["path"] == "ops[0].path"
    await iam.identity.delete(created.id)


async def test_config_from_file_and_env(iam_config: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ory-iam.json"
    path.write_text(json.dumps(iam_config))
    iam = ory_iam.Iam.from_file(path)
    assert iam.tenants == ["admin", "customer"]
    assert (await iam.metadata.version()).kratos
    monkeypatch.setenv("ORY_IAM_CONFIG_FILE", str(path))
    monkeypatch.setenv("ORY_IAM__DEFAULT_TENANT", "admin")
    from_env = ory_iam.Iam.from_env()
    assert from_env.default_tenant == "admin"
    assert (await from_env.metadata.version()).kratos
    monkeypatch.setenv("ORY_IAM_CONFIG_FILE", str(tmp_path / "missing.yaml"))
    with pytest.raises(IamConfigurationError):
        ory_iam.Iam.from_env()
    # A file that does not parse: from_env names its line and column like from_file.
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants: [oops\n  admin_token: SECRET_IN_BAD_FILE")
    with pytest.raises(IamConfigurationError) as by_file:
        ory_iam.Iam.from_file(bad)
    monkeypatch.setenv("ORY_IAM_CONFIG_FILE", str(bad))
    with pytest.raises(IamConfigurationError) as by_env:
        ory_iam.Iam.from_env()
    at_file = by_file.value.fields[0]["reason"].split(" at ")[-1]
    assert at_file.startswith("line ") and by_env.value.fields[0]["reason"].endswith(" at " + at_file)
    assert by_env.value.fields[0]["path"] == "ORY_IAM_CONFIG_FILE"
    assert "SECRET_IN_BAD_FILE" not in str(by_env.value)


async def test_credentials(iam: ory_iam.Iam, email: str) -> None:
    who = await iam.identity.create(
        schema_id="customer",
        traits={"email": email},
        credentials={
            "password": {"config": {"password": "a-Long-and-unique-passphrase-42"}},
            "oidc": {"config": {"providers": [{"provider": "github", "subject": "gh-py"}]}},
        },
    )
    creds = await iam.identity.get_credentials(who.id)
    assert [c.credential_type for c in creds] == ["oidc", "password"]
    assert creds[0].providers == ["github"] and creds[0].identifiers == ["github:gh-py"]
    dump = json.dumps([c.to_dict() for c in creds]) + repr(creds)
    assert "$2a$" not in dump and "a-Long-and-unique-passphrase-42" not in dump
    assert email not in repr(creds)
    with pytest.raises(IamValidationError) as ei:
        await iam.identity.delete_credential(who.id, "password")
    assert ei.value.fields[0]["path"] == "type" and ei.value.status == 400
    await iam.identity.delete_credential(who.id, "oidc", "github:gh-py")
    assert [c.credential_type for c in await iam.identity.get_credentials(who.id)] == ["password"]
    with pytest.raises(IamNotFoundError):
        await iam.identity.for_tenant("admin").get_credentials(who.id)
    await iam.identity.delete(who.id)


async def test_health_neither_resets_nor_probes_a_breaker(iam_config: dict[str, Any], stack: dict[str, Any]) -> None:
    missing = "9f425a8d-7efc-4768-8f23-7647a74fdf13"
    with FaultProxy(stack["kratos"]["customer"]["admin_url"]) as proxy:
        cfg = copy.deepcopy(iam_config)
        cfg["tenants"]["customer"]["kratos"]["admin_url"] = proxy.url
        cfg["tenants"]["customer"]["http"] = {"retries": 0, "breaker_threshold": 3, "breaker_open_ms": 60_000}
        iam = ory_iam.Iam.from_config(cfg)
        proxy.fault("status", status=500, path="/admin/identities")

        def admin_breaker(h: Any) -> str:
            return next(p.breaker for p in h.probes if p.tenant == "customer" and p.product == "kratos-admin")

        def version_lookups() -> int:
            return proxy.requests("/admin/version")

        for _ in range(2):
            with pytest.raises(IamUpstreamUnavailableError):
                await iam.identity.get(missing)
        # Health's version lookup on the same host succeeds; the two failures still count.
        assert admin_breaker(await iam.health()) == "closed" and version_lookups() >= 1
        with pytest.raises(IamUpstreamUnavailableError) as third:
            await iam.identity.get(missing)
        assert third.value.retry_after is None, "the third failure comes from the server"
        with pytest.raises(IamUpstreamUnavailableError) as refused:
            await iam.identity.get(missing)
        assert refused.value.retry_after is not None, "the breaker opened after 3 consecutive failures"

        # While it is open, health still looks the versions up and leaves it open.
        before = version_lookups()
        assert admin_breaker(await iam.health()) == "open" and version_lookups() > before


async def test_sdk_fields_address_objects_and_list_filters(iam: ory_iam.Iam, email: str) -> None:
    created = await iam.identity.create(
        schema_id="customer",
        traits={"email": email},
        credentials={"password": {"config": {"password": "a-Long-and-unique-passphrase-42"}}},
        verifiable_addresses=[{"value": email, "via": "email", "verified": True, "status": "completed"}],
        recovery_addresses=[{"value": email}],
    )
    try:
        full = await iam.identity.get_with_traits(created.id)
        assert full.state_changed_at and full.schema_url and "/schemas/" in full.schema_url
        assert full.verifiable_addresses and full.recovery_addresses
        v = full.verifiable_addresses[0]
        assert v.verified and v.status == "completed" and v.verified_at and v.created_at and v.updated_at
        assert full.recovery_addresses[0].created_at and full.recovery_addresses[0].updated_at

        found = await iam.identity.list(credentials_identifier=email)
        assert [i.id for i in found.items] == [created.id] and found.items[0].traits is None
        # Kratos's offset paging (the contract's page / per_page) next to page tokens; a second
        # identity of this test's own, so page 1 exists whatever ran before.
        other = await iam.identity.create(schema_id="customer", traits={"email": "other-" + email})
        first, second = await iam.identity.list(page=0, per_page=1), await iam.identity.list(page=1, per_page=1)
        await iam.identity.delete(other.id)
        assert len(first.items) == 1 and len(second.items) == 1 and first.items[0].id != second.items[0].id
        with pytest.raises(IamValidationError):
            await iam.identity.list(page=0, page_size=1)
        by_ids = await iam.identity.list({"ids": [created.id]})
        assert [i.id for i in by_ids.items] == [created.id]
        with pytest.raises(IamValidationError) as e:
            await iam.identity.list(ids=[created.id, "nope"])
        assert e.value.fields[0]["path"] == "ids[1]"
        with pytest.raises(IamValidationError) as e:
            await iam.identity.create(
                schema_id="customer", traits={"email": email}, recovery_addresses=[{"value": email, "verified": True}]
            )
        assert e.value.fields[0]["path"] == "recovery_addresses[0]"
    finally:
        await iam.identity.delete(created.id)


async def test_schema_violations_name_each_field_without_its_value(iam: ory_iam.Iam) -> None:
    secret = f"not-an-email-{uuid.uuid4().hex}"
    with pytest.raises(IamValidationError) as e:
        await iam.identity.create(
            schema_id="customer", traits={"email": secret, "name": {"first": 5}, "shoe_size": 44}
        )
    assert e.value.status == 400
    got = sorted((f["path"], f["pointer"]) for f in e.value.fields)
    assert got == [
        ("traits.email", "/traits/email"),
        ("traits.name.first", "/traits/name/first"),
        ("traits.shoe_size", "/traits/shoe_size"),
    ]
    assert all(f["reason"] for f in e.value.fields)
    assert secret not in f"{e.value} {e.value!r} {e.value.fields}"
