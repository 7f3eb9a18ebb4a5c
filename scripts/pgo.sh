#!/usr/bin/env bash
# A profile-guided (PGO) release build of the Python extension, and the profile it used
# (issue 21's lever, measured in bench/NOTES.md item 12; not part of the tests or of CI):
#   1. an instrumented release wheel (-Cprofile-generate), in its own target dir;
#   2. training: the benchmark's whoami workloads (blocking API from 1 and 8 threads, async API
#      from 8 tasks, cache hits) against the local stack (tests/stack/up, bench/fixtures.py);
#   3. llvm-profdata (rustup's llvm-tools) merges the raw profiles into target/pgo/ory-iam.profdata;
#   4. the release wheel built with -Cprofile-use, into target/pgo/wheels.
# The profile covers the core and the Python binding; it is for this machine's target
# (x86_64-unknown-linux-gnu here). scripts/package.sh does not use it yet.
#
#   bash scripts/pgo.sh
#   bench/.venv/bin/pip install --force-reinstall --no-deps target/pgo/wheels/ory_iam-*.whl
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/setup.sh
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
rustup component add llvm-tools >/dev/null 2>&1 || true
profdata="$(ls "$(rustc --print sysroot)"/lib/rustlib/*/bin/llvm-profdata 2>/dev/null | head -1)"
[ -x "$profdata" ] || { echo "pgo: llvm-profdata not found (rustup component add llvm-tools)" >&2; exit 1; }

tests/stack/up
bench/.venv/bin/python bench/fixtures.py

out="$root/target/pgo"
rm -rf "$out/raw" "$out/wheels-gen" "$out/train" "$out/wheels"
mkdir -p "$out/raw"
echo "pgo: instrumented build"
RUSTFLAGS="-Cprofile-generate=$out/raw" CARGO_TARGET_DIR="$out/target-gen" \
  bench/.venv/bin/maturin build --release -q -o "$out/wheels-gen"
bench/.venv/bin/pip install -q --disable-pip-version-check --no-deps --target "$out/train" "$out"/wheels-gen/ory_iam-*.whl

echo "pgo: training"
train() { PYTHONPATH="$out/train" bench/.venv/bin/python bench/py_bench.py "$@" | tail -1 | cut -c1-100; }
train ory-iam-sync whoami_uncached --concurrency 1 --duration 4
train ory-iam-sync whoami_uncached --concurrency 8 --duration 4
train ory-iam whoami_uncached --concurrency 8 --duration 4
train ory-iam whoami_hit --calls 20000

"$profdata" merge -o "$out/ory-iam.profdata" "$out/raw"
echo "pgo: optimized build"
RUSTFLAGS="-Cprofile-use=$out/ory-iam.profdata" CARGO_TARGET_DIR="$out/target-use" \
  bench/.venv/bin/maturin build --release -q -o "$out/wheels"
echo "pgo: profile $out/ory-iam.profdata, wheel $(ls "$out"/wheels/ory_iam-*.whl)"
