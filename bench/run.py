"""Runs every workload for every client, each in its own process, and writes
bench/.work/results.json (then bench/report.py turns it into REPORT.md and the plots).

    bench/.venv/bin/python bench/run.py --iam-node-dir DIR --rust-bin PATH [--duration S] [--quick]

Clients of a workload run one after the other, interleaved per concurrency level, so slow drift
of the shared machine's load hits every client alike; ratios come from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
PY = str(BENCH / ".venv" / "bin" / "python")

PY_SDK_KRATOS = ["ory-client", "ory-kratos-client"]
PY_SDK_KETO = ["ory-client", "ory-keto-client"]
NODE_SDK = ["@ory/client", "@ory/client-fetch"]


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def server_cpu_s(name: str) -> float | None:
    """user+sys seconds of one stack server so far (pid from .stack/pids.json)."""
    try:
        pid = json.loads((ROOT / ".stack" / "pids.json").read_text())[name]["pid"]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, KeyError, ValueError, IndexError):
        return None


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class Runner:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.results: list[dict[str, Any]] = []
        self.failures: list[str] = []

    def cmd(self, lang: str, client: str, workload: str, **opts: Any) -> list[str]:
        flags: list[str] = []
        for k, v in opts.items():
            flags += ["--" + k.replace("_", "-"), str(v)]
        if lang == "python":
            return [PY, str(BENCH / "py_bench.py"), client, workload, *flags]
        if lang == "node":
            extra = ["--iam-dir", self.a.iam_node_dir] if client == "ory-iam" else []
            # The memory workload collects garbage before reading RSS (so the figure is what stays).
            gc = ["--expose-gc"] if workload == "memory" else []
            return ["node", *gc, str(BENCH / "node_bench.js"), client, workload, *flags, *extra]
        return [self.a.rust_bin, workload, *flags]

    def run(self, lang: str, client: str, workload: str, **opts: Any) -> dict[str, Any] | None:
        label = f"{lang} {client} {workload} {opts}"
        t0 = time.time()
        load0 = loadavg()[0]
        keto0 = server_cpu_s("keto")
        p = subprocess.run(self.cmd(lang, client, workload, **opts), capture_output=True, text=True, timeout=900)
        keto1 = server_cpu_s("keto")
        if p.returncode != 0:
            self.failures.append(f"{label}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
            log(f"FAILED {label}: {p.stderr.strip()[-400:]}")
            return None
        out: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
        if workload == "check_batch" and keto0 is not None and keto1 is not None:
            # Keto's own CPU per 500-check run (the warm-up's few checks included): on 2 cores,
            # half of it is the least wall time any client can need.
            out["keto_cpu_s"] = (keto1 - keto0) / int(opts.get("repeat", 1))
        out["load1_before"] = load0
        out["load1_after"] = loadavg()[0]
        out["wall_s"] = time.time() - t0
        self.results.append(out)
        brief = {k: round(v, 1) if isinstance(v, float) else v for k, v in out.items() if k in ("rps", "cpu_per_call_us", "p50_us", "p99_us", "median_s", "identities", "rss_after_mb")}
        log(f"{label}: {brief}")
        return out

    def run_wrk(self, label: str, script: str, url: str, threads: int, concurrency: int, duration: float,
                env: dict[str, str]) -> tuple[dict[str, Any], float] | None:
        """One wrk run with a `bench/*.lua` script that prints a `BENCH {...}` line: that line's
        figures and wrk's CPU seconds, or None (and a failure noted) when it failed."""
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s", "-s", str(BENCH / script), url],
            capture_output=True, text=True, env={**os.environ, **env}, timeout=300,
        )
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        m = re.search(r"^BENCH (\{.*\})$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            self.failures.append(f"{label}: {p.stderr.strip()[-300:]}")
            return None
        d: dict[str, Any] = json.loads(m[1])
        if d["errors"] or d["non2xx"] or d.get("wrong"):
            self.failures.append(f"{label}: {d['errors']} socket errors, {d['non2xx']} non-2xx, {d.get('wrong', 0)} wrong answers")
        return d, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

    def wrk(self, concurrency: int, duration: float) -> None:
        url = json.loads((ROOT / ".stack" / "stack.json").read_text())["kratos"]["customer"]["public_url"].rstrip("/")
        tokens = WORK / "tokens.txt"
        fx = json.loads((WORK / "fixtures.json").read_text())
        fd = os.open(tokens, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(fx["tokens"][: max(concurrency, 1)]) + "\n")
        load0 = loadavg()[0]
        got = self.run_wrk(f"wrk c={concurrency}", "wrk_whoami.lua", f"{url}/sessions/whoami", min(concurrency, 2), concurrency,
                           duration, {"BENCH_TOKENS": str(tokens)})
        if got is None:
            return
        d, cpu_s = got
        elapsed = d["duration_us"] / 1e6
        out = {
            "lang": "raw", "client": "wrk", "workload": "whoami_uncached", "concurrency": concurrency,
            "calls": d["requests"], "elapsed_s": elapsed, "rps": d["requests"] / elapsed, "cpu_s": cpu_s,
            "cpu_per_call_us": cpu_s / max(d["requests"], 1) * 1e6, "p50_us": d["p50_us"], "p99_us": d["p99_us"],
            "load1_before": load0, "load1_after": loadavg()[0],
        }
        self.results.append(out)
        log(f"wrk c={concurrency}: rps {out['rps']:.0f}, cpu/call {out['cpu_per_call_us']:.1f} us")

    def wrk_batch(self, batch_size: int, duration: float, concurrency: int = 4) -> None:
        """The raw HTTP limit of Keto's batch endpoint: wrk sends the 500 bench tuples in batches
        of `batch_size` over `concurrency` connections (ory-iam keeps 4 batch requests in
        flight) for `duration` seconds, each answer checked; the result is the steady-state time
        per 500 checks. A single run of 500 also has a start and a tail, so no client's run can
        be expected to be faster than this."""
        url = json.loads((ROOT / ".stack" / "stack.json").read_text())["keto"]["read_url"].rstrip("/")
        t = json.loads((WORK / "fixtures.json").read_text())["tuples"]
        load0, keto0 = loadavg()[0], server_cpu_s("keto")
        env = {"BENCH_NAMESPACE": t["namespace"], "BENCH_RELATION": t["relation"], "BENCH_SUBJECT": t["subject_id"],
               "BENCH_COUNT": str(t["count"]), "BENCH_BATCH": str(batch_size)}
        label = f"wrk check_batch batch_size={batch_size}"
        got = self.run_wrk(label, "wrk_batch_check.lua", f"{url}/relation-tuples/batch/check", 2, concurrency, duration, env)
        keto1 = server_cpu_s("keto")
        if got is None or got[0]["errors"] or got[0]["non2xx"] or got[0]["wrong"]:
            return  # noted as a failure: not a limit
        d, cpu_s = got
        runs = d["requests"] / -(-t["count"] // batch_size)  # runs of 500 checks in the window (wrk cycles the batches)
        out: dict[str, Any] = {
            "lang": "raw", "client": "wrk", "workload": "check_batch", "concurrency": concurrency, "batch_size": batch_size,
            "tuples": t["count"], "requests": d["requests"], "window_s": d["duration_us"] / 1e6,
            "median_s": d["duration_us"] / 1e6 / runs, "cpu_s": cpu_s / runs,
            "p50_us": d["p50_us"], "p99_us": d["p99_us"], "load1_before": load0, "load1_after": loadavg()[0],
        }
        if keto0 is not None and keto1 is not None:
            out["keto_cpu_s"] = (keto1 - keto0) / runs
        self.results.append(out)
        log(f"{label}: {out['median_s'] * 1000:.1f} ms per {t['count']} checks")


def replay_server() -> tuple[subprocess.Popen[str], str]:
    p = subprocess.Popen(["node", str(BENCH / "kratos_replay.js")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    url = p.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        p.kill()
        raise SystemExit("bench: the replay server did not start")
    return p, url


def versions(a: argparse.Namespace) -> dict[str, Any]:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip() or subprocess.run(cmd, capture_output=True, text=True, timeout=30).stderr.strip()
        except OSError:
            return "?"

    pip = subprocess.run([PY, "-m", "pip", "list", "--format=json"], capture_output=True, text=True).stdout
    pkgs = {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(pip or "[]")}

    def npm(name: str) -> str:
        try:
            return str(json.loads((BENCH / "node_modules" / name / "package.json").read_text())["version"])
        except OSError:
            return "?"

    stack = json.loads((ROOT / ".stack" / "stack.json").read_text())
    cpu_model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), "?")
    mem_kb = int(next(ln.split()[1] for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")))
    return {
        "servers": stack["versions"],
        "ory_iam": pkgs.get("ory-iam", "?"),
        # scripts/bench.sh: "release", or "dist+pgo" with --published (the published build).
        "build": os.environ.get("BENCH_BUILD", "release"),
        "python_sdks": {k: pkgs.get(k, "?") for k in ("ory-client", "ory-kratos-client", "ory-keto-client")},
        "node_sdks": {k: npm(k) for k in NODE_SDK},
        "python": platform.python_version(),
        "node": out(["node", "--version"]),
        "rustc": out(["rustc", "--version"]),
        "wrk": " ".join(out(["wrk", "--version"]).split()[:2]) or "?",
        "machine": {"cpu": cpu_model, "cores": os.cpu_count(), "mem_gb": round(mem_kb / 1024 / 1024, 1), "kernel": platform.release(), "os": platform.platform()},
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iam-node-dir", required=True)
    ap.add_argument("--rust-bin", required=True)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=4, help="rounds of the whoami_uncached points (median per point)")
    ap.add_argument("--quick", action="store_true", help="short runs, for trying the harness")
    ap.add_argument("--only", default="", help="comma-separated workloads")
    a = ap.parse_args()
    r = Runner(a)
    q = a.quick
    only = set(filter(None, a.only.split(",")))
    want = lambda w: not only or w in only  # noqa: E731
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load_start = loadavg()

    if want("whoami_uncached"):
        d = 2.0 if q else a.duration
        # Several rounds, each visiting every client at every concurrency: the report takes the
        # median per point, so one point caught by a burst of the shared machine's load does not
        # decide a verdict.
        for rnd in range(1 if q else a.rounds):
            for c in (1, 8, 32):
                n0 = len(r.results)
                r.wrk(c, d)
                r.run("rust", "ory-iam", "whoami_uncached", concurrency=c, duration=d)
                # The floors: no library, hand-written requests on keep-alive sockets.
                r.run("python", "raw-asyncio", "whoami_uncached", concurrency=c, duration=d)
                r.run("python", "raw-threads", "whoami_uncached", concurrency=c, duration=d)
                r.run("node", "raw-net", "whoami_uncached", concurrency=c, duration=d)
                r.run("python", "ory-iam", "whoami_uncached", concurrency=c, duration=d)
                r.run("python", "ory-iam-per-call", "whoami_uncached", concurrency=c, duration=d)
                r.run("python", "ory-iam-sync", "whoami_uncached", concurrency=c, duration=d)
                for s in PY_SDK_KRATOS:
                    r.run("python", s, "whoami_uncached", concurrency=c, duration=d)
                r.run("node", "ory-iam", "whoami_uncached", concurrency=c, duration=d)
                for s in NODE_SDK:
                    r.run("node", s, "whoami_uncached", concurrency=c, duration=d)
                for x in r.results[n0:]:
                    x["round"] = rnd
    if want("whoami_hit"):
        n = 5000 if q else 50000
        for lang in ("rust", "python", "node"):
            r.run(lang, "ory-iam", "whoami_hit", calls=n)
    if want("check"):
        n = 200 if q else 1000
        for lang in ("rust", "python", "node"):
            r.run(lang, "ory-iam", "check", calls=n)
        for s in PY_SDK_KETO:
            r.run("python", s, "check", calls=n)
        for s in NODE_SDK:
            r.run("node", s, "check", calls=n)
    if want("check_batch"):
        rep = 1 if q else 9
        # The library's default batch size (10, Keto's default limit), then the stack Keto's
        # raised limit (`keto.batch_size` = `limit.max_batch_check_size`, both set by the user).
        limit = int(json.loads((ROOT / ".stack" / "stack.json").read_text())["keto"]["max_batch_check_size"])
        # Rounds of every row, one after the other (the report takes the median per row and
        # pairs ratios within a round): the machine's load drifts over minutes.
        for rnd in range(1 if q else 3):
            n0 = len(r.results)
            r.wrk_batch(10, 2.0 if q else a.duration)
            r.wrk_batch(limit, 2.0 if q else a.duration)
            for lang in ("rust", "python", "node"):
                r.run(lang, "ory-iam", "check_batch", repeat=rep)
                x = r.run(lang, "ory-iam", "check_batch", repeat=rep, batch_size=limit)
                if x is not None:
                    x["client"] = "ory-iam-batch"
            for s in PY_SDK_KETO:
                r.run("python", s, "check_batch", repeat=rep)
            for s in NODE_SDK:
                r.run("node", s, "check_batch", repeat=rep)
            for x in r.results[n0:]:
                x["round"] = rnd
    if want("identity_list"):
        rep = 1 if q else 3
        for lang in ("rust", "python", "node"):
            r.run(lang, "ory-iam", "identity_list", repeat=rep)
        r.run("python", "ory-kratos-client", "identity_list", repeat=rep)
        r.run("python", "ory-client", "identity_list", repeat=rep)
        for s in NODE_SDK:
            r.run("node", s, "identity_list", repeat=rep)
    if want("memory"):
        n = 10000 if q else 100000
        srv, url = replay_server()
        try:
            for lang in ("rust", "python", "node"):
                r.run(lang, "ory-iam", "memory", calls=n, replay_url=url)
        finally:
            assert srv.stdin is not None
            srv.stdin.close()
            srv.wait(timeout=10)
    if want("cache_bounds"):
        # Rust only: the caches live in the core, the same in every binding.
        srv, url = replay_server()
        try:
            r.run("rust", "ory-iam", "cache_bounds", calls=20000 if q else 200000, replay_url=url)
        finally:
            assert srv.stdin is not None
            srv.stdin.close()
            srv.wait(timeout=10)
    if want("many_instances"):
        # Rust only (the cache and the invalidation live in the core): 4 processes x 16 sharing
        # the stack's Redis; 1-process throughput first, for the scaling ratio.
        r.run("rust", "ory-iam", "many_instances", processes=4, concurrency=16, duration=2 if q else 10)

    out = {
        "started": started,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "quick": q,
        "point_s": 2.0 if q else a.duration,
        "rounds": 1 if q else a.rounds,
        "versions": versions(a),
        "results": r.results,
        "failures": r.failures,
    }
    prev_path = WORK / "results.json"
    if only and prev_path.exists():
        # Some workloads re-run: keep the previous run's other workloads, and say so.
        prev = json.loads(prev_path.read_text())
        out = {**prev, "results": [x for x in prev["results"] if x["workload"] not in only] + r.results,
               "failures": prev.get("failures", []) + r.failures,
               # A re-run of the same (or more) workloads replaces the older note about them.
               "reruns": [x for x in prev.get("reruns", []) if not set(x["workloads"]) <= only]
               + [{"workloads": sorted(only), "started": started, "finished": out["finished"]}]}
    prev_path.write_text(json.dumps(out, indent=1))
    log(f"wrote {WORK / 'results.json'} ({len(r.results)} results, {len(r.failures)} failures)")


if __name__ == "__main__":
    main()
