"""Python side of the benchmark: one client and one workload per process, JSON on stdout.

    python bench/py_bench.py CLIENT WORKLOAD [--concurrency N] [--duration S] [--calls N]

CLIENT: ory-iam (the release wheel installed in bench/.venv), ory-iam-per-call (the same wheel with the bridge's per-call completion path
and two runtime threads, as before the mailbox), ory-iam-sync (whoami_uncached only: the blocking
API `ory_iam.sync` from a thread pool, as Django/Flask/gunicorn threads call it),
ory-client, ory-kratos-client,
ory-keto-client (the official SDKs; sync, so concurrency is a thread pool, as their users do),
raw-asyncio and raw-threads (whoami_uncached only: no library, hand-written requests on
keep-alive sockets from an event loop / a thread pool; the floors of each structure).
WORKLOAD: whoami_uncached, whoami_hit, check, check_batch, identity_list, memory.
Client CPU is the process's user+sys time (`resource.getrusage`) over the measured calls only.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import copy
import json
import resource
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Awaitable, Callable

ROOT = Path(__file__).resolve().parent.parent


def load() -> tuple[dict[str, Any], dict[str, Any]]:
    stack = json.loads((ROOT / ".stack" / "stack.json").read_text())
    fixtures = json.loads((ROOT / "bench" / ".work" / "fixtures.json").read_text())
    return stack, fixtures


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def tuples(fx: dict[str, Any], n: int, subject_key: str = "subject_id") -> list[dict[str, str]]:
    """The granted bench tuples; ory-iam names the subject `subject`, Ory's API `subject_id`."""
    t = fx["tuples"]
    return [
        {"namespace": t["namespace"], "object": f"bench-doc-{i:03d}", "relation": t["relation"], subject_key: t["subject_id"]}
        for i in range(n)
    ]


# ---------------------------------------------------------------------------------- ory-iam


def iam_config(stack: dict[str, Any], cache: bool, replay_url: str | None = None) -> dict[str, Any]:
    cfg = copy.deepcopy(stack["iam_config"])
    cfg["audit"] = {"sink": "none"}
    cfg["session_cache"] = {"memory": {"max_entries": 200_000}} if cache else "none"
    for t in cfg["tenants"].values():
        t["cache"] = {"session_ttl_ms": 600_000 if cache else 0}
    if replay_url:
        cfg["tenants"]["customer"]["kratos"]["public_url"] = replay_url
    return cfg


async def iam_run(args: argparse.Namespace, stack: dict[str, Any], fx: dict[str, Any]) -> dict[str, Any]:
    import ory_iam

    tokens = fx["tokens"]
    w = args.workload
    if w == "whoami_uncached":
        iam = ory_iam.Iam.from_config(iam_config(stack, cache=False))
        svc = iam.session
        for t in tokens[: args.concurrency]:
            await svc.whoami({"x-session-token": t})  # warm the connection pool
        hs = [{"x-session-token": tokens[i % len(tokens)]} for i in range(args.concurrency)]
        return await async_load(args, lambda i: svc.whoami(hs[i]))
    if w in ("whoami_hit", "whoami_or_null_hit"):
        # whoami_or_null_hit: the same cache hit through `whoami_or_null` (which has the same
        # ready fast path now; not part of the default run).
        iam = ory_iam.Iam.from_config(iam_config(stack, cache=True))
        svc = iam.session
        call = svc.whoami if w == "whoami_hit" else svc.whoami_or_null
        h = {"x-session-token": tokens[0]}
        assert not (await svc.whoami(h)).cache_hit
        for _ in range(2000):
            await call(h)
        lat = []
        c0 = cpu()
        for _ in range(args.calls):
            t0 = time.perf_counter_ns()
            s = await call(h)
            lat.append(time.perf_counter_ns() - t0)
        c = cpu() - c0
        assert s is not None and s.cache_hit
        return latency(lat, c)
    if w == "check":
        iam = ory_iam.Iam.from_config(iam_config(stack, cache=False))
        perm = iam.permission
        tup = tuples(fx, 1, "subject")[0]
        assert await perm.check(tup)
        lat = []
        c0 = cpu()
        for _ in range(args.calls):
            t0 = time.perf_counter_ns()
            await perm.check(tup)
            lat.append(time.perf_counter_ns() - t0)
        return latency(lat, cpu() - c0)
    if w == "check_batch":
        cfg = iam_config(stack, cache=False)
        if args.batch_size:
            cfg["tenants"]["customer"]["keto"]["batch_size"] = args.batch_size
        perm = ory_iam.Iam.from_config(cfg).permission
        ts = tuples(fx, fx["tuples"]["count"], "subject")
        await perm.check_batch(ts[:10])
        runs = []
        c0 = cpu()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = await perm.check_batch(ts)
            runs.append(time.perf_counter() - t0)
            assert len(res) == len(ts) and all(r.allowed for r in res), "every bench tuple is granted"
        return {"tuples": len(ts), "batch_size": args.batch_size or 10, "runs_s": runs, "median_s": statistics.median(runs),
                "cpu_s": (cpu() - c0) / args.repeat}
    if w == "identity_list":
        iam = ory_iam.Iam.from_config(iam_config(stack, cache=False))
        runs, n = [], 0
        c0 = cpu()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            n = 0
            async for _ in iam.identity.list_all():
                n += 1
            runs.append(time.perf_counter() - t0)
        return {"identities": n, "runs_s": runs, "median_s": statistics.median(runs), "cpu_s": (cpu() - c0) / args.repeat}
    if w == "memory":
        iam = ory_iam.Iam.from_config(iam_config(stack, cache=True, replay_url=args.replay_url))
        svc = iam.session
        await svc.whoami({"x-session-token": "bench-replay-warmup"})
        base = rss_mb()
        sem = asyncio.Semaphore(64)

        async def one(i: int) -> None:
            async with sem:
                await svc.whoami({"x-session-token": f"bench-replay-{i:08d}"})

        t0 = time.perf_counter()
        for start in range(0, args.calls, 5000):
            await asyncio.gather(*(one(i) for i in range(start, min(args.calls, start + 5000))))
        fill_s = time.perf_counter() - t0
        # Every entry must really be cached: a second pass over a sample is all cache hits.
        hits, lat = 0, []
        for i in range(0, args.calls, max(1, args.calls // 1000)):
            h = {"x-session-token": f"bench-replay-{i:08d}"}
            t0 = time.perf_counter_ns()
            hits += (await svc.whoami(h)).cache_hit
            lat.append((time.perf_counter_ns() - t0) / 1000)
        return {"sessions": args.calls, "rss_before_mb": base, "rss_after_mb": rss_mb(), "fill_s": fill_s, "sample_hits": hits, "sample": len(lat), "sample_p50_us": pct(lat, 50)}
    raise SystemExit(f"unknown workload {w}")


# --------------------------------------------------------------------------- official SDKs


def iam_sync_run(args: argparse.Namespace, stack: dict[str, Any], fx: dict[str, Any]) -> dict[str, Any]:
    """The blocking API from `concurrency` threads sharing one `ory_iam.sync.Iam` (each thread
    waits in Rust with the GIL released; no event loop): the structure of the official SDKs."""
    from ory_iam.sync import Iam

    if args.workload != "whoami_uncached":
        raise SystemExit("ory-iam-sync: whoami_uncached only")
    tokens = fx["tokens"]
    svc = Iam.from_config(iam_config(stack, cache=False)).session
    hs = [{"x-session-token": tokens[i % len(tokens)]} for i in range(args.concurrency)]
    with cf.ThreadPoolExecutor(args.concurrency) as ex:  # warm the connection pool
        list(ex.map(svc.whoami, hs))
    return thread_load(args, lambda i: svc.whoami(hs[i]))


def sdk(client: str, host: str, pool: int) -> Any:
    if client == "ory-client":
        import ory_client as m
    elif client == "ory-kratos-client":
        import ory_kratos_client as m  # type: ignore[no-redef]
    elif client == "ory-keto-client":
        import ory_keto_client as m  # type: ignore[no-redef]
    else:
        raise SystemExit(f"unknown client {client}")
    conf = m.Configuration(host=host.rstrip("/"))
    # The default pool (cpu_count*5) is smaller than 32 threads; a user tuning for 32 would raise it.
    conf.connection_pool_maxsize = max(pool, 4)
    return m, m.ApiClient(conf)


def sdk_run(args: argparse.Namespace, stack: dict[str, Any], fx: dict[str, Any]) -> dict[str, Any]:
    tokens = fx["tokens"]
    k = stack["kratos"]["customer"]
    w = args.workload
    if w == "whoami_uncached":
        m, api = sdk(args.client, k["public_url"], args.concurrency)
        fe = m.FrontendApi(api)
        for t in tokens[: args.concurrency]:
            fe.to_session(x_session_token=t)
        return thread_load(args, lambda i: fe.to_session(x_session_token=tokens[i % len(tokens)]))
    if w in ("check", "check_batch"):
        m, api = sdk(args.client, stack["keto"]["read_url"], 4)
        perm = m.PermissionApi(api)
        ts = tuples(fx, fx["tuples"]["count"])
        assert perm.check_permission(**ts[0]).allowed
        if w == "check":
            lat = []
            c0 = cpu()
            for _ in range(args.calls):
                t0 = time.perf_counter_ns()
                perm.check_permission(**ts[0])
                lat.append(time.perf_counter_ns() - t0)
            return latency(lat, cpu() - c0)
        runs = []
        c0 = cpu()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = [perm.check_permission(**t).allowed for t in ts]
            runs.append(time.perf_counter() - t0)
            assert all(res)
        return {"tuples": len(ts), "batch_size": args.batch_size or 10, "runs_s": runs, "median_s": statistics.median(runs),
                "cpu_s": (cpu() - c0) / args.repeat}
    if w == "identity_list":
        m, api = sdk(args.client, k["admin_url"], 4)
        ident = m.IdentityApi(api)
        runs, n = [], 0
        c0 = cpu()
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            n, token = 0, None
            while True:
                r = ident.list_identities_with_http_info(page_token=token) if token else ident.list_identities_with_http_info()
                n += len(r.data)
                token = next_token(r.headers or {})
                if not token or not r.data:
                    break
            runs.append(time.perf_counter() - t0)
        return {"identities": n, "runs_s": runs, "median_s": statistics.median(runs), "cpu_s": (cpu() - c0) / args.repeat}
    raise SystemExit(f"workload {w} is not run with {args.client}")


# ------------------------------------------------------------------------------- raw floors
# No library at all: the same `GET /sessions/whoami` written by hand on keep-alive sockets, the
# response framed by Content-Length and its body decoded with `json.loads` (what any client has
# to do). They are the least CPU per call a Python client of each structure can spend here:
# `raw-asyncio` (an event loop, like ory-iam) and `raw-threads` (blocking sockets in a thread
# pool, like the official SDKs).


def whoami_request(base_url: str, token: str) -> tuple[str, int, bytes]:
    u = urllib.parse.urlsplit(base_url)
    req = (f"GET {u.path.rstrip('/')}/sessions/whoami HTTP/1.1\r\nHost: {u.netloc}\r\n"
           f"X-Session-Token: {token}\r\nAccept: application/json\r\n\r\n")
    return u.hostname or "127.0.0.1", u.port or 80, req.encode()


def take_response(buf: bytearray) -> bytes | None:
    """The body of the complete response at the front of `buf` (removed from it), or None while
    it is incomplete. Anything but a 200 with a Content-Length is an error, not a result."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower()
    if not head.startswith(b"http/1.1 200 "):
        raise RuntimeError(f"raw client: unexpected status line {head[:12]!r}")
    n = next((int(line[15:]) for line in head.split(b"\r\n") if line.startswith(b"content-length:")), None)
    if n is None:
        raise RuntimeError("raw client: response without Content-Length")
    if len(buf) < end + 4 + n:
        return None
    body = bytes(buf[end + 4:end + 4 + n])
    del buf[:end + 4 + n]
    return body


def check_session(body: bytes) -> None:
    if json.loads(body).get("active") is not True:
        raise RuntimeError("raw client: the session is not active")


class RawConn(asyncio.Protocol):
    """One keep-alive connection, one request in flight."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[bytes] | None = None
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is None or self.waiter.done():
            return
        try:
            body = take_response(self.buf)
        except RuntimeError as e:
            self.waiter.set_exception(e)
            return
        if body is not None:
            self.waiter.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("raw client: connection closed"))

    def get(self, req: bytes) -> asyncio.Future[bytes]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(req)
        return self.waiter


async def raw_asyncio_run(args: argparse.Namespace, stack: dict[str, Any], fx: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    reqs = [whoami_request(stack["kratos"]["customer"]["public_url"], fx["tokens"][i % len(fx["tokens"])]) for i in range(args.concurrency)]
    conns = [(await loop.create_connection(RawConn, host, port))[1] for host, port, _ in reqs]
    for conn, (_, _, req) in zip(conns, reqs):
        check_session(await conn.get(req))
    async def one(i: int) -> None:
        check_session(await conns[i].get(reqs[i][2]))

    return await async_load(args, one)


def raw_threads_run(args: argparse.Namespace, stack: dict[str, Any], fx: dict[str, Any]) -> dict[str, Any]:
    import socket

    reqs = [whoami_request(stack["kratos"]["customer"]["public_url"], fx["tokens"][i % len(fx["tokens"])]) for i in range(args.concurrency)]
    socks = [socket.create_connection((host, port)) for host, port, _ in reqs]
    bufs = [bytearray() for _ in reqs]

    def one(i: int) -> None:
        socks[i].sendall(reqs[i][2])
        while (body := take_response(bufs[i])) is None:
            chunk = socks[i].recv(65536)
            if not chunk:
                raise ConnectionError("raw client: connection closed")
            bufs[i] += chunk
        check_session(body)

    for i in range(args.concurrency):
        one(i)
    return thread_load(args, one)


def next_token(headers: Any) -> str | None:
    """What every user of the generated SDK writes: the `page_token` of `Link: <...>; rel="next"`."""
    link = headers.get("Link") or headers.get("link") or ""
    for part in link.split(","):
        if 'rel="next"' in part:
            url = part.split(";")[0].strip().strip("<>")
            return urllib.parse.parse_qs(urllib.parse.urlparse(url).query).get("page_token", [None])[0]
    return None


# ----------------------------------------------------------------------------------- output


async def async_load(args: argparse.Namespace, call: Callable[[int], Awaitable[Any]]) -> dict[str, Any]:
    """`await call(i)` in a loop in each of `concurrency` tasks (i = 0..N-1) for `duration` s."""
    calls = 0
    stop = False

    async def worker(i: int) -> None:
        nonlocal calls
        while not stop:
            await call(i)
            calls += 1

    c0, t0 = cpu(), time.perf_counter()
    tasks = [asyncio.create_task(worker(i)) for i in range(args.concurrency)]
    await asyncio.sleep(args.duration)
    stop = True
    await asyncio.gather(*tasks)
    return throughput(calls, time.perf_counter() - t0, cpu() - c0)


def thread_load(args: argparse.Namespace, call: Callable[[int], Any]) -> dict[str, Any]:
    """`call(i)` in a loop in each of `concurrency` pool threads (i = 0..N-1) for `duration` s."""
    calls = [0] * args.concurrency
    stop = threading.Event()

    def worker(i: int) -> None:
        while not stop.is_set():
            call(i)
            calls[i] += 1

    with cf.ThreadPoolExecutor(args.concurrency) as ex:
        c0, t0 = cpu(), time.perf_counter()
        futs = [ex.submit(worker, i) for i in range(args.concurrency)]
        time.sleep(args.duration)
        stop.set()
        for f in futs:
            f.result()
        return throughput(sum(calls), time.perf_counter() - t0, cpu() - c0)


def throughput(calls: int, elapsed: float, cpu_s: float) -> dict[str, Any]:
    return {"calls": calls, "elapsed_s": elapsed, "rps": calls / elapsed, "cpu_s": cpu_s, "cpu_per_call_us": cpu_s / max(calls, 1) * 1e6}


def latency(ns: list[int], cpu_s: float) -> dict[str, Any]:
    us = [x / 1000 for x in ns]
    return {"calls": len(us), "p50_us": pct(us, 50), "p99_us": pct(us, 99), "mean_us": statistics.fmean(us), "cpu_per_call_us": cpu_s / len(us) * 1e6}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("client")
    p.add_argument("workload")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--calls", type=int, default=20000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--replay-url", default=None)
    p.add_argument("--batch-size", type=int, default=0, help="ory-iam keto.batch_size (0: the library's default)")
    args = p.parse_args()
    stack, fx = load()
    if args.client == "ory-iam":
        out = asyncio.run(iam_run(args, stack, fx))
    elif args.client == "ory-iam-per-call":
        # The bridge as it was before the per-loop mailbox: every result completed from a
        # runtime thread with `call_soon_threadsafe` (what loops without `add_reader` still
        # get), on two runtime worker threads (read when the extension is imported).
        import os

        os.environ.setdefault("ORY_IAM_RUNTIME_THREADS", "2")

        class NoReaderLoop(asyncio.SelectorEventLoop):
            def add_reader(self, *a: Any, **k: Any) -> None:
                raise NotImplementedError

        with asyncio.Runner(loop_factory=NoReaderLoop) as runner:
            out = runner.run(iam_run(args, stack, fx))
    elif args.client == "ory-iam-sync":
        out = iam_sync_run(args, stack, fx)
    elif args.client == "raw-asyncio" and args.workload == "whoami_uncached":
        out = asyncio.run(raw_asyncio_run(args, stack, fx))
    elif args.client == "raw-threads" and args.workload == "whoami_uncached":
        out = raw_threads_run(args, stack, fx)
    else:
        out = sdk_run(args, stack, fx)
    out.update(lang="python", client=args.client, workload=args.workload, concurrency=args.concurrency)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
