"""Start and drive `fault_proxy.py` from Python tests and scripts (stdlib only).

    with FaultProxy("http://127.0.0.1:4433/") as p:
        p.fault("status", status=503)
        ...            # point ory-iam at p.url
        p.stats()["requests"]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "fault_proxy.py")


class FaultProxy:
    def __init__(self, upstream: str, port: int = 0) -> None:
        self.upstream = upstream
        self.proc = subprocess.Popen(
            [sys.executable, SCRIPT, "--upstream", upstream.rstrip("/"), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("fault_proxy.py did not start")
        self.port: int = json.loads(line)["port"]
        self.url = f"http://127.0.0.1:{self.port}/"

    def _call(self, method: str, action: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url}__proxy/{action}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def fault(self, mode: str, **options: Any) -> None:
        self._call("POST", "fault", {"mode": mode, **options})

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = self._call("GET", "stats")
        return out

    def requests(self, fragment: str = "") -> int:
        """Requests forwarded whose path contains `fragment` (all when empty), as the Rust helper."""
        st = self.stats()
        if not fragment:
            return int(st["requests"])
        return sum(int(n) for p, n in st["by_path"].items() if fragment in p)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_exit(self, timeout: float = 5.0) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_for(pred: Any, timeout: float = 5.0, step: float = 0.02) -> float | None:
    """Seconds until `pred()` was true, or None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(step)
    return None
