"""SchemaService and CourierService from Python against the real Kratos instances."""

from __future__ import annotations

import pytest

import ory_iam
from ory_iam import IamNotFoundError, IamValidationError, Secret


async def test_schemas_per_tenant(iam: ory_iam.Iam) -> None:
    assert [s.id for s in await iam.schema.list()] == ["customer"]
    admin = iam.schema.for_tenant("admin")
    s = await admin.get("admin")
    assert "department" in s.schema["properties"]["traits"]["properties"]
    with pytest.raises(IamNotFoundError):
        await admin.get("customer")
    with pytest.raises(IamValidationError):
        await admin.get("")


async def test_courier_bodies_only_when_asked(iam: ory_iam.Iam, email: str) -> None:
    who = await iam.identity.create(schema_id="customer", traits={"email": email})
    flow = await iam.flow.initiate_recovery()
    sent = await iam.flow.submit_recovery(flow.id, {"method": "code", "email": email})
    assert sent.kind == "continue"
    page = await iam.courier.list(recipient=email)
    assert len(page.items) == 1
    m = page.items[0]
    assert m.status == "queued" and m.body is None
    assert email not in repr(m)
    with_body = await iam.courier.list(recipient=email, include_body=True)
    body = with_body.items[0].body
    assert isinstance(body, Secret) and sum(c.isdigit() for c in body.expose()) >= 6
    assert body.expose() not in repr(with_body.items[0])
    assert "***" == with_body.items[0].to_dict()["body"]
    assert (await iam.courier.get(m.id)).body is None
    assert (await iam.courier.get(m.id, include_body=True)).body is not None
    seen = [x.id async for x in iam.courier.list_all(recipient=email, page_size=1)]
    assert seen == [m.id]
    with pytest.raises(IamNotFoundError):
        await iam.courier.for_tenant("admin").get(m.id)
    with pytest.raises(IamValidationError):
        await iam.courier.list(status="lost")
    await iam.identity.delete(who.id)
