"""Ory Network control plane from Python against the stack's spec-checking fake console."""

from __future__ import annotations

import copy
import json
import urllib.request
from typing import Any

import pytest

import ory_iam
from ory_iam import IamConfigurationError, IamNotFoundError, IamUnauthorizedError, IamUpstreamUnavailableError, IamValidationError, Secret


def console(stack: dict[str, Any], path: str, body: Any = None) -> Any:
    req = urllib.request.Request(stack["console"]["url"] + path, data=None if body is None else json.dumps(body).encode(), method="GET" if body is None else "POST")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


async def test_workspaces_projects_keys_streams(cloud_config: dict[str, Any], stack: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = []
    iam = ory_iam.Iam.from_config(dict(cloud_config, audit={"sink": "callback"}), audit_callback=events.append)
    w = await iam.workspace_admin.create("team-py")
    assert (await iam.workspace_admin.update(w.id, "team-py-2")).name == "team-py-2"
    await iam.workspace_admin.create({"name": "team-py-other"})
    assert (await iam.workspace_admin.update(w.id, {"name": "team-py-3"})).name == "team-py-3"
    page = await iam.workspace_admin.list(page_size=1)
    assert len(page.items) == 1 and page.next_page_token
    assert w.id in [x.id async for x in iam.workspace_admin.list_all(page_size=1)]
    p = await iam.project_admin.create(name="Shop", workspace_id=w.id, environment="dev")
    meta = [m for m in await iam.project_admin.list() if m.id == p.id][0]
    assert meta.hosts == [f"{p.slug}.projects.oryapis.com"]
    assert (await iam.project_admin.get(p.id)).hosts == meta.hosts
    assert p.id in [m.id for m in await iam.workspace_admin.list_projects(w.id)]
    renamed = await iam.project_admin.set(p.id, {"name": "Shop 2", "services": {}, "cors_admin": {}, "cors_public": {}, "organizations": []})
    assert renamed.name == "Shop 2"
    key = await iam.project_admin.create_api_key(p.id, name="ci")
    assert isinstance(key.value, Secret) and key.value.expose() not in repr(key)
    assert all(k.value is None for k in await iam.project_admin.list_api_keys(p.id))
    await iam.project_admin.delete_api_key(p.id, key.id)
    wkey = await iam.workspace_admin.create_api_key(w.id, name="deploy")
    await iam.workspace_admin.delete_api_key(w.id, wkey.id)
    s = await iam.events.create(p.id, type="sns", topic_arn="arn:aws:sns:eu-1:1:t", role_arn="arn:aws:iam::1:role/r")
    with pytest.raises(ory_iam.IamConflictError):
        await iam.events.create(p.id, type="https", https_endpoint="https://hooks.example.test/ory")
    assert (await iam.events.set(p.id, s.id, topic_arn="arn:aws:sns:eu-1:1:t2")).topic_arn == "arn:aws:sns:eu-1:1:t2"
    await iam.events.delete(p.id, s.id)
    assert await iam.events.list(p.id) == []
    await iam.project_admin.purge(p.id)
    with pytest.raises(IamNotFoundError):
        await iam.project_admin.get(p.id)
    names = {e["name"] for e in events}
    assert {"project.purge", "project.api_key.delete", "workspace.api_key.delete", "event_stream.delete"} <= names
    assert key.value.expose() not in json.dumps(events)
    assert console(stack, "__violations") == []


async def test_console_error_paths(cloud_config: dict[str, Any], stack: dict[str, Any], iam_config: dict[str, Any]) -> None:
    iam = ory_iam.Iam.from_config(cloud_config)
    wrong = copy.deepcopy(cloud_config)
    wrong["tenants"]["cloud"]["console"]["workspace_api_key"] = "ory_wak_wrong"
    with pytest.raises(IamUnauthorizedError):
        await ory_iam.Iam.from_config(wrong).workspace_admin.list()
    with pytest.raises(IamNotFoundError):
        await iam.project_admin.get("9f425a8d-7efc-4768-8f23-7647a74fdf13")
    with pytest.raises(IamValidationError):
        await iam.project_admin.create(name="x", environment="qa")
    console(stack, "__fault", {"status": 503, "count": 2})
    await iam.workspace_admin.list()
    console(stack, "__fault", {"status": 503, "count": 3, "retry_after": 0})
    with pytest.raises(IamUpstreamUnavailableError) as ei:
        await iam.workspace_admin.list()
    assert ei.value.status == 503 and ei.value.retry_after is not None
    no_key = copy.deepcopy(cloud_config)
    del no_key["tenants"]["cloud"]["console"]["workspace_api_key"]
    with pytest.raises(IamConfigurationError) as ce:
        await ory_iam.Iam.from_config(no_key).project_admin.list()
    assert "console.workspace_api_key" in str(ce.value)
    with pytest.raises(IamConfigurationError):
        await ory_iam.Iam.from_config(iam_config).workspace_admin.list()
    assert console(stack, "__violations") == []
