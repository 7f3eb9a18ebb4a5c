#!/usr/bin/env python3
"""The local Ory stack for ory-iam's tests, examples and benchmarks.

    stack.py up [--fresh]   build (cached) and start Kratos x2, Keto, Hydra, Redis; write .stack/stack.json
    stack.py down           stop exactly the processes `up` started (keeps the logs)
    stack.py status         alive/ready per service; exit 0 only when all are
    stack.py logs [N]       the last N lines (default 40) of every server log

Real servers only: Kratos, Keto, Hydra and Oathkeeper built from the Go module proxy by build.sh,
Debian's redis-server. Everything listens on 127.0.0.1 on free ports. Standard library only.

State lives in <repo>/.stack/ (or $ORY_IAM_STACK_DIR, e.g. for a private stack next to a shared
one): rendered configs, SQLite files, logs/<service>.log, pids.json, stack.json.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any, Iterator

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STATE = pathlib.Path(os.environ.get("ORY_IAM_STACK_DIR", ROOT / ".stack")).resolve()
LOGS = STATE / "logs"
PIDS = STATE / "pids.json"
STACK_JSON = STATE / "stack.json"
CACHE = pathlib.Path(os.environ.get("ORY_IAM_CACHE", pathlib.Path.home() / ".cache" / "ory-iam"))
TENANTS = ("customer", "admin")
SESSION_LIFESPAN = {"customer": "1h", "admin": "3s"}
CONSOLE_KEY = "ory_wak_ory_iam_test_console"
OATHKEEPER_AUDIENCE = "ory-iam-tests"
# Kratos's sign-in with Hydra: the `email` claim of Hydra's ID token becomes the `email` trait.
OIDC_MAPPER = base64.b64encode(b"local claims = std.extVar('claims');\n"
                               b"{ identity: { traits: { email: claims.email } } }\n").decode()
KETO_NAMESPACES = ["documents", "groups", "folders"]  # must match keto.yml.tmpl
KETO_MAX_BATCH = 100  # Keto's limit.max_batch_check_size (its default is 10)
# Seconds for all servers to answer ready (a warm start takes ~2 s; slow CI machines may need more).
READY_TIMEOUT = float(os.environ.get("ORY_IAM_STACK_TIMEOUT", "60"))
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL


# ----------------------------------------------------------------------------- helpers

def pinned_versions() -> dict[str, str]:
    """The versions build.sh builds (versions.sh is the single source of truth)."""
    out = subprocess.run(
        ["bash", "-c", f"source '{HERE / 'versions.sh'}'; "
                 "echo $KRATOS_VERSION $KETO_VERSION $HYDRA_VERSION $OATHKEEPER_VERSION"],
        capture_output=True, text=True, check=True).stdout.split()
    return dict(zip(("kratos", "keto", "hydra", "oathkeeper"), out))


def free_ports(n: int) -> list[int]:
    """n distinct free loopback ports. All sockets stay bound until every port is picked, so the
    kernel cannot hand out the same port twice; the servers bind them a moment later."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def render(template: str, out: pathlib.Path, values: dict[str, Any]) -> pathlib.Path:
    """Fill ${NAME} placeholders of a template in this folder; refuse to leave any unfilled."""
    text = (HERE / template).read_text()
    for k, v in values.items():
        text = text.replace("${" + k + "}", str(v))
    if "${" in text:
        raise RuntimeError(f"unfilled placeholder in {template}: {text[text.index('${'):][:40]!r}")
    out.write_text(text)
    return out


def clean_env() -> dict[str, str]:
    # Every Ory config key can also come from the environment (DSN, SERVE_PUBLIC_PORT, LOG_LEVEL,
    # SECRETS_*, ...) and the environment wins over the file. Pass only what a process needs, so
    # nothing of the caller's environment can leak into a server's config.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")}
    env["SQA_OPT_OUT"] = "true"  # telemetry off (the --sqa-opt-out flag too, belt and braces)
    return env


def sqlite_dsn(name: str) -> str:
    # A fresh file database per server, not `dsn: memory`: Kratos's memory DSN is a shared-cache
    # in-memory SQLite with table-level locks, and concurrent test requests then fail with 400
    # "Unable to serialize access due to a concurrent update". A file in WAL mode with a busy
    # timeout serializes writers instead. Tried and dropped: `_txlock=immediate` and
    # `max_conns=1` (both made registration stall: Kratos nests queries on a second connection).
    # A rare 500 "database is locked" remains under concurrent writes; the library retries
    # idempotent calls on 5xx. Costs one `migrate` run per server (a second or so).
    db = STATE / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        pathlib.Path(f"{db}{suffix}").unlink(missing_ok=True)
    return f"sqlite://{db}?_fk=true&mode=rwc&_journal_mode=WAL&_busy_timeout=10000"


def migrate(name: str, argv: list[str]) -> None:
    # Own log file: Hydra prints every SQL statement of its ~3000-line migration, which would bury
    # the server's own output in logs/<name>.log.
    log_path = LOGS / f"{name}.migrate.log"
    with open(log_path, "wb") as log:
        r = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           env=clean_env(), cwd=STATE)
    if r.returncode != 0:
        raise StartError(f"{name}: migrations failed (exit {r.returncode})", [log_path])


def start(name: str, argv: list[str]) -> dict[str, int]:
    """Start a server in its own process group (so `down` can signal it and anything it forks)
    with stdout+stderr to logs/<name>.log. Returns its pids.json entry."""
    with open(LOGS / f"{name}.log", "ab") as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=clean_env(), cwd=STATE, start_new_session=True)
    return {"pid": p.pid, "started": start_time(p.pid)}


def start_time(pid: int) -> int | None:
    """Process start time in clock ticks since boot (/proc/<pid>/stat field 22): with the pid it
    identifies a process, so a pid recycled after a reboot is never mistaken for ours."""
    try:
        return int(pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(entry: dict[str, int]) -> bool:
    """Is the process of this pids.json entry still running (and not a zombie)?"""
    pid = entry["pid"]
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    if fields[0] == "Z":
        return False
    return entry.get("started") is None or int(fields[19]) == entry["started"]


def load_pids() -> dict[str, dict[str, int]]:
    if not PIDS.exists():
        return {}
    raw = json.loads(PIDS.read_text())
    # Older files held bare pids; keep reading them so `down` still stops such a stack.
    return {name: v if isinstance(v, dict) else {"pid": v} for name, v in raw.items()}


def stop(pids: dict[str, dict[str, int]]) -> None:
    """SIGTERM each process group, SIGKILL what is left after the grace period, then verify."""
    def signal_all(sig: int) -> None:
        for entry in pids.values():
            if alive(entry):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(entry["pid"], sig)  # pgid == pid: started with start_new_session

    signal_all(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline and any(alive(e) for e in pids.values()):
        time.sleep(0.1)
    signal_all(signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(e) for e in pids.values()):
        time.sleep(0.1)
    left = [f"{n} (pid {e['pid']})" for n, e in pids.items() if alive(e)]
    if left:
        raise SystemExit(f"stack: could not stop {', '.join(left)}")


@contextlib.contextmanager
def state_lock() -> Iterator[None]:
    """Serialize up/down on one state dir (e.g. two test runners calling `up` at once)."""
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_post_json(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def readiness_urls(stack: dict[str, Any]) -> dict[str, str]:
    checks = {}
    for t in TENANTS:
        k = stack["kratos"][t]
        checks[f"kratos-{t} public"] = k["public_url"] + "health/ready"
        checks[f"kratos-{t} admin"] = k["admin_url"] + "admin/health/ready"
    checks["keto read"] = stack["keto"]["read_url"] + "health/ready"
    checks["keto write"] = stack["keto"]["write_url"] + "health/ready"
    checks["hydra public"] = stack["hydra"]["public_url"] + "health/ready"
    checks["hydra admin"] = stack["hydra"]["admin_url"] + "health/ready"  # no /admin prefix in Hydra
    checks["oathkeeper api"] = stack["oathkeeper"]["api_url"] + "health/ready"
    checks["oathkeeper upstream"] = stack["oathkeeper"]["upstream_url"]
    return checks


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def health(stack: dict[str, Any]) -> dict[str, bool]:
    out = {}
    for name, url in readiness_urls(stack).items():
        try:
            out[name] = http_get(url)[0] == 200
        except OSError:
            out[name] = False
    out["redis"] = redis_ping(stack["redis"]["port"])
    if "console" in stack:
        try:
            out["console"] = http_get(stack["console"]["url"] + "__violations")[0] == 200
        except OSError:
            out["console"] = False
    return out


def tail(path: pathlib.Path, n: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class StartError(RuntimeError):
    def __init__(self, message: str, logs: list[pathlib.Path]):
        super().__init__(message)
        self.logs = logs


# ----------------------------------------------------------------------------- up

def cmd_up(fresh: bool) -> int:
    t0 = time.monotonic()
    with state_lock():
        if not fresh and reuse_running():
            return 0
        stop(load_pids())  # a half-dead or --fresh earlier stack: stop what is left of it
        PIDS.unlink(missing_ok=True)

        if shutil.which("redis-server") is None:
            print("stack: redis-server is not installed; install it with: apt-get install -y redis-server "
                  "(scripts/setup.sh does this)", file=sys.stderr)
            return 1
        if subprocess.run(["bash", str(HERE / "build.sh")]).returncode != 0:
            print("stack: build.sh failed", file=sys.stderr)
            return 1

        LOGS.mkdir(parents=True, exist_ok=True)
        for f in LOGS.glob("*.log"):
            f.unlink()
        STACK_JSON.unlink(missing_ok=True)
        pids: dict[str, dict[str, int]] = {}
        try:
            stack = launch(pids)
        except BaseException as e:  # incl. Ctrl-C: never leave half a stack running
            print(f"stack: start failed: {type(e).__name__}: {e}", file=sys.stderr)
            logs = getattr(e, "logs", None) or [LOGS / f"{n}.log" for n in pids]
            for path in logs:
                print(f"----- {path.name} (last 30 lines)", file=sys.stderr)
                print(tail(path, 30), file=sys.stderr)
            stop(pids)
            PIDS.unlink(missing_ok=True)
            return 1
    summary(stack, f"up in {time.monotonic() - t0:.1f}s")
    return 0


def reuse_running() -> bool:
    """True (and says so) when the stack of an earlier `up` is still alive and ready."""
    if not (STACK_JSON.exists() and PIDS.exists()):
        return False
    stack = json.loads(STACK_JSON.read_text())
    pids = load_pids()
    if not (pids and all(alive(e) for e in pids.values()) and all(health(stack).values())):
        return False
    summary(stack, "already up, reusing it (stack.py up --fresh restarts it)")
    return True


def launch(pids: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Render configs, migrate, start every server (recording each pid in `pids` as soon as it
    runs, so the caller can stop them on failure), wait until all are ready, write stack.json."""
    v = pinned_versions()
    bins = {k: str(CACHE / "bin" / f"{k}-{ver}") for k, ver in v.items()}
    ports = iter(free_ports(18))
    # Nothing listens on the helper port: it is reserved for a test's own HTTP helper (login/consent
    # app for Hydra, return URL for Kratos). Every ui/login/return URL of the servers points at it.
    helper_port = next(ports)
    helper = f"http://127.0.0.1:{helper_port}"
    stack: dict[str, Any] = {"versions": {}, "kratos": {}}
    # Hydra's ports first: each Kratos names Hydra as its OpenID Connect provider.
    hp, ha = next(ports), next(ports)

    for t in TENANTS:
        name = f"kratos-{t}"
        pub, adm = next(ports), next(ports)
        cfg = render("kratos.yml.tmpl", STATE / f"{name}.yml", {
            "VERSION": v["kratos"], "TENANT": t, "PUBLIC_PORT": pub, "ADMIN_PORT": adm, "HELPER": helper,
            "SCHEMA_PATH": HERE / f"identity.{t}.schema.json", "DSN": sqlite_dsn(name),
            # secrets.cipher must be exactly 32 characters; fixed and test-only like the others.
            "CIPHER_SECRET": f"ory-iam-test-cipher-{t}".ljust(32, "0")[:32],
            # The admin tenant's sessions live 3 seconds, so tests can watch a session expire
            # (and the session cache drop it with it); customer sessions live an hour.
            "SESSION_LIFESPAN": SESSION_LIFESPAN[t],
            "HYDRA_PUBLIC": f"http://127.0.0.1:{hp}/", "OIDC_CLIENT_ID": f"kratos-{t}",
            "OIDC_CLIENT_SECRET": f"ory-iam-test-oidc-secret-{t}", "OIDC_MAPPER": OIDC_MAPPER,
        })
        migrate(name, [bins["kratos"], "migrate", "sql", "-e", "--yes", "-c", str(cfg)])
        # --dev: cookies without `Secure` (there is no config key for it), so clients send them over
        # http://127.0.0.1; bcrypt cost 4 honoured; courier message bodies not redacted.
        # No --watch-courier: emails stay queued in the database, readable via the admin API.
        pids[name] = start(name, [bins["kratos"], "serve", "-c", str(cfg), "--dev", "--sqa-opt-out"])
        stack["kratos"][t] = {
            "public_url": f"http://127.0.0.1:{pub}/", "admin_url": f"http://127.0.0.1:{adm}/",
            "schema_id": t, "session_cookie_name": f"ory_kratos_session_{t}",
            "oidc_provider": "hydra",
        }

    rp, wp, op, mp = next(ports), next(ports), next(ports), next(ports)
    cfg = render("keto.yml.tmpl", STATE / "keto.yml", {
        "VERSION": v["keto"], "READ_PORT": rp, "WRITE_PORT": wp, "OPL_PORT": op, "METRICS_PORT": mp,
        "DSN": sqlite_dsn("keto"), "MAX_BATCH": KETO_MAX_BATCH})
    migrate("keto", [bins["keto"], "migrate", "up", "--yes", "-c", str(cfg)])
    pids["keto"] = start("keto", [bins["keto"], "serve", "-c", str(cfg), "--sqa-opt-out"])
    stack["keto"] = {"read_url": f"http://127.0.0.1:{rp}/", "write_url": f"http://127.0.0.1:{wp}/",
                     "opl_url": f"http://127.0.0.1:{op}/",
                     "namespaces": KETO_NAMESPACES, "max_batch_check_size": KETO_MAX_BATCH}

    cfg = render("hydra.yml.tmpl", STATE / "hydra.yml", {
        "PUBLIC_PORT": hp, "ADMIN_PORT": ha, "HELPER": helper, "DSN": sqlite_dsn("hydra")})
    migrate("hydra", [bins["hydra"], "migrate", "sql", "-e", "--yes", "-c", str(cfg)])
    # `serve all` (public + admin in one process); --dev allows the http:// issuer.
    pids["hydra"] = start("hydra", [bins["hydra"], "serve", "all", "-c", str(cfg), "--dev", "--sqa-opt-out"])
    stack["hydra"] = {"public_url": f"http://127.0.0.1:{hp}/", "admin_url": f"http://127.0.0.1:{ha}/",
                      "issuer": f"http://127.0.0.1:{hp}/"}

    redis_port = next(ports)
    # No persistence at all: a cache for the tests, gone with the process.
    pids["redis"] = start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
    stack["redis"] = {"url": f"redis://127.0.0.1:{redis_port}/0", "port": redis_port}
    stack["helper"] = {"base_url": helper + "/", "port": helper_port}

    # The Ory Network console has no open-source server: the project's spec-checking fake
    # (tests/console/fake_console.py) stands in, with a fixed test workspace key.
    console_port = next(ports)
    pids["console"] = start("console", [sys.executable, str(ROOT / "tests" / "console" / "fake_console.py"),
                                        "--port", str(console_port), "--key", CONSOLE_KEY])
    stack["console"] = {"url": f"http://127.0.0.1:{console_port}/", "workspace_api_key": CONSOLE_KEY}
    # Oathkeeper (issue 22) in front of an echo upstream, authenticating against the customer
    # Kratos; its id_token mutator signs with a key generated here (test-only, like every secret
    # of the stack) and publishes it at the API's /.well-known/jwks.json.
    okp, oka, okm, echo_port = next(ports), next(ports), next(ports), next(ports)
    upstream = f"http://127.0.0.1:{echo_port}"
    pids["echo"] = start("echo", [sys.executable, str(HERE / "echo.py"), "--port", str(echo_port)])
    jwks_file = STATE / "oathkeeper.jwks.json"
    with open(jwks_file, "wb") as out:
        subprocess.run([bins["oathkeeper"], "credentials", "generate", "--alg", "RS256"], stdout=out, check=True,
                       env=clean_env(), cwd=STATE)
    rules = render("oathkeeper.rules.json.tmpl", STATE / "oathkeeper.rules.json",
                   {"PROXY_PORT": okp, "UPSTREAM": upstream})
    proxy_url = f"http://127.0.0.1:{okp}/"
    cfg = render("oathkeeper.yml.tmpl", STATE / "oathkeeper.yml", {
        "VERSION": v["oathkeeper"], "PROXY_PORT": okp, "API_PORT": oka, "METRICS_PORT": okm, "RULES_FILE": rules,
        "JWKS_FILE": jwks_file,
        "KRATOS_PUBLIC": stack["kratos"]["customer"]["public_url"],
        "COOKIE_NAME": stack["kratos"]["customer"]["session_cookie_name"],
        "ISSUER": proxy_url, "AUDIENCE": OATHKEEPER_AUDIENCE})
    pids["oathkeeper"] = start("oathkeeper", [bins["oathkeeper"], "serve", "-c", str(cfg), "--sqa-opt-out"])
    stack["oathkeeper"] = {"proxy_url": proxy_url, "api_url": f"http://127.0.0.1:{oka}/",
                           "jwks_url": f"http://127.0.0.1:{oka}/.well-known/jwks.json",
                           "upstream_url": upstream + "/", "issuer": proxy_url, "audience": OATHKEEPER_AUDIENCE,
                           "tenant": "customer", "jwks_file": str(jwks_file), "bin": bins["oathkeeper"]}
    PIDS.write_text(json.dumps(pids, indent=2))

    wait_ready(stack, pids)

    # Hydra creates its OpenID Connect signing keys (RSA) lazily on the first request that needs
    # them, which takes ~1.5 s; do it now rather than inside some test's HTTP timeout.
    http_get(stack["hydra"]["public_url"] + ".well-known/jwks.json", timeout=30)
    # Each Kratos's OAuth2 client at Hydra (sign-in with Hydra, see kratos.yml.tmpl).
    for t in TENANTS:
        http_post_json(stack["hydra"]["admin_url"] + "admin/clients", {
            "client_id": f"kratos-{t}", "client_secret": f"ory-iam-test-oidc-secret-{t}",
            "redirect_uris": [stack["kratos"][t]["public_url"] + "self-service/methods/oidc/callback/hydra"],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "scope": "openid"})

    def version(url: str) -> str:
        return json.loads(http_get(url)[1])["version"]

    redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    stack["versions"] = {
        "kratos": version(stack["kratos"]["customer"]["admin_url"] + "admin/version"),
        "keto": version(stack["keto"]["read_url"] + "version"),
        "hydra": version(stack["hydra"]["admin_url"] + "version"),
        # Oathkeeper v0.40.9's API has no /version route (404): the pinned version it was built at.
        "oathkeeper": v["oathkeeper"],
        "redis": next((w.split("=", 1)[1] for w in redis_v if w.startswith("v=")), "unknown"),
    }
    stack["logs_dir"] = str(LOGS)
    stack["iam_config"] = iam_config(stack)
    tmp = STACK_JSON.with_suffix(".tmp")  # readers never see a half-written file
    tmp.write_text(json.dumps(stack, indent=2) + "\n")
    tmp.replace(STACK_JSON)
    return stack


def wait_ready(stack: dict[str, Any], pids: dict[str, dict[str, int]]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        dead = [n for n, e in pids.items() if not alive(e)]
        if dead:
            raise StartError(f"exited during start-up: {', '.join(dead)}", [LOGS / f"{n}.log" for n in dead])
        h = health(stack)
        if all(h.values()):
            return
        if time.monotonic() > deadline:
            failing = [k for k, ok in h.items() if not ok]
            services = sorted({k.split()[0] for k in failing})
            raise StartError(f"not ready after {READY_TIMEOUT:.0f}s: {', '.join(failing)}",
                             [LOGS / f"{s}.log" for s in services])
        time.sleep(0.2)


def iam_config(stack: dict[str, Any]) -> dict[str, Any]:
    """A ready-to-use ory-iam config for the tenants customer and admin: each its own Kratos,
    sharing the one Keto and Hydra."""
    tenants = {}
    for t in TENANTS:
        k = stack["kratos"][t]
        tenants[t] = {
            "mode": "self-hosted",
            "transport": "cookie-or-bearer",
            "kratos": {"public_url": k["public_url"], "admin_url": k["admin_url"],
                       "session_cookie_name": k["session_cookie_name"]},
            "keto": {"read_url": stack["keto"]["read_url"], "write_url": stack["keto"]["write_url"],
                     "opl_url": stack["keto"]["opl_url"]},
            "hydra": {"public_url": stack["hydra"]["public_url"], "admin_url": stack["hydra"]["admin_url"]},
            # Generous: SQLite makes a writer wait up to its 10 s busy timeout under concurrent tests.
            "http": {"timeout_ms": 15000, "retries": 2},
        }
    return {"default_tenant": "customer", "tenants": tenants, "session_cache": "none", "audit": {"sink": "none"}}


def summary(stack: dict[str, Any], headline: str) -> None:
    vs = stack["versions"]
    lines = [f"stack: {headline}",
             f"  versions  kratos {vs['kratos']}, keto {vs['keto']}, hydra {vs['hydra']}, redis {vs['redis']}"]
    for t in TENANTS:
        k = stack["kratos"][t]
        lines.append(f"  kratos[{t}]  public {k['public_url']}  admin {k['admin_url']}  cookie {k['session_cookie_name']}")
    lines.append(f"  keto      read {stack['keto']['read_url']}  write {stack['keto']['write_url']}")
    lines.append(f"  hydra     public {stack['hydra']['public_url']}  admin {stack['hydra']['admin_url']}")
    lines.append(f"  redis     {stack['redis']['url']}")
    ok = stack["oathkeeper"]
    lines.append(f"  oathkeeper proxy {ok['proxy_url']}  api {ok['api_url']}  upstream {ok['upstream_url']}")
    lines.append(f"  helper    {stack['helper']['base_url']} (reserved, nothing listens)")
    lines.append(f"  config    {STACK_JSON}")
    print("\n".join(lines))


# ----------------------------------------------------------------------------- down, status, logs

def cmd_down() -> int:
    with state_lock():
        pids = load_pids()
        if not pids:
            print("stack: nothing to stop")
            return 0
        running = [n for n, e in pids.items() if alive(e)]
        stop(pids)  # raises SystemExit if anything survives SIGKILL
        PIDS.unlink(missing_ok=True)
    print(f"stack: stopped {', '.join(running) or 'nothing (all had exited)'}; logs kept in {LOGS}")
    return 0


def cmd_status() -> int:
    if not STACK_JSON.exists():
        print(f"stack: not started ({STACK_JSON} missing)")
        return 1
    stack = json.loads(STACK_JSON.read_text())
    pids = load_pids()
    if not pids:
        print("stack: stopped (no pids.json)")
        return 1
    for name, e in pids.items():
        print(f"{name:<16} pid {e['pid']:<8} {'alive' if alive(e) else 'DEAD'}")
    h = health(stack)
    for name, ok in h.items():
        print(f"{name:<22} {'ready' if ok else 'NOT READY'}")
    return 0 if all(alive(e) for e in pids.values()) and all(h.values()) else 1


def cmd_logs(n: int) -> int:
    logs = sorted(LOGS.glob("*.log")) if LOGS.exists() else []
    if not logs:
        print(f"stack: no logs in {LOGS}")
        return 0
    for f in logs:
        if f.name.endswith(".migrate.log"):  # SQL noise; shown by `up` when a migration fails
            continue
        print(f"----- {f} (last {n} lines)")
        print(tail(f, n))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the stack (reuses a running one)")
    up.add_argument("--fresh", action="store_true", help="restart even if a healthy stack is running")
    sub.add_parser("down", help="stop the stack")
    sub.add_parser("status", help="alive/ready per service")
    logs = sub.add_parser("logs", help="tail of every server log")
    logs.add_argument("lines", nargs="?", type=int, default=40)
    a = ap.parse_args()
    if a.cmd == "up":
        return cmd_up(a.fresh)
    if a.cmd == "down":
        return cmd_down()
    if a.cmd == "status":
        return cmd_status()
    return cmd_logs(a.lines)


if __name__ == "__main__":
    sys.exit(main())
