"""Soak through the Python binding (issue 8): a fixed request rate against the real stack for a
bounded time; RSS and open file descriptors sampled throughout; no error allowed.

    SOAK_SECONDS=600 SOAK_RATE=50 .venv/bin/python tests/reliability/soak.py

Each tick sends one call, rotating `session.whoami` (session cache off: every call reaches
Kratos), `permission.check` (Keto) and `identity.get` (Kratos admin). Calls are started on
schedule whatever the latency (in-flight calls bounded). The baseline is taken after a warm-up
(10 % of the run, at most 30 s); the run fails if the end RSS exceeds the baseline by more than
max(16 MiB, 10 %), if the fd count grows by more than 4 (pooled keep-alive connections come and
go), or if any call fails. Results are merged into `.stack/reliability/soak.json` under
"python" (`SOAK_OUT` to write elsewhere).
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import sys
import time
import uuid
from typing import Any

import ory_iam

ROOT = pathlib.Path(__file__).resolve().parents[2]
RSS_TOLERANCE_MIB = 16.0
RSS_TOLERANCE_RATIO = 0.10
FD_TOLERANCE = 4


def rss_mib() -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def main() -> int:
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    rate = float(os.environ.get("SOAK_RATE", "50"))
    out = pathlib.Path(os.environ.get("SOAK_OUT", ROOT / ".stack" / "reliability" / "soak.json"))
    stack = json.loads((ROOT / ".stack" / "stack.json").read_text())
    cfg = json.loads(json.dumps(stack["iam_config"]))
    cfg["session_cache"] = "none"
    cfg["audit"] = {"sink": "none"}
    iam = ory_iam.Iam.from_config(cfg)

    flow = await iam.flow.initiate_registration()
    email = f"soak-py-{uuid.uuid4().hex}@example.test"
    reg = await iam.flow.submit_registration(flow.id, {"method": "password", "password": "a-Long-and-unique-passphrase-42", "traits": {"email": email}})
    assert reg.kind == "success" and reg.session_token is not None and reg.identity is not None
    req = {"authorization": f"Bearer {reg.session_token.expose()}"}
    identity_id = reg.identity.id
    tup = {"namespace": "documents", "object": f"soak-py-{uuid.uuid4().hex}", "relation": "view", "subject": "alice"}
    await iam.permission.grant(tup)

    errors: dict[str, int] = {}
    done = 0
    wrong = 0
    sem = asyncio.Semaphore(64)

    async def one(i: int) -> None:
        nonlocal done, wrong
        async with sem:
            try:
                k = i % 3
                if k == 0:
                    s = await iam.session.whoami(req)
                    wrong += s.identity.id != identity_id
                elif k == 1:
                    wrong += (await iam.permission.check(tup)) is not True
                else:
                    wrong += (await iam.identity.get(identity_id)).id != identity_id
                done += 1
            except ory_iam.IamError as e:
                errors[e.code] = errors.get(e.code, 0) + 1

    warmup = min(30.0, seconds * 0.10)
    samples: list[dict[str, float]] = []
    baseline: dict[str, float] | None = None
    tasks: set[asyncio.Task[None]] = set()
    t0 = time.monotonic()
    next_sample = 0.0
    i = 0
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            break
        if now >= next_sample:
            samples.append({"t": round(now, 1), "rss_mib": round(rss_mib(), 2), "fds": fds(), "done": done})
            next_sample += max(1.0, seconds / 60)
        if baseline is None and now >= warmup:
            baseline = {"t": round(now, 1), "rss_mib": rss_mib(), "fds": fds()}
        target = i / rate
        if target > now:
            await asyncio.sleep(target - now)
        t = asyncio.create_task(one(i))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        i += 1
    await asyncio.gather(*tasks)
    end = {"t": round(time.monotonic() - t0, 1), "rss_mib": rss_mib(), "fds": fds()}
    samples.append({"t": end["t"], "rss_mib": round(end["rss_mib"], 2), "fds": end["fds"], "done": done})
    assert baseline is not None
    await iam.permission.revoke(tup)
    await iam.identity.delete(identity_id)

    rss_allowed = max(RSS_TOLERANCE_MIB, baseline["rss_mib"] * RSS_TOLERANCE_RATIO)
    problems = []
    if end["rss_mib"] - baseline["rss_mib"] > rss_allowed:
        problems.append(f"RSS grew {end['rss_mib'] - baseline['rss_mib']:.1f} MiB (allowed {rss_allowed:.1f})")
    if end["fds"] > baseline["fds"] + FD_TOLERANCE:
        problems.append(f"fds grew {baseline['fds']} → {end['fds']}")
    if errors:
        problems.append(f"errors {errors}")
    if wrong:
        problems.append(f"{wrong} wrong answers")
    result = {
        "language": "python",
        "seconds": seconds,
        "rate_per_s": rate,
        "requests": i,
        "completed": done,
        "achieved_rate_per_s": round(done / end["t"], 1),
        "errors": errors,
        "wrong_answers": wrong,
        "warmup_s": warmup,
        "rss_start_mib": round(baseline["rss_mib"], 2),
        "rss_end_mib": round(end["rss_mib"], 2),
        "rss_tolerance_mib": round(rss_allowed, 1),
        "fds_start": baseline["fds"],
        "fds_end": end["fds"],
        "fd_tolerance": FD_TOLERANCE,
        "samples": samples,
        "ok": not problems,
        "problems": problems,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(out.read_text()) if out.exists() else {}
    data["python"] = result
    out.write_text(json.dumps(data, indent=2))
    print(
        f"soak (python): {done}/{i} calls in {end['t']:.0f} s at {rate:g}/s, errors {sum(errors.values())}, "
        f"RSS {baseline['rss_mib']:.1f} → {end['rss_mib']:.1f} MiB, fds {baseline['fds']} → {end['fds']}: "
        + ("ok" if not problems else "FAIL " + "; ".join(problems))
    )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
