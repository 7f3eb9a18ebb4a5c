"""A cloud tenant end to end through one Ory Network project host (tests/network/emulator.py in
front of the stack's Kratos, Keto and Hydra, strict to the Network API document): every service,
the session cookie named after the slug, health() and version(), a wrong key, and what the host
saw of the key. Same scenario as core/tests/ory_network.rs and tests/node/ory-network.test.js."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import uuid
from typing import Any, Iterator

import pytest

import ory_iam
from ory_iam import IamUnauthorizedError

from conftest import register_secret

ROOT = pathlib.Path(__file__).resolve().parents[2]
SLUG = "ory-iam-emulated"
PASSWORD = "a-Long-and-unique-passphrase-42"


class Network:
    def __init__(self, tmp: pathlib.Path) -> None:
        self.key = f"ory_pat_emulated_{uuid.uuid4().hex}"
        register_secret(self.key)
        self.record = tmp / "requests.jsonl"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "network" / "emulator.py"), "--key", self.key, "--slug", SLUG,
             "--record", str(self.record)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        hello = json.loads(self.proc.stdout.readline())
        self.url: str = hello["url"]
        self.cookie_name: str = hello["cookie_name"]

    def config(self, api_key: str, client: tuple[str, str] | None = None) -> dict[str, Any]:
        tenant: dict[str, Any] = {
            "mode": "cloud",
            "cloud": {"project_slug": SLUG, "api_key": api_key},
            # The project's custom domain: Keto and Hydra follow it.
            "kratos": {"public_url": self.url},
            "http": {"timeout_ms": 15000, "retries": 2, "backoff_base_ms": 10},
        }
        if client:
            tenant["hydra"] = {"public_url": self.url, "admin_url": self.url,
                               "client_id": client[0], "client_secret": client[1]}
        return {"tenants": {"cloud": tenant}, "audit": {"sink": "log"}}

    def requests(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def network(tmp_path: pathlib.Path, stack: dict[str, Any]) -> Iterator[Network]:
    n = Network(tmp_path)
    try:
        yield n
    finally:
        n.stop()


def assert_key_discipline(requests: list[dict[str, Any]]) -> None:
    """Documented operations only; the key only in Authorization, only where required."""
    assert requests
    for r in requests:
        assert r["operation"] is not None, r
        if r["key_required"]:
            assert set(r["key_in"]) <= {"header:authorization"}, r
        else:
            assert r["key_in"] == [], r


def cookies(set_cookie: list[ory_iam.Secret]) -> str:
    pairs = [sc.expose().split(";")[0] for sc in set_cookie]
    return "; ".join(p for p in pairs if p.partition("=")[2])


async def test_every_service_of_a_cloud_tenant(network: Network, stack: dict[str, Any]) -> None:
    iam = ory_iam.Iam.from_config(network.config(network.key))

    email = f"py-cloud-{uuid.uuid4().hex}@example.test"
    created = await iam.identity.create(schema_id="customer", traits={"email": email})
    assert (await iam.identity.get(created.id)).id == created.id

    # Sessions: the project's cookie, found under the name derived from the slug.
    flow = await iam.flow.initiate_registration(kind="browser")
    user = f"py-cloud-browser-{uuid.uuid4().hex}@example.test"
    res = await iam.flow.submit_registration(
        flow.id, {"method": "password", "password": PASSWORD, "traits": {"email": user}},
        cookie=cookies(flow.set_cookie), csrf_token=flow.csrf_token)
    assert res.kind == "success"
    cookie = cookies(res.set_cookie)
    assert any(p.startswith(network.cookie_name + "=") for p in cookie.split("; "))
    session = await iam.session.whoami({"cookie": cookie})
    assert session.identity.traits is not None and session.identity.traits["email"] == user
    assert (await iam.identity.list_sessions(session.identity.id)).items

    # Permissions.
    t = {"namespace": "documents", "object": f"doc-{uuid.uuid4().hex}", "relation": "view", "subject": "alice"}
    await iam.permission.grant(t)
    assert await iam.permission.check(t) is True
    assert [r.allowed for r in await iam.permission.check_batch([t, {**t, "subject": "bob"}])] == [True, False]
    await iam.permission.revoke(t)
    assert await iam.permission.check(t) is False

    # OAuth2 clients and tokens.
    client = await iam.oauth2_client.create(grant_types=["client_credentials"], scope="read")
    assert client.client_secret is not None
    with_client = ory_iam.Iam.from_config(network.config(network.key, (client.client_id, client.client_secret.expose())))
    tokens = await with_client.token.client_credentials("read")
    assert (await with_client.token.introspect(tokens.access_token)).active

    class Req:
        headers = {"authorization": f"Bearer {tokens.access_token.expose()}"}

    assert (await with_client.token.authenticate(Req())).client_id == client.client_id
    await with_client.token.revoke(tokens.access_token)

    # JWKs and the published keys.
    key_set = f"ory-iam-cloud-{uuid.uuid4().hex}"
    assert len((await iam.jwk.create_set(key_set, alg="ES256", use="sig")).keys) == 1
    await iam.jwk.delete_set(key_set)
    assert (await iam.metadata.discover_jwks()).keys

    # Schemas.
    assert any(s.id == "customer" for s in await iam.schema.list())

    # version(): Kratos's; Keto's and Hydra's unknown, with the reason.
    v = await iam.metadata.version()
    assert v.kratos == stack["versions"]["kratos"]
    assert v.keto is None and v.hydra is None
    assert [(u.product, u.reason) for u in v.unknown] == [
        ("keto", "not_published_by_ory_network"), ("hydra", "not_published_by_ory_network")]

    # health(): documented operations only, healthy, no false version warnings.
    h = await iam.health()
    assert h.healthy, h
    assert [p.product for p in h.probes] == ["kratos-public", "kratos-admin", "keto-read", "hydra-public", "hydra-admin"]
    assert not any("major version" in w for w in h.warnings)

    await iam.oauth2_client.delete(client.client_id)
    await iam.identity.delete(created.id)
    await iam.identity.delete(session.identity.id)

    seen = network.requests()
    assert_key_discipline(seen)
    assert all(r["status"] not in (401, 404) for r in seen), [r for r in seen if r["status"] in (401, 404)]


async def test_a_wrong_key_is_unauthorized_and_never_echoed(network: Network) -> None:
    wrong = f"ory_pat_wrong_{uuid.uuid4().hex}"
    register_secret(wrong)
    iam = ory_iam.Iam.from_config(network.config(wrong))
    with pytest.raises(IamUnauthorizedError) as ei:
        await iam.identity.get("00000000-0000-0000-0000-000000000000")
    assert ei.value.code == "unauthorized"
    assert wrong not in str(ei.value) and wrong not in repr(ei.value)
    with pytest.raises(IamUnauthorizedError):
        await iam.metadata.version()
    h = await iam.health()
    assert not h.healthy
    for p in h.probes:
        keyed = p.product in ("kratos-admin", "keto-read", "hydra-admin")
        assert p.status == (401 if keyed else 200), p
    assert wrong not in repr(h)
    for r in network.requests():
        if r["key_required"]:
            assert (r["authorization"], r["status"]) == ("other", 401), r
        else:
            assert r["authorization"] == "none", r


def test_the_emulator_is_strict_to_the_network_document(network: Network) -> None:
    """The stand-in itself: routes only the document's project operations, the key exactly where
    `oryAccessToken` is required, and it records without the key."""
    import urllib.error
    import urllib.request

    def status(path: str, key: str | None = None) -> int:
        req = urllib.request.Request(network.url + path.lstrip("/"))
        if key:
            req.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)

    # Not in the document: the self-hosted health and version paths, the console's operations.
    for path in ("/health/ready", "/health/alive", "/admin/health/ready", "/admin/version", "/projects"):
        assert status(path, network.key) == 404, path
    # `GET /version` is `oryAccessToken`: no key or a wrong key → 401.
    assert status("/version") == 401
    assert status("/version", "ory_pat_wrong") == 401
    assert status("/version", network.key) == 200
    # Public operations need none.
    assert status("/schemas") == 200
    assert status("/.well-known/openid-configuration") == 200
    recorded = network.requests()
    assert network.key not in json.dumps(recorded)
    assert {r["path"]: r["key_required"] for r in recorded}["/version"] is True
