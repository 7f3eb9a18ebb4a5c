"""A short tour of ory-iam from Python against the local stack (tests/stack/up)."""

import asyncio
import json
import os
import pathlib
import sys

import ory_iam

ROOT = pathlib.Path(__file__).resolve().parents[1]


async def main() -> None:
    stack = json.loads(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".stack" / "stack.json").read_text())
    events: list[dict] = []
    iam = ory_iam.Iam.from_config(dict(stack["iam_config"], audit={"sink": "callback"}), audit_callback=events.append)
    print("1.", iam)
    v = await iam.metadata.version()
    print(f"2. kratos {v.kratos} · keto {v.keto} · hydra {v.hydra}")
    email = f"tour-py-{os.getpid()}@example.test"
    created = await iam.identity.create(schema_id="customer", traits={"email": email})
    print("3. created", created.id)
    print("4. get():", await iam.identity.get(created.id))
    print("   get_with_traits().traits:", (await iam.identity.get_with_traits(created.id)).traits)
    try:
        await iam.identity.for_tenant("admin").get(created.id)
    except ory_iam.IamNotFoundError as e:
        print("5. tenant admin:", e.code, e.status)
    await iam.identity.delete(created.id)
    print("6. deleted; audit:", [(e["name"], e["result"]) for e in events])


asyncio.run(main())
