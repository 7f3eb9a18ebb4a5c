"""A whoami with a real session, from the installed wheel (tests/packaging/install.sh, foreign.sh):
a native registration (Kratos logs the new identity in), whoami with its session token, a made-up
token refused, the identity deleted and then not found."""

import asyncio
import uuid

import ory_iam


async def main() -> None:
    async with ory_iam.Iam.from_env() as iam:
        email = f"whoami-{uuid.uuid4().hex[:8]}@example.com"
        flow = await iam.flow.initiate_registration()
        body = {"method": "password", "password": f"pw-{uuid.uuid4()}", "traits": {"email": email}}
        reg = await iam.flow.submit_registration(flow.id, body)
        assert reg.kind == "success" and reg.session_token is not None and reg.identity is not None, reg.kind
        session = await iam.session.whoami({"authorization": f"Bearer {reg.session_token.expose()}"})
        traits = session.identity.traits or {}
        print("whoami:", session.identity.id == reg.identity.id and traits.get("email") == email, session.tenant)
        try:
            await iam.session.whoami({"authorization": f"Bearer ory_st_{uuid.uuid4().hex}"})
            print("made-up token: accepted")
        except ory_iam.IamError as e:
            print("made-up token:", isinstance(e, ory_iam.IamUnauthorizedError), e.code)
        await iam.identity.delete(reg.identity.id)
        try:
            await iam.identity.get(reg.identity.id)
        except ory_iam.IamError as e:
            print("gone:", isinstance(e, ory_iam.IamNotFoundError), e.code)


asyncio.run(main())
