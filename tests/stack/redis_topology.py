#!/usr/bin/env python3
"""Real Redis topologies for the tests that need them, started on demand (not by `up`).

    redis-topology up cluster    3 masters + 3 replicas (redis-server --cluster-enabled yes,
                                 redis-cli --cluster create --cluster-replicas 1)
    redis-topology up sentinel   1 master, 1 replica, 3 Sentinels (quorum 2), master name `main`
    redis-topology restart DIR PORT
                                 start again the (killed) node of DIR listening on PORT, as it
                                 was started: a killed master comes back and rejoins as a
                                 replica (of the node promoted in its place); prints its pid
    redis-topology down DIR      stop every process of the topology in DIR (its logs stay)

`up` prints one line of JSON once the topology is ready (cluster: every slot served, every
replica linked to its master; Sentinel: each Sentinel knows the replica and the other two):

    {"kind": "cluster", "dir": "...", "urls": ["redis://127.0.0.1:P", ...],
     "nodes": [{"port": P, "pid": N, "role": "master"|"replica", "id": "..."}, ...]}
    {"kind": "sentinel", "dir": "...", "master_name": "main", "urls": ["redis://127.0.0.1:S", ...],
     "nodes": [{"port": P, "pid": N, "role": "master"|"replica"|"sentinel"}, ...]}

Failure detection is fast (node timeout / down-after 1 s) so tests can kill a master (SIGKILL
its pid) and wait for the failover. Every process listens on 127.0.0.1 on a free port, without
persistence; state and logs live in a fresh directory under <repo>/.stack/topologies/ (or
$ORY_IAM_STACK_DIR/topologies/). Standard library and Debian's redis-server/redis-cli only.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import stack  # noqa: E402  (free_ports, start_time, alive)

READY_TIMEOUT = 60.0
MASTER_NAME = "main"


def cli(port: int, *args: str, timeout: float = 5.0) -> str:
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                       capture_output=True, text=True, timeout=timeout)
    return r.stdout


def start(d: pathlib.Path, name: str, argv: list[str], port: int) -> dict:
    with open(d / f"{name}.log", "ab") as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             cwd=d, start_new_session=True)
    # argv and port: for `restart`.
    return {"pid": p.pid, "started": stack.start_time(p.pid), "argv": argv, "port": port}


def server_argv(port: int, *extra: str) -> list[str]:
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--protected-mode", "yes", *extra]


def wait(what: str, ok, d: pathlib.Path, pids: dict[str, dict[str, int]]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        dead = [n for n, e in pids.items() if not stack.alive(e)]
        if dead:
            deadline = 0.0
            what = f"{what}: {', '.join(dead)} exited;"
            break
        try:
            if ok():
                return
        except (subprocess.TimeoutExpired, OSError, ValueError):
            pass
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.name}\n{stack.tail(p, 20)}" for p in sorted(d.glob("*.log")))
    raise SystemExit(f"redis-topology: {what} not ready after {READY_TIMEOUT:.0f} s\n{logs}")


def info(port: int, section: str) -> dict[str, str]:
    out = {}
    for line in cli(port, "info", section).splitlines():
        if ":" in line:
            k, v = line.strip().split(":", 1)
            out[k] = v
    return out


def up_cluster(d: pathlib.Path, pids: dict[str, dict[str, int]]) -> dict:
    # The cluster bus gets its own free port (by default it is the client port + 10000).
    free = stack.free_ports(12)
    ports, buses = free[:6], free[6:]
    for p, bus in zip(ports, buses):
        pids[f"redis-{p}"] = start(d, f"redis-{p}", server_argv(
            p, "--cluster-enabled", "yes", "--cluster-port", str(bus), "--cluster-config-file", f"nodes-{p}.conf",
            "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
            "--dir", str(d)), p)
    wait("cluster nodes", lambda: all(cli(p, "ping").strip() == "PONG" for p in ports), d, pids)
    r = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                        "--cluster-replicas", "1", "--cluster-yes"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit(f"redis-topology: cluster create failed:\n{r.stdout}\n{r.stderr}")

    def nodes() -> list[dict]:
        out = []
        for p in ports:
            me = next(line for line in cli(p, "cluster", "nodes").splitlines() if "myself" in line)
            fields = me.split()
            out.append({"port": p, "pid": pids[f"redis-{p}"]["pid"], "id": fields[0],
                        "role": "master" if "master" in fields[2] else "replica"})
        return out

    def ready() -> bool:
        for p in ports:
            i = info(p, "cluster")
            c = dict(line.split(":", 1) for line in cli(p, "cluster", "info").split() if ":" in line)
            if c.get("cluster_state") != "ok" or c.get("cluster_slots_ok") != "16384" or i.get("cluster_enabled") != "1":
                return False
            if c.get("cluster_known_nodes") != "6":
                return False
            rep = info(p, "replication")
            if rep.get("role") == "slave" and rep.get("master_link_status") != "up":
                return False
        return sum(n["role"] == "master" for n in nodes()) == 3

    wait("cluster", ready, d, pids)
    return {"kind": "cluster", "urls": [f"redis://127.0.0.1:{p}" for p in ports], "nodes": nodes()}


def up_sentinel(d: pathlib.Path, pids: dict[str, dict[str, int]]) -> dict:
    master, replica, *sentinels = stack.free_ports(5)
    pids["master"] = start(d, "master", server_argv(master, "--dir", str(d)), master)
    pids["replica"] = start(d, "replica", server_argv(replica, "--dir", str(d),
                                                       "--replicaof", "127.0.0.1", str(master)), replica)
    wait("replication", lambda: info(replica, "replication").get("master_link_status") == "up", d, pids)
    for s in sentinels:
        conf = d / f"sentinel-{s}.conf"
        conf.write_text(
            f"port {s}\nbind 127.0.0.1\ndir {d}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
            f"sentinel failover-timeout {MASTER_NAME} 3000\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n")
        pids[f"sentinel-{s}"] = start(d, f"sentinel-{s}", ["redis-server", str(conf), "--sentinel"], s)

    def ready() -> bool:
        for s in sentinels:
            m = cli(s, "sentinel", "get-master-addr-by-name", MASTER_NAME).split()
            if m != ["127.0.0.1", str(master)]:
                return False
            mi = dict(zip(*[iter(cli(s, "sentinel", "master", MASTER_NAME).split())] * 2))
            if mi.get("num-slaves") != "1" or mi.get("num-other-sentinels") != "2":
                return False
        return True

    wait("sentinels", ready, d, pids)
    nodes = [{"port": master, "pid": pids["master"]["pid"], "role": "master"},
             {"port": replica, "pid": pids["replica"]["pid"], "role": "replica"}]
    nodes += [{"port": s, "pid": pids[f"sentinel-{s}"]["pid"], "role": "sentinel"} for s in sentinels]
    return {"kind": "sentinel", "master_name": MASTER_NAME, "urls": [f"redis://127.0.0.1:{s}" for s in sentinels],
            "nodes": nodes}


def down(d: pathlib.Path) -> int:
    f = d / "pids.json"
    if not f.exists():
        print(f"redis-topology: no topology in {d}", file=sys.stderr)
        return 1
    pids = json.loads(f.read_text())
    for e in pids.values():
        if stack.alive(e):
            try:
                os.killpg(e["pid"], signal.SIGKILL)  # a cache without persistence: nothing to flush
            except (ProcessLookupError, PermissionError):
                pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(stack.alive(e) for e in pids.values()):
        time.sleep(0.05)
    f.unlink()
    return 0


def restart(d: pathlib.Path, port: int) -> int:
    f = d / "pids.json"
    pids = json.loads(f.read_text())
    name = next((n for n, e in pids.items() if e.get("port") == port), None)
    if name is None:
        print(f"redis-topology: no node on port {port} in {d}", file=sys.stderr)
        return 1
    if stack.alive(pids[name]):
        print(f"redis-topology: {name} is still running", file=sys.stderr)
        return 1
    # A Sentinel-monitored master restarts as a master with its old data (none: no
    # persistence); the Sentinels turn it into a replica of the promoted one. A cluster node
    # reads its nodes-*.conf and learns from the cluster that a replica took its slots.
    pids[name] = start(d, name, pids[name]["argv"], port)
    f.write_text(json.dumps(pids))
    print(json.dumps({"port": port, "pid": pids[name]["pid"]}), flush=True)
    return 0


def main() -> int:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "up" and args[1] in ("cluster", "sentinel"):
        for tool in ("redis-server", "redis-cli"):
            if shutil.which(tool) is None:
                raise SystemExit(f"redis-topology: {tool} is not installed (apt-get install -y redis-server)")
        base = stack.STATE / "topologies"
        base.mkdir(parents=True, exist_ok=True)
        d = pathlib.Path(tempfile.mkdtemp(prefix=f"{args[1]}-", dir=base))
        pids: dict[str, dict[str, int]] = {}
        try:
            out = (up_cluster if args[1] == "cluster" else up_sentinel)(d, pids)
        except BaseException:
            (d / "pids.json").write_text(json.dumps(pids))
            down(d)
            raise
        finally:
            if pids:
                (d / "pids.json").write_text(json.dumps(pids))
        print(json.dumps({**out, "dir": str(d)}), flush=True)
        return 0
    if len(args) == 3 and args[0] == "restart":
        return restart(pathlib.Path(args[1]), int(args[2]))
    if len(args) == 2 and args[0] == "down":
        return down(pathlib.Path(args[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
