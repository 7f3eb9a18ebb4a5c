#!/usr/bin/env python3
"""A TCP forwarder for the transport tests (stdlib only, asyncio), optionally terminating TLS.

    python3 tests/security/tls_proxy.py --upstream 127.0.0.1:PORT [--listen ::1] \
        [--cert server.pem --key server.key [--client-ca ca.pem]]

prints one line `{"port": N}` on stdout once it listens on `--listen` (127.0.0.1 by default; `::1`
puts a real server of the local stack behind an IPv6 literal URL), then forwards every connection
byte for byte to the upstream. With `--cert`/`--key` it is a TLS-terminating proxy (what a
self-hosted Ory behind a private CA looks like); with `--client-ca` it also requires a client
certificate signed by that CA (mutual TLS) and refuses the handshake without one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl


async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    try:
        while data := await r.read(65536):
            w.write(data)
            await w.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        if not w.is_closing():
            w.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="host:port of the real server")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca")
    a = p.parse_args()
    host, _, port = a.upstream.rpartition(":")
    ctx = None
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.client_ca:
            ctx.load_verify_locations(a.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED

    async def on_conn(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection(host.strip("[]"), int(port))
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, uw), pipe(ur, cw))

    server = await asyncio.start_server(on_conn, a.listen, 0, ssl=ctx)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
