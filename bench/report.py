"""bench/.work/results.json → bench/REPORT.md and bench/*.png.

    bench/.venv/bin/python bench/report.py [--notes bench/NOTES.md]

Targets are checked on ratios from the same run. `--notes` appends hand-written findings
(profiles, fixes with before/after figures) to the report.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

LABEL = {
    ("raw", "wrk"): "wrk (raw HTTP)",
    ("rust", "ory-iam"): "Rust ory-iam core",
    ("rust", "ory-iam-batch"): "Rust ory-iam core, keto.batch_size {batch_size}",
    ("python", "raw-asyncio"): "Python floor: raw asyncio sockets, no library",
    ("python", "raw-threads"): "Python floor: raw blocking sockets in threads, no library",
    ("python", "ory-iam"): "Python ory-iam",
    ("python", "ory-iam-runtime"): "Python ory-iam with the event-loop lane switched off (earlier runs; the lane is gone)",
    ("python", "ory-iam-batch"): "Python ory-iam, keto.batch_size {batch_size}",
    ("python", "ory-iam-per-call"): "Python ory-iam, previous bridge (per-call completion, 2 runtime threads)",
    ("python", "ory-iam-sync"): "Python ory-iam, blocking API (ory_iam.sync) from threads",
    ("python", "ory-client"): "Python ory-client",
    ("python", "ory-kratos-client"): "Python ory-kratos-client",
    ("python", "ory-keto-client"): "Python ory-keto-client",
    ("node", "raw-net"): "Node floor: raw `net` sockets, no library",
    ("node", "ory-iam"): "Node ory-iam",
    ("node", "ory-iam-batch"): "Node ory-iam, keto.batch_size {batch_size}",
    ("node", "@ory/client"): "Node @ory/client",
    ("node", "@ory/client-fetch"): "Node @ory/client-fetch",
}
ORDER = list(LABEL)
# Each binding's no-library floor with the same structure (an event loop), and what it is.
FLOOR = {"python": (("python", "raw-asyncio"), "raw asyncio sockets"), "node": (("node", "raw-net"), "raw `net` sockets")}


def label(r: dict[str, Any]) -> str:
    return LABEL.get((r["lang"], r["client"]), f"{r['lang']} {r['client']}").format(batch_size=r.get("batch_size"))


def f(x: float | None, d: int = 1) -> str:
    return "–" if x is None else f"{x:,.{d}f}"


def pick(rs: list[dict[str, Any]], workload: str, lang: str | None = None, client: str | None = None, c: int | None = None) -> list[dict[str, Any]]:
    return [
        r for r in rs
        if r["workload"] == workload and (lang is None or r["lang"] == lang) and (client is None or r["client"] == client)
        and (c is None or r["concurrency"] == c)
    ]


def many_instances_section(mi: dict[str, Any]) -> str:
    one_, many, p = mi["one_process"], mi["many_processes"], mi["propagation"]
    rows = "\n".join(
        f"| {x['processes']} | {x['concurrency']} | {x['rps']:,.0f} | {x['hit_ratio'] * 100:.2f} % | {x['kratos_calls_per_s']:,.1f} |"
        for x in (one_, many))
    return (
        f"## 7. Many instances: {many['processes']} processes × {many['concurrency']} sharing one Redis\n\n"
        f"`many_instances` (Rust): separate OS processes (the bench binary again) with the same Redis `session_cache` "
        f"(the stack's Redis, a fresh key prefix per phase, so each phase starts cold), `whoami` over {mi['sessions']} sessions for "
        f"{many['elapsed_s']:.0f} s; every answer comes from Redis (a hit) or Kratos (a miss, which fills the shared cache). "
        f"Meanwhile {p['watchers']} more processes hold other sessions cached and poll them while this process revokes them "
        f"({p['revokes']} revokes): the delay from the revoke's return to each process's first refusal (wall clock, one machine; "
        "a refusal seen before the revoke returned counts as 0).\n\n"
        "| processes | concurrency each | calls/s | cache hit ratio | Kratos calls/s |\n|---|---|---|---|---|\n"
        f"{rows}\n\n"
        f"Scaling 1 → {many['processes']} processes: **{mi['scaling']:.2f}×** on {mi['cpus']} CPUs "
        f"(the ceiling here is {min(many['processes'], mi['cpus'])}×, and the CPUs are shared with Redis, Kratos and the other "
        f"processes; the 3.2× goal is for a 4-core budget). Revoke → refused at another process: p50 {p['p50_ms']:.2f} ms, "
        f"p99 {p['p99_ms']:.2f} ms, max {p['max_ms']:.2f} ms ({p['samples']} samples) under that load; "
        + ("" if "propagation_idle" not in mi else
           f"without it, p50 {mi['propagation_idle']['p50_ms']:.2f} ms, p99 {mi['propagation_idle']['p99_ms']:.2f} ms, "
           f"max {mi['propagation_idle']['max_ms']:.2f} ms ({mi['propagation_idle']['samples']} samples).") + "\n")


def one(rs: list[dict[str, Any]], *a: Any, **k: Any) -> dict[str, Any] | None:
    m = pick(rs, *a, **k)
    return m[0] if m else None


def sort_key(r: dict[str, Any]) -> int:
    k = (r["lang"], r["client"])
    return ORDER.index(k) if k in ORDER else len(ORDER)


# Workloads measured in rounds: how a point is told apart, and the fields whose median is taken.
ROUNDED: dict[str, tuple[str, tuple[str, ...]]] = {
    "whoami_uncached": ("concurrency", ("rps", "cpu_per_call_us", "load1_before")),
    "check_batch": ("batch_size", ("median_s", "cpu_s", "keto_cpu_s", "load1_before")),
}


def merge_rounds(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per client and point (whoami_uncached: concurrency; check_batch: batch size)
    of a workload measured in rounds: the median of its rounds for each figure, with the range
    kept for the tables."""
    groups: dict[tuple[str, str, str, Any], list[dict[str, Any]]] = {}
    rest = []
    for r in rs:
        if r["workload"] in ROUNDED:
            point = r.get(ROUNDED[r["workload"]][0])
            groups.setdefault((r["workload"], r["lang"], r["client"], point), []).append(r)
        else:
            rest.append(r)
    merged = []
    for (workload, *_), g in groups.items():
        m = dict(g[0])
        for k in ROUNDED[workload][1]:
            xs = [x[k] for x in g if x.get(k) is not None]
            if xs:
                m[k] = statistics.median(xs)
                m[k + "_range"] = (min(xs), max(xs))
        m["rounds"] = len(g)
        merged.append(m)
    return merged + rest


def paired(raw: list[dict[str, Any]], c: int, num: tuple[str, str], den: list[tuple[str, str]], field: str) -> tuple[float, float, float] | None:
    """The ratio num/den (den: the best, i.e. lowest-CPU or highest-rps, of several clients)
    within each round of whoami_uncached at concurrency c, as (median, min, max) over rounds.
    Pairs points measured minutes apart instead of medians over the whole run."""
    rounds: dict[int, dict[tuple[str, str], float]] = {}
    for r in raw:
        if r["workload"] == "whoami_uncached" and r["concurrency"] == c:
            rounds.setdefault(r.get("round", 0), {})[(r["lang"], r["client"])] = r[field]
    ratios = []
    for pts in rounds.values():
        ds = [pts[k] for k in den if k in pts]
        if num in pts and ds:
            best = min(ds) if field == "cpu_per_call_us" else max(ds)
            ratios.append(pts[num] / best)
    return spread(ratios)


def paired_batch(raw: list[dict[str, Any]], num: tuple[str, str, int], den: tuple[str, str, int]) -> tuple[float, float, float] | None:
    """check_batch: den's wall time / num's within each round, as (median, min, max) over rounds
    (`(lang, client, batch_size)` name each side)."""
    rounds: dict[int, dict[tuple[str, str, int], float]] = {}
    for r in raw:
        if r["workload"] == "check_batch":
            rounds.setdefault(r.get("round", 0), {})[(r["lang"], r["client"], r.get("batch_size", 10))] = r["median_s"]
    return spread([pts[den] / pts[num] for pts in rounds.values() if num in pts and den in pts and pts[num] > 0])


def spread(ratios: list[float]) -> tuple[float, float, float] | None:
    """(median, min, max) of per-round ratios; None unless there were at least two rounds."""
    return (statistics.median(ratios), min(ratios), max(ratios)) if len(ratios) > 1 else None


def plots(rs: list[dict[str, Any]]) -> list[str]:
    out = []
    un = pick(rs, "whoami_uncached")
    clients = sorted({(r["lang"], r["client"]) for r in un}, key=lambda k: ORDER.index(k) if k in ORDER else 99)
    # Throughput vs concurrency, one line per client.
    # One colour per client, the same in both plots (more clients than the default cycle has colours).
    colour = {k: plt.get_cmap("tab20")(i % 20) for i, k in enumerate(clients)}
    fig, ax = plt.subplots(figsize=(11, 5))
    for k in clients:
        pts = sorted((r["concurrency"], r["rps"]) for r in un if (r["lang"], r["client"]) == k)
        style = ({"linewidth": 3, "color": "black", "linestyle": "--"} if k == ("raw", "wrk")
                 else {"marker": "x", "linestyle": ":", "color": colour[k]} if k[1].startswith("raw-") else {"marker": "o", "color": colour[k]})
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=LABEL.get(k, str(k)), **style)
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 8, 32], ["1", "8", "32"])
    ax.set_xlabel("concurrency (in-flight requests, one client process)")
    ax.set_ylabel("whoami calls / s (uncached, each hits Kratos)")
    ax.set_title("Kratos whoami throughput vs concurrency")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(BENCH / "throughput.png", dpi=110)
    plt.close(fig)
    out.append("throughput.png")

    # Client CPU per call, grouped by concurrency.
    fig, ax = plt.subplots(figsize=(12, 5))
    cl = [k for k in clients]
    width = 0.8 / max(len(cl), 1)
    for i, k in enumerate(cl):
        xs, ys = [], []
        for j, c in enumerate((1, 8, 32)):
            r = next((r for r in un if (r["lang"], r["client"]) == k and r["concurrency"] == c), None)
            if r:
                xs.append(j + i * width)
                ys.append(r["cpu_per_call_us"])
        bars = ax.bar(xs, ys, width, label=LABEL.get(k, str(k)), color=colour[k], hatch="//" if k[1].startswith("raw-") else None)
        ax.bar_label(bars, fmt="%.0f", fontsize=6)
    ax.set_xticks([j + width * (len(cl) - 1) / 2 for j in range(3)], ["c=1", "c=8", "c=32"])
    ax.set_ylabel("client process CPU (user+sys) per call, µs")
    ax.set_title("whoami uncached: client CPU per call (lower is better)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(BENCH / "cpu_per_call.png", dpi=110)
    plt.close(fig)
    out.append("cpu_per_call.png")

    hit = sorted(pick(rs, "whoami_hit"), key=sort_key)
    if hit:
        fig, ax = plt.subplots(figsize=(6, 4))
        names = [label(r) for r in hit]
        ax.bar([n + " p50" for n in names], [r["p50_us"] for r in hit], color="tab:blue")
        ax.bar([n + " p99" for n in names], [r["p99_us"] for r in hit], color="tab:orange")
        ax.set_yscale("log")
        ax.axhline(20, color="tab:red", linestyle="--", linewidth=1, label="target Python/Node p50 (20 µs)")
        ax.axhline(2, color="tab:green", linestyle="--", linewidth=1, label="target Rust p50 (2 µs)")
        ax.legend(fontsize=7)
        ax.set_ylabel("µs per call (log)")
        ax.set_title("whoami, in-memory cache hit")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=7)
        ax.grid(True, axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(BENCH / "cache_hit_latency.png", dpi=110)
        plt.close(fig)
        out.append("cache_hit_latency.png")
    return out


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=str(BENCH / ".work" / "results.json"))
    ap.add_argument("--notes", default=str(BENCH / "NOTES.md"))
    a = ap.parse_args()
    data = json.loads(Path(a.results).read_text())
    rs: list[dict[str, Any]] = merge_rounds(data["results"])
    v = data["versions"]
    imgs = plots(rs)
    L: list[str] = []
    w = L.append
    w("# ory-iam benchmark report\n")
    w(f"Generated by `bash scripts/bench.sh` — run {data['started']} → {data['finished']}"
      + (" (**quick mode: short runs, not for comparison**)" if data.get("quick") else "") + ".\n")
    for rr in data.get("reruns", []):
        w(f"Re-run later with `BENCH_ONLY={','.join(rr['workloads'])}`: {rr['started']} → {rr['finished']} (those workloads' figures are from then).\n")
    m = v["machine"]
    w("## Machine, load and versions\n")
    w(f"- Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gb']} GB RAM, Linux {m['kernel']}.")
    w(f"- Load average (1/5/15 min) at start: {' / '.join(map(str, data['loadavg_start']))}; at end: "
      f"{' / '.join(map(str, data['loadavg_end']))}. The machine is shared (other engineers build and test on it), "
      "so absolute figures are noisy; ratios between clients come from the same run, interleaved per point, "
      "and are the figures to read. Per-point 1-minute load is in `bench/.work/results.json`.")
    w(f"- Servers (same local stack for every client): Kratos {v['servers'].get('kratos')}, Keto {v['servers'].get('keto')} "
      "(SQLite, on this machine, sharing its 2 cores with the client).")
    build = ("published builds: the `dist` Cargo profile (fat LTO), the wheel profile-guided"
             if v.get("build") == "dist+pgo" else "release builds: wheel, napi addon, `cargo build --release`")
    w(f"- ory-iam {v['ory_iam']} ({build}); "
      f"Python {v['python']}, Node {v['node']}, {v['rustc']}, {v['wrk']}.")
    w("- Official SDKs: " + ", ".join(f"`{k}` {x}" for k, x in {**v['python_sdks'], **v['node_sdks']}.items()) + ".\n")

    # ---------------------------------------------------------------- targets
    def ratio(a_: float | None, b_: float | None) -> float | None:
        return None if a_ is None or b_ is None or b_ == 0 else a_ / b_

    targets: list[tuple[str, str, bool | None]] = []
    raw = data["results"]

    def per_round(p: tuple[float, float, float] | None, scale: float = 1, d: int = 2, unit: str = "×") -> str:
        return "" if p is None else f"; per round: median {f(p[0] * scale, d)}{unit} ({f(p[1] * scale, d)}–{f(p[2] * scale, d)})"

    def floor(c: int, lang: str, sdk_us: float | None) -> str:
        """A binding's no-library floor at concurrency c, as CPU/call and as a ratio to the SDK."""
        x = one(rs, "whoami_uncached", *FLOOR[lang][0], c=c)
        return "" if x is None or not sdk_us else (
            f"; floor ({FLOOR[lang][1]}, no library) {f(x['cpu_per_call_us'])} µs → {f(x['cpu_per_call_us'] / sdk_us, 2)}×")

    for c in (1, 8, 32):
        pi = one(rs, "whoami_uncached", "python", "ory-iam", c=c)
        po = one(rs, "whoami_uncached", "python", "ory-client", c=c)
        pk = one(rs, "whoami_uncached", "python", "ory-kratos-client", c=c)
        best_py = min((x["cpu_per_call_us"] for x in (po, pk) if x), default=None)
        r = ratio(pi and pi["cpu_per_call_us"], best_py)
        p = paired(raw, c, ("python", "ory-iam"), [("python", "ory-client"), ("python", "ory-kratos-client")], "cpu_per_call_us")
        targets.append((f"Python whoami uncached CPU/call ≤ 1/3 of the official SDK (c={c})",
                        f"{f(pi and pi['cpu_per_call_us'])} µs vs {f(best_py)} µs (best official) → {f(r, 2)}×{per_round(p)}"
                        f"{floor(c, 'python', best_py)}", None if r is None else r <= 1 / 3))
    for c in (1, 8, 32):
        ni = one(rs, "whoami_uncached", "node", "ory-iam", c=c)
        no = one(rs, "whoami_uncached", "node", "@ory/client", c=c)
        r = ratio(ni and ni["cpu_per_call_us"], no and no["cpu_per_call_us"])
        p = paired(raw, c, ("node", "ory-iam"), [("node", "@ory/client")], "cpu_per_call_us")
        targets.append((f"Node whoami uncached CPU/call ≤ 1/2 of `@ory/client` (c={c})",
                        f"{f(ni and ni['cpu_per_call_us'])} µs vs {f(no and no['cpu_per_call_us'])} µs → {f(r, 2)}×{per_round(p)}"
                        f"{floor(c, 'node', no and no['cpu_per_call_us'])}", None if r is None else r <= 0.5))
    # The blocking API (issue 21), in the official SDKs' own structure (a thread per caller).
    for c in (1, 8):
        si = one(rs, "whoami_uncached", "python", "ory-iam-sync", c=c)
        po = one(rs, "whoami_uncached", "python", "ory-client", c=c)
        fl = one(rs, "whoami_uncached", "python", "raw-threads", c=c)
        r = ratio(si and si["cpu_per_call_us"], po and po["cpu_per_call_us"])
        targets.append((f"Python blocking whoami uncached CPU/call ≤ 0.5× ory-client (c={c})",
                        f"{f(si and si['cpu_per_call_us'])} µs vs {f(po and po['cpu_per_call_us'])} µs → {f(r, 2)}×",
                        None if r is None else r <= 0.5))
        r = ratio(si and si["cpu_per_call_us"], fl and fl["cpu_per_call_us"])
        targets.append((f"Python blocking whoami uncached CPU/call ≤ 1.5× the raw-threads floor (c={c})",
                        f"{f(si and si['cpu_per_call_us'])} µs vs {f(fl and fl['cpu_per_call_us'])} µs → {f(r, 2)}×",
                        None if r is None else r <= 1.5))
    # The one-HTTP-stack targets: against the no-library floors and wrk, not the SDKs.
    for c in (1, 8, 32):
        pi = one(rs, "whoami_uncached", "python", "ory-iam", c=c)
        fl = one(rs, "whoami_uncached", "python", "raw-asyncio", c=c)
        r = ratio(pi and pi["cpu_per_call_us"], fl and fl["cpu_per_call_us"])
        p = paired(raw, c, ("python", "ory-iam"), [("python", "raw-asyncio")], "cpu_per_call_us")
        targets.append((f"Python whoami uncached CPU/call ≤ 1.25× the raw-asyncio floor (c={c})",
                        f"{f(pi and pi['cpu_per_call_us'])} µs vs {f(fl and fl['cpu_per_call_us'])} µs → {f(r, 2)}×{per_round(p)}",
                        None if r is None else r <= 1.25))
    for c in (1, 8, 32):
        ri = one(rs, "whoami_uncached", "rust", "ory-iam", c=c)
        wk = one(rs, "whoami_uncached", "raw", "wrk", c=c)
        r = ratio(ri and ri["cpu_per_call_us"], wk and wk["cpu_per_call_us"])
        p = paired(raw, c, ("rust", "ory-iam"), [("raw", "wrk")], "cpu_per_call_us")
        targets.append((f"Rust core whoami uncached CPU/call ≤ 1.5× wrk's (c={c})",
                        f"{f(ri and ri['cpu_per_call_us'])} µs vs {f(wk and wk['cpu_per_call_us'])} µs → {f(r, 2)}×{per_round(p)}",
                        None if r is None else r <= 1.5))
    wrk32 = one(rs, "whoami_uncached", "raw", "wrk", c=32)
    for lang in ("rust", "python", "node"):
        x = one(rs, "whoami_uncached", lang, "ory-iam", c=32)
        r = ratio(x and x["rps"], wrk32 and wrk32["rps"])
        p = paired(raw, 32, (lang, "ory-iam"), [("raw", "wrk")], "rps")
        fl = one(rs, "whoami_uncached", *FLOOR[lang][0], c=32) if lang in FLOOR else None
        fl_r = ratio(fl and fl["rps"], wrk32 and wrk32["rps"])
        fl_txt = "" if fl_r is None else f"; floor ({FLOOR[lang][1]}, no library) {f(fl_r * 100, 0)} %"
        targets.append((f"{lang.capitalize()} ory-iam whoami uncached throughput at c=32 ≥ 90 % of wrk",
                        f"{f(x and x['rps'], 0)} vs {f(wrk32 and wrk32['rps'], 0)} req/s → {f(None if r is None else r * 100, 0)} %{per_round(p, 100, 0, ' %')}{fl_txt}",
                        None if r is None else r >= 0.9))
    for lang, lim in (("python", 20), ("node", 20), ("rust", 2)):
        x = one(rs, "whoami_hit", lang, "ory-iam")
        targets.append((f"{lang.capitalize()} whoami cache hit p50 ≤ {lim} µs", f"p50 {f(x and x['p50_us'], 2)} µs, p99 {f(x and x['p99_us'], 2)} µs",
                        None if x is None else x["p50_us"] <= lim))
    for lang, sdks in (("python", ["ory-keto-client", "ory-client"]), ("node", ["@ory/client", "@ory/client-fetch"])):
        for client in ("ory-iam", "ory-iam-batch"):
            x = one(rs, "check_batch", lang, client)
            if x is None and client != "ory-iam":
                continue
            how = "" if x is None or client == "ory-iam" else f" (keto.batch_size {x['batch_size']} with Keto's limit raised to match)"
            # The raw HTTP limit of the batch endpoint at the same batch size: the most any client could reach.
            lim = next((w for w in pick(rs, "check_batch", "raw", "wrk") if x and w.get("batch_size") == x.get("batch_size")), None)
            for s in sdks:
                o = one(rs, "check_batch", lang, s)
                r = ratio(o and o["median_s"], x and x["median_s"])
                p = None if x is None else paired_batch(raw, (lang, client, x.get("batch_size", 10)), (lang, s, 10))
                ceiling = "" if lim is None or o is None else (
                    f"; raw HTTP limit {f(lim['median_s'] * 1000, 0)} ms → about {f(ratio(o['median_s'], lim['median_s']), 1)}× at most for any client here")
                targets.append((f"{lang.capitalize()} check_batch(500){how} ≥ 10× faster than 500 sequential `{s}` checks",
                                f"{f(x and x['median_s'] * 1000, 0)} ms vs {f(o and o['median_s'] * 1000, 0)} ms → {f(r, 1)}×{per_round(p, 1, 1)}{ceiling}", None if r is None else r >= 10))
    for lang in ("rust", "python", "node"):
        x = one(rs, "memory", lang, "ory-iam")
        n_sessions = f"{x['sessions']:,}" if x else "100,000"
        targets.append((f"{lang.capitalize()} RSS after caching {n_sessions} sessions ≤ 200 MB",
                        "–" if x is None else f"{f(x['rss_after_mb'])} MB total ({f(x['rss_after_mb'] - x['rss_before_mb'])} MB for the cache; {x['sample_hits']}/{x['sample']} sampled entries hit)",
                        None if x is None else x["rss_after_mb"] <= 200))
    cb = one(rs, "cache_bounds", "rust", "ory-iam")
    if cb:
        for name, c in cb["caches"].items():
            s = c["samples"]
            half = next((x for x in s if x["keys"] * 2 >= cb["keys"]), s[0])
            growth = s[-1]["rss_mb"] - half["rss_mb"]
            targets.append((f"Rust RSS flat under {cb['keys']:,} distinct keys: {name} (max {c['max_entries']:,}), growth over the second half ≤ 2 MB",
                            f"{f(half['rss_mb'])} → {f(s[-1]['rss_mb'])} MB ({f(growth)} MB)", growth <= 2.0))
    mi = one(rs, "many_instances", "rust", "ory-iam")
    if mi:
        p, m = mi["propagation"], mi["many_processes"]
        targets.append((f"{m['processes']} processes × {m['concurrency']} sharing Redis: p99 revoke → refused at another process < 50 ms (loopback)",
                        f"p50 {f(p['p50_ms'], 2)} ms, p99 {f(p['p99_ms'], 2)} ms ({p['samples']} samples)", p["p99_ms"] < 50))
        ceiling = min(m["processes"], mi["cpus"])
        targets.append((f"Throughput 1 → {m['processes']} processes ≥ 3.2× (on a 4-core budget)",
                        f"{f(mi['scaling'], 2)}× on {mi['cpus']} CPUs (ceiling here: {ceiling}×, shared with Redis and Kratos)",
                        None if mi["cpus"] < 4 else mi["scaling"] >= 3.2))
    w("## Targets (from this run)\n")
    w("| target | measured | verdict |\n|---|---|---|")
    for name, meas, ok in targets:
        w(f"| {name} | {meas} | {verdict(ok)} |")
    w("")

    # ---------------------------------------------------------------- workloads
    w("## 1. whoami, uncached (session token; every call asks Kratos)\n")
    w("Each client in its own process with `session_cache: none` (ory-iam) or no cache (official SDKs); "
      f"{data['point_s']:.0f} s per point; the official Python SDKs run a thread pool of N threads (urllib3 pool sized N), "
      "the Node clients N concurrent async loops, ory-iam N concurrent tasks/promises; wrk runs N connections "
      "(`bench/wrk_whoami.lua`, the same tokens). Client CPU = user+sys of the client process over the measured window ÷ calls "
      "(for wrk: of the wrk process). ory-iam runs with the stack's config (`.stack/stack.json` `iam_config`: retries 2, "
      "timeout 15 s) and `audit: {sink: none}`, like the official SDKs, which audit nothing. "
      "The floor rows use no library at all: the same request written by hand on keep-alive sockets "
      "(N connections), the response framed by its Content-Length and the session decoded with `json.loads` / `JSON.parse`, "
      "from an asyncio event loop (`raw-asyncio`, the structure of ory-iam's Python API), from a pool of N threads with blocking "
      "sockets (`raw-threads`, the structure of the official Python SDKs) and from Node (`raw-net`). They are the least CPU per "
      "call a client of that language and structure can spend on this machine, and put the CPU targets in proportion.\n")
    w(f"![throughput](throughput.png)\n\n![cpu per call](cpu_per_call.png)\n")
    rounds = data.get("rounds", 1)
    if rounds > 1:
        w(f"Every point was measured {rounds} times (rounds of all clients at all concurrencies, one after the other); "
          "the table, the plots and the targets use the median of each point, the range is in brackets.\n")
    w("| client | c | calls/s | % of wrk | client CPU/call (µs) | load1 |\n|---|---|---|---|---|---|")
    un = pick(rs, "whoami_uncached")

    def rng(r: dict[str, Any], k: str, d: int, scale: float = 1) -> str:
        lo_hi = r.get(k + "_range")
        return "" if not lo_hi or r.get("rounds", 1) < 2 else f" ({f(lo_hi[0] * scale, d)}–{f(lo_hi[1] * scale, d)})"

    for c in (1, 8, 32):
        base = one(rs, "whoami_uncached", "raw", "wrk", c=c)
        for r in sorted([r for r in un if r["concurrency"] == c], key=sort_key):
            pct = ratio(r["rps"], base and base["rps"])
            w(f"| {label(r)} | {c} | {f(r['rps'], 0)}{rng(r, 'rps', 0)} | {f(None if pct is None else pct * 100, 0)} | "
              f"{f(r['cpu_per_call_us'])}{rng(r, 'cpu_per_call_us', 0)} | {r['load1_before']:.1f} |")
    w("")
    w("## 2. whoami, in-memory cache hit\n")
    w("One credential, cache warmed, then N sequential calls timed one by one (`perf_counter_ns` / `process.hrtime.bigint` / `Instant`), "
      "each awaited from the language's own event loop (asyncio / Node / tokio).\n")
    if "cache_hit_latency.png" in imgs:
        w("![cache hit latency](cache_hit_latency.png)\n")
    w("| client | calls | p50 (µs) | p99 (µs) | mean (µs) | CPU/call (µs) |\n|---|---|---|---|---|---|")
    for r in sorted(pick(rs, "whoami_hit"), key=sort_key):
        w(f"| {label(r)} | {r['calls']:,} | {f(r['p50_us'], 2)} | {f(r['p99_us'], 2)} | {f(r['mean_us'], 2)} | {f(r['cpu_per_call_us'], 2)} |")
    w("")
    w("## 3. Keto check\n")
    w("Single check, sequential, latency per call (the tuple is granted; ory-iam's decision cache is off, as `permission_ttl_ms: 0` by default):\n")
    w("| client | calls | p50 (µs) | p99 (µs) | CPU/call (µs) |\n|---|---|---|---|---|")
    for r in sorted(pick(rs, "check"), key=sort_key):
        w(f"| {label(r)} | {r['calls']:,} | {f(r['p50_us'])} | {f(r['p99_us'])} | {f(r['cpu_per_call_us'])} |")
    w("")
    batch_rounds = max((r.get("rounds", 1) for r in pick(rs, "check_batch")), default=1)
    w("`check_batch` of 500 granted tuples (ory-iam) vs 500 sequential checks through the official SDK (median of the repeats"
      + (f"; {batch_rounds} rounds of every row, one after the other: the median of the rounds, the range in brackets" if batch_rounds > 1 else "")
      + "):\n")
    w("| client | how | wall time (ms) | client CPU (ms) | Keto CPU (ms) |\n|---|---|---|---|---|")
    for r in sorted(pick(rs, "check_batch"), key=sort_key):
        if r["client"] == "wrk":
            how = (f"raw `POST /relation-tuples/batch/check`, batches of {r['batch_size']}, {r['concurrency']} connections, "
                   f"{r['window_s']:.0f} s steady state ({r['requests']:,} requests), time per 500")
        elif r["client"].startswith("ory-iam"):
            how = f"`check_batch(500)`, {-(-500 // r.get('batch_size', 10))} requests"
        else:
            how = "500 × `check_permission`"
        keto = r.get("keto_cpu_s")
        w(f"| {label(r)} | {how} | {f(r['median_s'] * 1000)}{rng(r, 'median_s', 0, 1000)} | {f(r['cpu_s'] * 1000)} | "
          f"{f(None if keto is None else keto * 1000)}{rng(r, 'keto_cpu_s', 0, 1000)} |")
    w("")
    w("Keto CPU = user+sys of the Keto process per run of 500 checks (from `/proc`, averaged over the repeats). "
      "ory-iam sends Keto's batch endpoint requests of `keto.batch_size` tuples, 4 at a time: 10 by default (Keto's default "
      "`limit.max_batch_check_size`), and in a second row the stack Keto's raised limit; the SDKs one request per check. "
      "Half of a run's Keto CPU is the least wall time that run can take on this 2-core machine. "
      "The wrk rows are the endpoint's raw HTTP limit at each batch size (`bench/wrk_batch_check.lua`: the same 500 tuples in "
      "the same batches over as many connections as ory-iam keeps in flight, every answer checked, for the whole window; "
      "wall time and CPU per 500 checks). A single run of 500 also has a start and a tail, so a client's run is not expected "
      "to be faster, and 500 sequential SDK checks divided by it is about the largest ratio any client can show on this machine.\n")
    w("## 4. Identity list with paging\n")
    w("Every identity of the customer tenant (the 2,000 `bench-` identities plus whatever other test runs left there), "
      "ory-iam's auto-pager (`list_all` / `listAll`) vs the official SDK's manual `page_token` loop over the `Link` header; Kratos's default page size for both.\n")
    w("| client | identities | wall time (ms) | client CPU (ms) |\n|---|---|---|---|")
    for r in sorted(pick(rs, "identity_list"), key=sort_key):
        w(f"| {label(r)} | {r['identities']:,} | {f(r['median_s'] * 1000)} | {f(r['cpu_s'] * 1000)} |")
    w("")
    mem_n = max((r["sessions"] for r in pick(rs, "memory")), default=100_000)
    w(f"## 5. Memory: {mem_n:,} cached sessions\n")
    w("`session_cache: {memory: {max_entries: 200000}}`; 100,000 distinct session tokens resolved once each (64 in flight), then a "
      "sample of 1 in 100 asked again (must be cache hits). Caching 100,000 sessions needs 100,000 credentials Kratos accepts; "
      "logging in 100,000 times against the shared SQLite Kratos is out of reach here, so this workload alone is served by "
      "`bench/kratos_replay.js`, a loopback server that answers `/sessions/whoami` with a session body captured from the real "
      "Kratos at start (its own session id per token), so each cached entry has the real shape and size. RSS of the whole client process.\n")
    w("| client | sessions | RSS before (MB) | RSS after (MB) | growth (MB) | fill time (s) | sampled hits | sampled hit p50 (µs) |\n|---|---|---|---|---|---|---|---|")
    for r in sorted(pick(rs, "memory"), key=sort_key):
        w(f"| {label(r)} | {r['sessions']:,} | {f(r['rss_before_mb'])} | {f(r['rss_after_mb'])} | {f(r['rss_after_mb'] - r['rss_before_mb'])} | {f(r['fill_s'], 1)} | {r['sample_hits']}/{r['sample']} | {f(r.get('sample_p50_us'), 2)} |")
    w("\nThe sampled hits are spread over all 100,000 entries, so nearly all come from the compact (JSON) tier of the cache "
      "and pay a decode; the cache-hit figures of section 2 are repeated hits, served from the decoded hot tier (the 1,024 most recently used sessions).")
    w("")
    cb = one(rs, "cache_bounds", "rust", "ory-iam")
    if cb:
        w(f"## 6. Bounded caches: {cb['keys']:,} distinct keys each\n")
        w("Each cache of the core is fed distinct keys with its maximum at a tenth of that (`session_cache.memory.max_entries`, "
          "`cache.permission_max_entries`, `cache.introspection_max_entries`, `oathkeeper.replay_max_entries`), 64 in flight; RSS of the "
          "Rust process after each quarter. Decisions are answered by the real Keto; sessions and introspections by "
          "`bench/kratos_replay.js` (answers captured from the real Kratos and Hydra at start: that many distinct active "
          "credentials are out of reach against the shared SQLite servers); Oathkeeper envelopes are signed and verified "
          "in-process. The caches run one after another in one process, so each starts where the previous ended. "
          "Once a cache is full, RSS must stop growing (before issue 19 the decision and introspection caches grew ~1 KB per key, never evicted). "
          f"Build: {cb.get('build', 'release')}.\n")
        w("| cache | max entries | RSS before (MB) | " + " | ".join(f"after {x['keys']:,} (MB)" for x in next(iter(cb['caches'].values()))['samples']) + " | time (s) |")
        w("|---|---|---|" + "---|" * len(next(iter(cb['caches'].values()))['samples']) + "---|")
        for name, c in sorted(cb["caches"].items(), key=lambda kv: kv[1]["rss_before_mb"]):
            w(f"| {name} | {c['max_entries']:,} | {f(c['rss_before_mb'])} | " + " | ".join(f(x["rss_mb"]) for x in c["samples"]) + f" | {f(c['elapsed_s'], 0)} |")
        w("")
    mi = one(rs, "many_instances", "rust", "ory-iam")
    if mi:
        w(many_instances_section(mi))
    if data["failures"]:
        w("## Failures in this run\n")
        for x in data["failures"]:
            w(f"- {x}")
        w("")
    notes = Path(a.notes)
    if notes.exists():
        w(notes.read_text().rstrip() + "\n")
    (BENCH / "REPORT.md").write_text("\n".join(L))
    print(f"report: wrote {BENCH / 'REPORT.md'} and {', '.join(imgs)}")


if __name__ == "__main__":
    main()
