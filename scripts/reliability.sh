#!/usr/bin/env bash
# The reliability suite (issue 8), one command: runs every part against the real local stack and
# regenerates tests/reliability/REPORT.md from the JSON results in .stack/reliability/run/.
#
#   bash scripts/reliability.sh
#
# Parts: the fault matrix and load tests (Rust), the whole Rust, Python and Node test suites (the
# leak scan covers everything they log, raise and audit; they include the binding fault subsets,
# cancellation, bad input and panic tests), the soaks (Python and Node side by side), the fuzzers
# (scripts/fuzz.sh), then tests/reliability/report.py.
# Environment: SOAK_SECONDS (600), SOAK_RATE (50 calls/s per binding), FUZZ_SECONDS (60 per
# target), SKIP_FUZZ=1 to leave the fuzzers out (the report then says so).
# Uses the running stack (tests/stack/up starts or reuses it) and never stops it. Exit status:
# non-zero when any part failed; the report is written in every case.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$root/.stack/reliability"
soak_seconds="${SOAK_SECONDS:-600}"
soak_rate="${SOAK_RATE:-50}"
fuzz_seconds="${FUZZ_SECONDS:-60}"

tests/stack/up || exit 1
# Fresh results only: a part that does not run this time must not be reported from a past run.
mkdir -p "$out"
rm -rf "$out"/*.json "$out"/leaks.node "$out"/leaks.rust "$out"/run

# Other runs in this tree (a colleague's pytest, cargo test, node --test) write into the same
# .stack/reliability/ files. Right after each step, the parts it produced are copied into
# .stack/reliability/run/, which is what the report reads.
snap() {
  python3 - "$out" "$@" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1]); run = out / "run"; run.mkdir(exist_ok=True)
key, files = sys.argv[2], sys.argv[3:]
for name in files:
    src = out / name
    if not src.exists():
        continue
    data = json.loads(src.read_text())
    dst = run / name
    if key == "*":
        dst.write_text(json.dumps(data, indent=1))
    elif isinstance(data, dict) and key in data:
        merged = json.loads(dst.read_text()) if dst.exists() else {}
        merged[key] = data[key]
        dst.write_text(json.dumps(merged, indent=1))
PY
}

steps=()
failed=()
step() {
  local name=$1; shift
  echo; echo "==== $name"
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  steps+=("$name"$'\t'"$rc"$'\t'"$(( SECONDS - t0 ))")
  [ "$rc" -eq 0 ] || failed+=("$name")
}

step "python: build" .venv/bin/maturin develop -q
step "node: build" npm run -s build:debug
step "rust: all tests (fault matrix, load, leak scan)" cargo test -p ory-iam --no-fail-fast -- --nocapture --test-threads 1
snap '*' faults.json load.json
snap rust leaks.json bad_input.json panic.json
step "python: all tests (leak scan, bad input, panic, faults, cancel)" .venv/bin/python -m pytest -q -s
snap python leaks.json bad_input.json panic.json cancel.json
step "node: all tests (leak scan, bad input, panic, faults, abandon)" node --test tests/node/
snap node leaks.json bad_input.json panic.json cancel.json

soak() {
  SOAK_SECONDS="$soak_seconds" SOAK_RATE="$soak_rate" .venv/bin/python tests/reliability/soak.py > "$out/soak-python.log" 2>&1 &
  local py=$!
  # Staggered so the two do not write soak.json at the same instant.
  sleep 2
  SOAK_SECONDS="$soak_seconds" SOAK_RATE="$soak_rate" node tests/reliability/soak.js > "$out/soak-node.log" 2>&1
  local rn=$?
  wait "$py"
  local rp=$?
  cat "$out/soak-python.log" "$out/soak-node.log"
  [ "$rp" -eq 0 ] && [ "$rn" -eq 0 ]
}
step "soak: python + node, ${soak_seconds}s at ${soak_rate}/s each" soak
snap '*' soak.json

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  step "fuzz: ${fuzz_seconds}s per target" bash scripts/fuzz.sh "$fuzz_seconds"
  snap '*' fuzz.json
fi

printf '%s\n' "${steps[@]}" | python3 -c '
import json, sys
rows = [l.rstrip("\n").split("\t") for l in sys.stdin if l.strip()]
json.dump({"steps": [{"step": s, "rc": int(rc), "seconds": int(sec)} for s, rc, sec in rows]}, open(sys.argv[1], "w"), indent=2)
' "$out/run/steps.json"
RELIABILITY_RESULTS="$out/run" python3 tests/reliability/report.py

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "reliability: FAILED parts: ${failed[*]}"
  exit 1
fi
echo "reliability: every part passed; see tests/reliability/REPORT.md"
