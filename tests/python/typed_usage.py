"""A typed usage of the package: mypy --strict must accept it (checked in CI), so the stubs and
annotations describe what users write. Not a test module; never run."""

from __future__ import annotations

import ory_iam
from ory_iam import FlowResult, Identity, IamMachinePrincipal, IamPermissionTuple, Secret, Session


async def main() -> None:
    iam = ory_iam.Iam.from_config({"tenants": {"customer": {"kratos": {"public_url": "http://127.0.0.1:4433"}}}})
    customers = iam.identity.for_tenant("customer")
    created: Identity = await customers.create(schema_id="customer", traits={"email": "a@example.com"})
    plain: Identity = await customers.get(created.id)
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
