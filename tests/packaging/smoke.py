"""Smoke test of an installed wheel where no Ory stack runs (the release workflow's macOS,
Windows, arm64 and musl runners): the native module loads, the core runs a real HTTP call to a
closed port and it surfaces as the library's own error class. The full install test with the
stack is tests/packaging/install.sh."""

import asyncio
import socket
import uuid

import ory_iam


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    config = {"tenants": {"t": {"kratos": {"public_url": url, "admin_url": url}, "http": {"retries": 0}}}}
    async with ory_iam.Iam.from_config(config) as iam:
        try:
            await iam.identity.get(str(uuid.uuid4()))
        except ory_iam.IamUpstreamUnavailableError as e:
            print("smoke ok:", e.code)
            return
    raise SystemExit("smoke: a closed port did not raise IamUpstreamUnavailableError")


asyncio.run(main())
