"""The training run of a profile-guided (PGO) build: `maturin build --pgo` installs the
instrumented wheel into a temporary venv and runs this (pyproject.toml's `pgo-command`).

It drives what the benchmark measures, so the profile weights the paths users run most: the
blocking API's uncached whoami from 1 and 8 threads, the async API's from 8 tasks, cache hits,
permission checks. Needs the local stack and the bench fixtures (tests/stack/up,
bench/fixtures.py); scripts/package.sh (ORY_IAM_PGO=1) and scripts/bench.sh --published bring both
up first.
Each workload runs in its own process (py_bench.py, with this venv's interpreter).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

RUNS = [
    ["ory-iam-sync", "whoami_uncached", "--concurrency", "1", "--duration", "4"],
    ["ory-iam-sync", "whoami_uncached", "--concurrency", "8", "--duration", "4"],
    ["ory-iam", "whoami_uncached", "--concurrency", "8", "--duration", "4"],
    ["ory-iam", "whoami_hit", "--calls", "20000"],
    ["ory-iam", "check", "--calls", "2000"],
]


def main() -> None:
    for args in RUNS:
        out = subprocess.run([sys.executable, str(BENCH / "py_bench.py"), *args], capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-2000:])
            raise SystemExit(f"pgo training: py_bench.py {' '.join(args)} failed")
        print(f"pgo training: {' '.join(args[:2])}: {out.stdout.strip().splitlines()[-1][:90]}", flush=True)


if __name__ == "__main__":
    main()
