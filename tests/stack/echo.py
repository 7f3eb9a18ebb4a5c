#!/usr/bin/env python3
"""The upstream behind the stack's Oathkeeper: answers every request with a JSON description of
the request it received (method, path, headers), so a test sees exactly what Oathkeeper hands an
app (e.g. `Authorization: Bearer <id_token JWT>`). Standard library only.

    echo.py --port N
"""

import argparse
import http.server
import json


class Echo(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = json.dumps({"method": self.command, "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    http.server.ThreadingHTTPServer(("127.0.0.1", ap.parse_args().port), Echo).serve_forever()
