#!/usr/bin/env python3
"""The local Ory stack for ory-iam's tests, examples and benchmarks.

    stack.py up [--fresh]   build (cached) and start Kratos x2, Keto, Hydra, Redis; write .stack/stack.json
    stack.py down           stop exactly the processes `up` started
    stack.py status         alive/healthy per service
    stack.py logs [N]       the last N lines of every server log

Real servers only: Kratos, Keto and Hydra built from the Go module proxy by build.sh, Debian's
redis-server. Everything listens on 127.0.0.1 on free ports. Standard library only.
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STATE = pathlib.Path(os.environ.get("ORY_IAM_STACK_DIR", ROOT / ".stack"))
LOGS = STATE / "logs"
PIDS = STATE / "pids.json"
STACK_JSON = STATE / "stack.json"
CACHE = pathlib.Path(os.environ.get("ORY_IAM_CACHE", pathlib.Path.home() / ".cache" / "ory-iam"))
TENANTS = ("customer", "admin")
READY_TIMEOUT = 90.0


def versions() -> dict[str, str]:
    out = subprocess.run(["bash", "-c", f"source {HERE / 'versions.sh'}; echo $KRATOS_VERSION $KETO_VERSION $HYDRA_VERSION"],
                         capture_output=True, text=True, check=True).stdout.split()
    return {"kratos": out[0], "keto": out[1], "hydra": out[2]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(template: str, out: pathlib.Path, values: dict[str, Any]) -> pathlib.Path:
    text = (HERE / template).read_text()
    for k, v in values.items():
        text = text.replace("${" + k + "}", str(v))
    if "${" in text:
        raise SystemExit(f"stack: unfilled placeholder in {template}")
    out.write_text(text)
    return out


def clean_env() -> dict[str, str]:
    # Every Ory config key can come from the environment and wins over the file: pass only
    # what a process needs, so a stray DSN/SERVE_*/LOG_* of the caller cannot leak in.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR", "TZ")}
    env["SQA_OPT_OUT"] = "true"
    return env


def sqlite_dsn(name: str) -> str:
    # A file database per server, not `memory`: the shared-cache memory mode gives table locks
    # under concurrency, which Kratos reports as 400 "Unable to serialize access due to a
    # concurrent update". WAL + busy timeout serialize writers instead.
    db = STATE / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        pathlib.Path(f"{db}{suffix}").unlink(missing_ok=True)
    return f"sqlite://{db}?_fk=true&mode=rwc&_journal_mode=WAL&_busy_timeout=10000"


def migrate(name: str, argv: list[str]) -> None:
    with open(LOGS / f"{name}.log", "ab") as log:
        r = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=clean_env(), cwd=STATE)
    if r.returncode != 0:
        raise RuntimeError(f"{name}: migrations failed (exit {r.returncode})")


def start(name: str, argv: list[str]) -> int:
    log = open(LOGS / f"{name}.log", "ab")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=clean_env(),
                         cwd=STATE, start_new_session=True)
    return p.pid


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours is not alive
        st = pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return st != "Z"
    except OSError:
        return False


def load_pids() -> dict[str, int]:
    return json.loads(PIDS.read_text()) if PIDS.exists() else {}


def stop_pids(pids: dict[str, int]) -> None:
    for name, pid in pids.items():
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(p) for p in pids.values()):
        time.sleep(0.1)
    for name, pid in pids.items():
        if alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.2)
    left = [n for n, p in pids.items() if alive(p)]
    if left:
        raise SystemExit(f"stack: could not stop {left}")


def readiness(stack: dict[str, Any]) -> dict[str, str]:
    checks = {}
    for t in TENANTS:
        k = stack["kratos"][t]
        checks[f"kratos-{t}-public"] = k["public_url"] + "health/ready"
        checks[f"kratos-{t}-admin"] = k["admin_url"] + "admin/health/ready"
    checks["keto-read"] = stack["keto"]["read_url"] + "health/ready"
    checks["keto-write"] = stack["keto"]["write_url"] + "health/ready"
    checks["hydra-public"] = stack["hydra"]["public_url"] + "health/ready"
    checks["hydra-admin"] = stack["hydra"]["admin_url"] + "health/ready"
    return checks


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def healthy(stack: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for name, url in readiness(stack).items():
        try:
            out[name] = http_get(url)[0] == 200
        except OSError:
            out[name] = False
    out["redis"] = redis_ping(stack["redis"]["port"])
    return out


def tail(path: pathlib.Path, n: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def cmd_logs(n: int = 40) -> None:
    if not LOGS.exists():
        print("stack: no logs")
        return
    for f in sorted(LOGS.glob("*.log")):
        print(f"----- {f.name} (last {n} lines)")
        print(tail(f, n))


def cmd_up(fresh: bool) -> None:
    t0 = time.time()
    if STACK_JSON.exists() and PIDS.exists():
        stack = json.loads(STACK_JSON.read_text())
        pids = load_pids()
        if not fresh and all(alive(p) for p in pids.values()) and all(healthy(stack).values()):
            print(f"stack: already up (kratos {stack['versions']['kratos']}, keto {stack['versions']['keto']}, "
                  f"hydra {stack['versions']['hydra']}, redis {stack['versions']['redis']}); reusing it")
            return
        stop_pids(pids)
        PIDS.unlink(missing_ok=True)

    if shutil.which("redis-server") is None:
        raise SystemExit("stack: redis-server is missing: apt-get install -y redis-server (scripts/setup.sh does it)")
    subprocess.run(["bash", str(HERE / "build.sh")], check=True)

    STATE.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(exist_ok=True)
    for f in LOGS.glob("*.log"):
        f.unlink()
    v = versions()
    bins = {k: CACHE / "bin" / f"{k}-{ver}" for k, ver in v.items()}
    helper_port = free_port()
    helper = f"http://127.0.0.1:{helper_port}"
    pids: dict[str, int] = {}
    stack: dict[str, Any] = {"kratos": {}, "helper": {"base_url": helper + "/", "port": helper_port}}
    try:
        for t in TENANTS:
            pub, adm = free_port(), free_port()
            cfg = render("kratos.yml.tmpl", STATE / f"kratos-{t}.yml", {
                "PUBLIC_PORT": pub, "ADMIN_PORT": adm, "HELPER": helper, "TENANT": t,
                "SCHEMA_PATH": HERE / f"identity.{t}.schema.json",
                "COOKIE_SECRET": secrets.token_hex(16), "CIPHER_SECRET": secrets.token_hex(16),
                "DEFAULT_SECRET": secrets.token_hex(16), "DSN": sqlite_dsn(f"kratos-{t}"),
            })
            migrate(f"kratos-{t}", [str(bins["kratos"]), "migrate", "sql", "-e", "--yes", "-c", str(cfg)])
            # --dev: cookies without Secure on http://127.0.0.1 and courier bodies readable.
            pids[f"kratos-{t}"] = start(f"kratos-{t}", [str(bins["kratos"]), "serve", "-c", str(cfg), "--dev", "--sqa-opt-out"])
            stack["kratos"][t] = {
                "public_url": f"http://127.0.0.1:{pub}/", "admin_url": f"http://127.0.0.1:{adm}/",
                "schema_id": t, "session_cookie_name": f"ory_kratos_session_{t}",
            }
        rp, wp, op, mp = free_port(), free_port(), free_port(), free_port()
        cfg = render("keto.yml.tmpl", STATE / "keto.yml", {"READ_PORT": rp, "WRITE_PORT": wp, "OPL_PORT": op, "METRICS_PORT": mp,
                                                          "DSN": sqlite_dsn("keto")})
        migrate("keto", [str(bins["keto"]), "migrate", "up", "--yes", "-c", str(cfg)])
        pids["keto"] = start("keto", [str(bins["keto"]), "serve", "-c", str(cfg), "--sqa-opt-out"])
        stack["keto"] = {"read_url": f"http://127.0.0.1:{rp}/", "write_url": f"http://127.0.0.1:{wp}/",
                         "namespaces": ["documents", "groups", "folders"]}
        hp, ha = free_port(), free_port()
        cfg = render("hydra.yml.tmpl", STATE / "hydra.yml", {"PUBLIC_PORT": hp, "ADMIN_PORT": ha, "HELPER": helper,
                                                            "SYSTEM_SECRET": secrets.token_hex(16), "DSN": sqlite_dsn("hydra")})
        migrate("hydra", [str(bins["hydra"]), "migrate", "sql", "-e", "--yes", "-c", str(cfg)])
        pids["hydra"] = start("hydra", [str(bins["hydra"]), "serve", "all", "-c", str(cfg), "--dev", "--sqa-opt-out"])
        stack["hydra"] = {"public_url": f"http://127.0.0.1:{hp}/", "admin_url": f"http://127.0.0.1:{ha}/",
                          "issuer": f"http://127.0.0.1:{hp}/"}
        redis_port = free_port()
        pids["redis"] = start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                        "--appendonly", "no", "--protected-mode", "yes"])
        stack["redis"] = {"url": f"redis://127.0.0.1:{redis_port}/0", "port": redis_port}
        PIDS.write_text(json.dumps(pids))

        deadline = time.time() + READY_TIMEOUT
        while True:
            dead = [n for n, p in pids.items() if not alive(p)]
            if dead:
                raise RuntimeError(f"exited during start-up: {', '.join(dead)}")
            h = healthy(stack)
            if all(h.values()):
                break
            if time.time() > deadline:
                raise RuntimeError("not ready in time: " + ", ".join(k for k, ok in h.items() if not ok))
            time.sleep(0.25)

        def version(url: str) -> str:
            return json.loads(http_get(url)[1])["version"]

        redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
        stack["versions"] = {
            "kratos": version(stack["kratos"]["customer"]["admin_url"] + "admin/version"),
            "keto": version(stack["keto"]["read_url"] + "version"),
            "hydra": version(stack["hydra"]["admin_url"] + "version"),
            "redis": next((w.split("=")[1] for w in redis_v if w.startswith("v=")), "unknown"),
        }
        stack["logs_dir"] = str(LOGS)
        stack["iam_config"] = iam_config(stack)
        STACK_JSON.write_text(json.dumps(stack, indent=2))
    except BaseException as e:
        print(f"stack: start failed: {e}", file=sys.stderr)
        for name in pids:
            print(f"----- {name}.log", file=sys.stderr)
            print(tail(LOGS / f"{name}.log", 30), file=sys.stderr)
        stop_pids(pids)
        PIDS.unlink(missing_ok=True)
        raise SystemExit(1)
    vs = stack["versions"]
    print(f"stack: up in {time.time() - t0:.1f}s — kratos {vs['kratos']} (customer, admin), keto {vs['keto']}, "
          f"hydra {vs['hydra']}, redis {vs['redis']}; config in {STACK_JSON}")


def iam_config(stack: dict[str, Any]) -> dict[str, Any]:
    """A ready-to-use ory-iam config (API.md shape) for the tenants customer and admin."""
    tenants = {}
    for t in TENANTS:
        k = stack["kratos"][t]
        tenants[t] = {
            "mode": "self-hosted",
            "transport": "cookie-or-bearer",
            "kratos": {"public_url": k["public_url"], "admin_url": k["admin_url"], "session_cookie_name": k["session_cookie_name"]},
            "keto": {"read_url": stack["keto"]["read_url"], "write_url": stack["keto"]["write_url"]},
            "hydra": {"public_url": stack["hydra"]["public_url"], "admin_url": stack["hydra"]["admin_url"]},
            "http": {"timeout_ms": 5000, "retries": 2},
        }
    return {"default_tenant": "customer", "tenants": tenants, "session_cache": "none", "audit": {"sink": "none"}}


def cmd_down() -> None:
    pids = load_pids()
    if not pids:
        print("stack: nothing to stop")
        return
    stop_pids(pids)
    PIDS.unlink(missing_ok=True)
    print(f"stack: stopped {', '.join(pids)}")


def cmd_status() -> int:
    if not STACK_JSON.exists():
        print("stack: not started")
        return 1
    stack = json.loads(STACK_JSON.read_text())
    pids = load_pids()
    h = healthy(stack)
    for name, pid in pids.items():
        print(f"{name:<16} pid {pid:<8} {'alive' if alive(pid) else 'DEAD'}")
    for name, ok in h.items():
        print(f"{name:<22} {'ready' if ok else 'NOT READY'}")
    return 0 if pids and all(h.values()) else 1


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    if cmd == "up":
        cmd_up("--fresh" in argv)
    elif cmd == "down":
        cmd_down()
    elif cmd == "status":
        return cmd_status()
    elif cmd == "logs":
        cmd_logs(int(argv[2]) if len(argv) > 2 else 40)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
