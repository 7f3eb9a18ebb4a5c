#!/usr/bin/env bash
# The main job: set up, start the local Ory stack (real Kratos ×2, Keto, Hydra, Redis), run the
# tour of the library from Rust, Python and Node, and stop the stack if this script started it
# (a stack that was already running, e.g. for a test session, is left running).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
if tests/stack/stack.py status >/dev/null 2>&1; then
  echo "demo: using the local Ory stack that is already running (left running afterwards)"
else
  tests/stack/up
  trap 'tests/stack/down' EXIT
fi
echo "== Rust"
cargo run -q -p ory-iam --example tour
echo "== Python"
.venv/bin/maturin develop -q >/dev/null 2>&1 || .venv/bin/maturin develop
.venv/bin/python examples/tour.py
echo "== Node"
npm run -s build:debug >/dev/null 2>&1 || npm run build:debug
node examples/tour.js
