#!/usr/bin/env bash
# Every test: Rust (unit + integration; one at a time: the stack runs SQLite, whose writers
# collide under concurrent tests with "database is locked"; concurrency inside the library is
# tested within single tests), Python (pytest) and Node (node:test), all against the
# real local Ory stack, which this script starts and stops. Prints a closing summary.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh || exit 1

start=$SECONDS
tests/stack/up || { tests/stack/stack.py logs 2>/dev/null; exit 1; }
trap 'tests/stack/down' EXIT

failed=()
out=$(mktemp)
step() {
  local name=$1; shift
  echo; echo "==== $name"
  if ! "$@" 2>&1 | tee -a "$out"; then
    failed+=("$name")
  fi
}
set -o pipefail

step "rust: fmt" cargo fmt --all -- --check
step "rust: clippy" cargo clippy --workspace --all-targets -q -- -D warnings
# Windows and macOS cannot run here; their compile (core + both bindings, -D warnings) is checked.
step "rust: check windows + macos targets" bash scripts/check-targets.sh
step "rust: tests" cargo test -p ory-iam -- --nocapture --test-threads 1
step "python: build" .venv/bin/maturin develop -q
step "python: types" .venv/bin/mypy --strict bindings-python/python/ory_iam tests/python/typed_usage.py
step "python: tests" .venv/bin/python -m pytest -q -s
step "node: build" npm run -s build:debug
# The generated loader and typings are committed: fail when they drift from the code.
step "node: typings up to date" git diff --exit-code -- bindings-node/index.d.ts bindings-node/index.js
step "node: types" npx --no-install tsc -p tests/node/tsconfig.json
step "node: types (nodenext: ESM + CommonJS through the exports map)" npx --no-install tsc -p tests/node/esm/tsconfig.json
step "node: tests" node --test tests/node/
step "workflows: actionlint" bash scripts/actionlint.sh
# Last: one release build of each package for Linux x86-64 glibc (the zig/aarch64/musl cross
# builds are scripts/package.sh's and the release workflow's, not CI's), installed from dist/
# alone the way users install them, without cargo on the PATH, and the README quick starts run
# verbatim from Python, Node (CommonJS, ESM, TypeScript nodenext) and Rust.
step "packaging: build dist/" bash scripts/package.sh --native-only
step "packaging: install test" bash tests/packaging/install.sh

# One closing line over the three runners: cargo's "test result", pytest's and node's counts.
read -r passed nfailed < <(python3 - "$out" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
p = f = 0
for m in re.finditer(r"test result: \w+\. (\d+) passed; (\d+) failed", text):
    p += int(m[1]); f += int(m[2])
for m in re.finditer(r"^=* ?(?:(\d+) failed, )?(\d+) passed", text, re.M):
    p += int(m[2]); f += int(m[1] or 0)
for m in re.finditer(r"^# pass (\d+)\n# fail (\d+)", text, re.M):
    p += int(m[1]); f += int(m[2])
print(p, f)
PY
)
rm -f "$out"
echo
echo "tests: $passed passed, $nfailed failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}"
  tests/stack/stack.py logs || true
  echo "test suite: $(( SECONDS - start ))s"
  exit 1
fi
echo "all steps passed in $(( SECONDS - start ))s"
