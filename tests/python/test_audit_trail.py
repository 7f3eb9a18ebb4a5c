"""Mutations are audited with the catalogue's names (docs/audit.md), through ``audit_callback``;
a representative subset against the real stack (the full walk is core/tests/audit_trail.rs)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

import ory_iam


def _names(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["name"], e["result"]) for e in events]


async def test_mutations_emit_the_catalogue_names(iam_config: dict[str, Any], email: str) -> None:
    events: list[dict[str, Any]] = []
    cfg = dict(iam_config, audit={"sink": "callback"})
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)

    created = await iam.identity.create(schema_id="customer", traits={"email": email, "name": {"first": "Grace"}})
    await iam.identity.update_traits(created.id, {"email": email, "name": {"first": "Hopper"}})
    await iam.identity.patch(created.id, [{"op": "replace", "path": "/metadata_public", "value": {"plan": "pro"}}])
    with pytest.raises(ory_iam.IamValidationError):
        await iam.identity.create(schema_id="customer", traits={"email": 42})
    await iam.identity.delete(created.id)
    client = await iam.oauth2_client.create({"grant_types": ["client_credentials"], "scope": "read"})
    await iam.oauth2_client.delete(client.client_id)
    obj = f"doc-{uuid.uuid4().hex}"
    tuple_ = {"namespace": "documents", "object": obj, "relation": "viewer", "subject": "user-audit"}
    await iam.permission.grant(tuple_)
    await iam.permission.revoke(tuple_)

    assert _names(events) == [
        ("identity.create", "success"),
        ("identity.update", "success"),
        ("identity.patch", "success"),
        ("identity.create", "failure"),
        ("identity.delete", "success"),
        ("oauth2_client.create", "success"),
        ("oauth2_client.delete", "success"),
        ("authz.permission.grant", "success"),
        ("authz.permission.revoke", "success"),
    ]
    assert events[0]["target_id"] == created.id and events[0]["tenant"] == "customer"
    assert events[3]["attributes"]["error"] == "validation" and events[3]["target_id"] is None
    assert events[5]["target_id"] == client.client_id
    assert all(e["request_id"] for e in events), "each event carries the Ory request's id"
    text = json.dumps(events)
    assert email not in text and "Grace" not in text and "Hopper" not in text
    assert client.client_secret is not None and client.client_secret.expose() not in text


async def test_redact_patterns(iam_config: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    cfg = dict(iam_config, audit={"sink": "callback", "redact_patterns": ["^doc-secret-[a-f0-9]+$"]})
    iam = ory_iam.Iam.from_config(cfg, audit_callback=events.append)
    tuple_ = {"namespace": "documents", "object": f"doc-secret-{uuid.uuid4().hex}", "relation": "viewer", "subject": "u"}
    await iam.permission.grant(tuple_)
    assert _names(events) == [("authz.permission.grant", "success")]
    assert events[0]["target_id"] == "***" and events[0]["attributes"]["namespace"] == "documents"
    await iam.permission.revoke(tuple_)

    bad = dict(iam_config, audit={"redact_patterns": ["ok", "secret-(unclosed"]})
    with pytest.raises(ory_iam.IamConfigurationError) as e:
        ory_iam.Iam.from_config(bad)
    assert [f["path"] for f in e.value.fields] == ["audit.redact_patterns[1]"]
    assert "secret-(unclosed" not in str(e.value)
