"""A typed usage of the package: mypy --strict must accept it (checked in CI), so the stubs and
annotations describe what users write. Not a test module; never run."""

from __future__ import annotations

import os
from typing import List, Optional

import ory_iam
from ory_iam import FlowResult, Identity, IamMachinePrincipal, IamPermissionTuple, Secret, Session
from ory_iam.config import HttpConfigDict, IamConfigDict, SessionCacheConfigDict, TenantConfigDict


async def main() -> None:
    iam = ory_iam.Iam.from_config({"tenants": {"customer": {"kratos": {"public_url": "http://127.0.0.1:4433"}}}})
    customers = iam.identity.for_tenant("customer")
    created: Identity = await customers.create(schema_id="customer", traits={"email": "a@example.com"})
    plain: Identity = await customers.get(created.id)
    # Keyword inputs are checked against ory_iam.inputs (TypedDicts): a wrong key or value type
    # is a mypy error (the ignores below are themselves checked: warn_unused_ignores).
    await customers.create(
        schema_id="customer",
        traits={"email": "a@example.com"},
        verifiable_addresses=[{"value": "a@example.com", "via": "email", "verified": True, "status": "completed"}],
        recovery_addresses=[{"value": "a@example.com"}],
    )
    await customers.create(schema_id="customer", traits={}, shoe_size=44)  # type: ignore[call-arg]
    await customers.create(schema_id="customer", traits={}, state="gone")  # type: ignore[arg-type]
    by_email = await customers.list(credentials_identifier="a@example.com", page_size=10)
    await customers.list(page=0, per_page=25, ids=[created.id])
    await customers.list(page="0")  # type: ignore[arg-type]
    opts: ory_iam.inputs.ListIdentitiesInput = {"ids": [created.id]}
    print(by_email.items, (await customers.list(opts)).items)
    print(plain.traits is None)
    async for i in customers.list_all(page_size=50):
        print(i.id)
    flow = await iam.flow.initiate_login(kind="browser")
    result: FlowResult = await iam.flow.submit_login(flow.id, {"method": "password"}, csrf_token=flow.csrf_token)
    if result.kind == "success" and result.session_token is not None:
        token: Secret = result.session_token
        s: Session = await iam.session.whoami({"authorization": f"Bearer {token.expose()}"})
        print(s.identity.id, s.cache_hit)
    allowed: bool = await iam.permission.check(IamPermissionTuple("documents", "d1", "view", "alice"), fresh=True)
    results = await iam.permission.check_batch([{"namespace": "documents", "object": "d1", "relation": "view", "subject": "bob"}])
    print(allowed, [r.allowed for r in results])
    p: IamMachinePrincipal = await iam.token.authenticate({"authorization": "Bearer x"}, required_scope=["read"])
    print(p.client_id, p.scope)
    h = await iam.health()
    print(h.healthy, h.warnings)
    try:
        await iam.session.whoami({})
    except ory_iam.IamUnauthorizedError as e:
        print(e.code, e.status, e.request_id)
        transport: ory_iam.Transport = iam.transport_of("customer")
        answer: ory_iam.HttpAnswer = ory_iam.http_answer(e, transport=transport, bearer_presented=True, retry_after_fallback=2.0)
        status: int = answer.status
        headers: dict[str, str] = answer.headers
        print(status, headers.get("www-authenticate"), answer.body["error"])


def fastapi_subjects(iam: ory_iam.Iam) -> None:
    """The subject of a permission dependency: the caller by default, a fixed one, or computed
    from the session (never from the request)."""
    from ory_iam.fastapi import IamAuth

    auth = IamAuth(iam, tenant="customer")
    auth.require_permission("folders", "view", object=lambda r: str(r.path_params["id"]))
    auth.require_permission("folders", "view", object="f", subject=ory_iam.SubjectSet("groups", "g", "member"))
    auth.require_permission("folders", "view", object="f", subject=lambda s: s.identity.id)
    # The old (request, session) form does not type-check (and raises TypeError when built).
    auth.require_permission("folders", "view", object="f", subject=lambda r, s: str(r.path_params["g"]))  # type: ignore[arg-type]


def fastapi_issue_23(iam: ory_iam.Iam) -> None:
    """Subject mappers per integration, machine principals, health routes."""
    from typing import Awaitable, Callable

    from fastapi import APIRouter
    from starlette.requests import Request

    from ory_iam.fastapi import IamAuth, health_router

    nest = IamAuth(iam, tenant="customer", subject=lambda identity_id: f"user:{identity_id}", machine_subject=lambda c: f"client:{c}")
    user_dep: Callable[[Request], Awaitable[Session]] = nest.require_permission("documents", "view", object="d")
    machine_dep: Callable[[Request], Awaitable[IamMachinePrincipal]] = nest.require_permission("documents", "view", object="d", principal="machine")
    role_dep: Callable[[Request], Awaitable[IamMachinePrincipal]] = nest.require_role("admin", principal="machine")
    nest.require_role("admin", principal="robot")  # type: ignore[call-overload]
    router: APIRouter = health_router(iam, path="/ready")
    print(user_dep, machine_dep, role_dep, router)


async def typed_inputs(iam: ory_iam.Iam) -> None:
    """Every option keyword is checked against its ory_iam.inputs TypedDict."""
    await iam.identity.list_sessions("id", active=True, page_size=10)
    await iam.identity.list_sessions("id", activ=True)  # type: ignore[call-arg]
    await iam.identity.patch("id", [{"op": "replace", "path": "/state", "value": "inactive"}])
    await iam.oauth2_client.create(grant_types=["client_credentials"], scope="read", skip_consent=True)
    await iam.oauth2_client.create(grant_type=["client_credentials"])  # type: ignore[call-arg]
    await iam.oauth2_client.list(owner="o", page_size=5)
    await iam.token.refresh(refresh_token=Secret("r"), scope="read")
    await iam.token.refresh(refresh="r")  # type: ignore[call-arg]
    await iam.token.revoke("t", token_type_hint="access_token")
    await iam.token.revoke("t", token_type_hint="id_token")  # type: ignore[arg-type]
    await iam.consent.accept_login_request("c", subject="u", remember=True)
    await iam.consent.accept_consent_request("c", grant_scope=["openid"], session={"id_token": {"email": "a@example.com"}})
    await iam.consent.reject_login_request("c", error="access_denied", status_code=403)
    await iam.consent.reject_login_request("c", reason="no")  # type: ignore[call-arg]
    await iam.jwk.create_set("s", alg="ES256", use="sig")
    await iam.jwk.create_set("s", alg="ES256", usage="sig")  # type: ignore[call-arg]
    await iam.trusted_issuer.trust(issuer="i", allow_any_subject=True, scope=["read"], expires_at="2030-01-01T00:00:00Z", public_key={})
    await iam.trusted_issuer.list(issuer="i")
    await iam.permission.list(namespace="documents", subject={"namespace": "groups", "object": "g", "relation": "member"})
    await iam.permission.expand(namespace="documents", object="d", relation="view", max_depth=3)
    await iam.permission.expand(namespace="documents", obj="d")  # type: ignore[call-arg]
    tuple_: ory_iam.inputs.PermissionTupleInput = {"namespace": "documents", "object": "d", "relation": "view", "subject": "alice"}
    await iam.permission.grant(tuple_)
    await iam.permission.patch([{"action": "delete", "tuple": tuple_}, {"action": "insert", "tuple": ory_iam.IamPermissionTuple("documents", "d", "edit", "alice")}])
    await iam.permission.patch([{"action": "upsert", "tuple": tuple_}])  # type: ignore[typeddict-item]
    await iam.permission.delete_matching(namespace="documents", object="d")
    await iam.permission.delete_matching(namespace="documents", page_size=3)  # type: ignore[call-arg]
    names: List[str] = await iam.permission.namespaces()
    rec: ory_iam.Recovery = await iam.identity.create_recovery_link("i", expires_in="15m")
    await iam.identity.create_recovery_code("i", expires="15m")  # type: ignore[call-arg]
    link: ory_iam.Secret = rec.link
    await iam.identity.revoke_sessions("i")
    made: List[ory_iam.BatchCreateResult] = await iam.identity.create_many([{"schema_id": "customer", "traits": {}}])
    await iam.identity.create_many([{"schema": "customer"}])  # type: ignore[typeddict-unknown-key]
    print(made)
    sessions: ory_iam.Page[ory_iam.Session] = await iam.session.list(active=True, page_size=10)
    one: ory_iam.Session = await iam.session.get("s")
    mine = await iam.session.list_mine({"cookie": "c"}, page_size=5)
    count: int = await iam.session.revoke_my_other_sessions({"cookie": "c"})
    await iam.session.revoke_mine({"cookie": "c"}, "s")
    err: ory_iam.FlowError = await iam.flow.get_error("e")
    native = await iam.flow.initiate_registration(return_to="myapp://done", return_session_token_exchange_code=True)
    exchanged: FlowResult = await iam.flow.exchange_session_token(native.session_token_exchange_code or "", "code")
    app_token: Optional[ory_iam.Secret] = exchanged.session_token
    print(names, link, sessions, one, mine, count, err)
    apps: ory_iam.Page[ory_iam.ConsentSession] = await iam.consent.list_consent_sessions(subject="u", page_size=10)
    await iam.consent.list_consent_sessions(subjekt="u")  # type: ignore[call-arg]
    await iam.consent.revoke_consent_sessions(subject="u", client="c")
    await iam.consent.revoke_consent_sessions(subject="u", all="yes")  # type: ignore[arg-type]
    await iam.consent.revoke_login_sessions(sid="s")
    logout: ory_iam.Secret = iam.consent.logout_url(id_token_hint=ory_iam.Secret("a.b.c"), state="s")
    await iam.token.delete_access_tokens("c")
    info: ory_iam.UserInfo = await iam.token.userinfo(ory_iam.Secret("t"))
    disco: ory_iam.OidcConfiguration = await iam.token.discover()
    await iam.oauth2_client.set_lifespans("c", client_credentials_grant_access_token_lifespan="1h")
    await iam.oauth2_client.set_lifespans("c", client_credentials_lifespan="1h")  # type: ignore[call-arg]
    reg = await iam.oauth2_client.register(client_name="dyn")
    rat: Optional[ory_iam.Secret] = reg.registration_access_token
    if rat is not None:
        await iam.oauth2_client.set_registered(reg.client_id, rat, {"client_name": "x"})
        await iam.oauth2_client.delete_registered(reg.client_id, rat)
    print(apps, logout, info, disco)
    await iam.courier.list(status="queued", include_body=False)
    await iam.courier.list(status="lost")  # type: ignore[arg-type]
    flow = await iam.flow.initiate_registration(kind="native", return_to=None)
    await iam.flow.initiate_login(knd="native")  # type: ignore[call-arg]
    await iam.flow.fetch_flow("registration", flow.id, csrf_token=flow.csrf_token)
    await iam.project_admin.create(name="p", environment="dev")
    await iam.project_admin.create(name="p", environment="qa")  # type: ignore[arg-type]
    await iam.project_admin.create_api_key("p", name="k")
    await iam.workspace_admin.list(page_size=10)
    await iam.workspace_admin.create({"name": "Team"})
    await iam.events.create("p", type="https", https_endpoint="https://example.com/hook")
    await iam.events.set("p", "s", kind="https")  # type: ignore[call-arg]


# Typed configuration (ory_iam.config): mypy checks every key and value of an annotated literal.
# tests/python/test_config_types.py builds an Iam from these, and checks that together they set
# every key the config reader accepts.
def every_key_config(tls_dir: str = "/etc/ory-iam/tls") -> IamConfigDict:
    """``tls_dir`` holds ca.pem, client.pem and client.key (read when the Iam is built)."""
    tenant: TenantConfigDict = {
        "mode": "cloud",
        "transport": "oathkeeper",
        "trust_proxy": True,
        "kratos": {
            "public_url": "http://127.0.0.1:4433",
            "admin_url": os.environ.get("KRATOS_ADMIN_URL"),  # None: not set
            "admin_token": "kratos-token",
            "session_cookie_name": "ory_kratos_session",
        },
        "keto": {"read_url": "http://127.0.0.1:4466", "write_url": "http://127.0.0.1:4467", "api_key": "keto-key", "batch_size": 10, "opl_url": "http://127.0.0.1:4469"},
        "hydra": {
            "public_url": "http://127.0.0.1:4444",
            "admin_url": "http://127.0.0.1:4445",
            "admin_token": "hydra-token",
            "issuer": "http://127.0.0.1:4444/",
            "client_id": "billing-service",
            "client_secret": "client-secret",
            "audience": "https://api.example.com",
            "bearer_mode": "introspect",
            "leeway_ms": 5000,
        },
        "cloud": {"project_slug": "happy-cat-123", "api_key": "ory_pat_x"},
        "console": {"url": "https://api.console.ory.sh", "workspace_api_key": "ory_wak_x"},
        "oathkeeper": {
            "verifier": "jwt",
            "identity_header": "Authorization",
            "signature_header": "X-User-Signature",
            "signer_keys": ["k1", "k2"],
            "replay_max_entries": 1000,
            "jwks": {"url": "http://127.0.0.1:4456/.well-known/jwks.json", "keys": {"keys": []}, "algorithms": ["RS256", "ES256"]},
            "audience": ["my-app"],
            "issuer": "http://127.0.0.1:4455/",
            "clock_skew_ms": 2000,
            "replay_protection": {"enabled": False, "ttl_ms": 60000},
        },
        "cache": {
            "session_ttl_ms": 60000,
            "permission_ttl_ms": 5000,
            "permission_max_entries": 1000,
            "jwks_ttl_ms": 600000,
            "jwks_stale_ms": 3600000,
            "introspection_ttl_ms": 1000,
            "introspection_max_entries": 1000,
        },
        "http": {
            "timeout_ms": 5000,
            "connect_timeout_ms": 2000,
            "retries": 2,
            "backoff_base_ms": 50,
            "backoff_max_ms": 2000,
            "max_body_bytes": 8 * 1024 * 1024,
            "breaker_threshold": 5,
            "breaker_open_ms": 10000,
            "rate_limit_per_sec": 100,
            "rate_limit_burst": 10,
            "ca_file": f"{tls_dir}/ca.pem",
            "client_cert_file": f"{tls_dir}/client.pem",
            "client_key_file": f"{tls_dir}/client.key",
        },
    }
    return {
        "tenants": {"customer": tenant},
        "default_tenant": "customer",
        "session_cache": {
            "redis": {
                "url": "rediss://127.0.0.1:6380/0",
                "keys": ["MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="],
                "key_prefix": "my-app",
                "ca_file": f"{tls_dir}/ca.pem",
                "client_cert_file": f"{tls_dir}/client.pem",
                "client_key_file": f"{tls_dir}/client.key",
            }
        },
        "audit": {"sink": "none", "redact_patterns": ["acct-[0-9]+"]},
    }


def redis_topology_configs() -> list[IamConfigDict]:
    """A Redis Cluster and a Sentinel-managed master (each excludes ``url`` and the other)."""
    key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    tenants: dict[str, TenantConfigDict] = {"customer": {"kratos": {"public_url": "http://127.0.0.1:4433"}}}
    cluster: SessionCacheConfigDict = {
        "redis": {"cluster": ["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"], "keys": key, "wait_replicas": 1, "wait_timeout_ms": 1000}
    }
    sentinel: SessionCacheConfigDict = {
        "redis": {
            "sentinel": {
                "urls": "redis://127.0.0.1:26379,redis://127.0.0.1:26380",
                "master_name": "main",
                "master_username": "app",
                "master_password": "sentinel-master-password-7f3a9c",
                "db": 2,
            },
            "keys": [key],
            "wait_replicas": 0,
        }
    }
    return [{"tenants": tenants, "session_cache": cluster}, {"tenants": tenants, "session_cache": sentinel}]


def memory_cache_config() -> IamConfigDict:
    memory: SessionCacheConfigDict = {"memory": {"max_entries": 1000}}
    config: IamConfigDict = {"tenants": {"customer": {"kratos": {"public_url": "http://127.0.0.1:4433"}}}, "session_cache": memory}
    config["session_cache"] = "memory"
    # A misspelled key is refused (were it accepted, strict mypy would report the unused ignore).
    typo: HttpConfigDict = {"timeout_msec": 5000}  # type: ignore[typeddict-unknown-key]
    print(typo)
    return {**config, "session_cache": memory}


def typed_iam() -> ory_iam.Iam:
    return ory_iam.Iam.from_config(every_key_config(), audit_callback=None)


def blocking(config: IamConfigDict) -> None:
    """ory_iam.sync: the same surface without await; paging is a plain iterator."""
    from typing import Iterator, Optional

    from ory_iam.sync import IdentityService, Iam as SyncIam

    with SyncIam.from_config(config) as iam:
        customers: IdentityService = iam.identity.for_tenant("customer")
        created: Identity = customers.create(schema_id="customer", traits={"email": "a@example.com"})
        every: Iterator[Identity] = customers.list_all(page_size=50)
        for i in every:
            print(i.id, created.id)
        s: Session = iam.session.whoami({"authorization": "Bearer x"})
        maybe: Optional[Session] = iam.session.with_transport("bearer").whoami_or_null({})
        allowed: bool = iam.permission.check({"namespace": "documents", "object": "d1", "relation": "view", "subject": s.identity.id})
        flow = iam.flow.initiate_login(kind="browser")
        result: FlowResult = iam.flow.submit_login(flow.id, {"method": "password"}, csrf_token=flow.csrf_token)
        print(allowed, maybe, result.kind, iam.health().healthy)
    view: SyncIam = SyncIam(ory_iam.Iam.from_config(config))
    view.close()
