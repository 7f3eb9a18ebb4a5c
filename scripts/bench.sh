#!/usr/bin/env bash
# The benchmark suite (not part of the tests' pass/fail): ory-iam from Rust, Python and Node vs
# the official Ory SDKs and a raw HTTP load generator (wrk), on the local stack, in one run.
# Writes bench/REPORT.md and bench/*.png. Installs its own dependencies (bench/.venv,
# bench/node_modules, Debian's wrk), reuses a healthy stack (tests/stack/up) and builds release
# artifacts without touching the debug ones the tests use.
#
#   bash scripts/bench.sh              # the full run (about 15 minutes)
#   bash scripts/bench.sh --quick      # short runs, to try the harness
#   bash scripts/bench.sh --published  # ory-iam built as published (the `dist` Cargo profile;
#                                      # the wheel profile-guided by maturin's --pgo, trained by
#                                      # bench/pgo_train.py): about 25 minutes more
#   BENCH_ONLY=whoami_hit,check bash scripts/bench.sh   # some workloads only
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
quick=()
profile=release
pgo=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=(--quick) ;;
    --published) profile=dist; pgo=(--pgo); rustup component add llvm-tools >/dev/null 2>&1 || true ;;
    *) echo "bench: unknown option $arg" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo -n); fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
if [ ! -f bench/node_modules/.package-lock.json ] || [ bench/package-lock.json -nt bench/node_modules/.package-lock.json ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi

tests/stack/up
bench/.venv/bin/python bench/fixtures.py

echo "bench: $profile builds${pgo:+ (the wheel profile-guided)}"
cargo build --profile "$profile" -q -p ory-iam-bench
rm -rf bench/.work/wheels
bench/.venv/bin/maturin build --profile "$profile" "${pgo[@]}" -q -o bench/.work/wheels
bench/.venv/bin/pip install -q --force-reinstall --no-deps bench/.work/wheels/ory_iam-*.whl
# The Node addon goes to its own target dir and output dir: the debug addon, index.js and
# index.d.ts in bindings-node/ (and the typings cache under target/) stay as the tests use them.
node_dir=bench/.work/node-release
mkdir -p "$node_dir"
npx --no-install napi build --profile "$profile" --platform --manifest-path bindings-node/Cargo.toml \
  --package-json-path package.json --target-dir target/bench-node --output-dir "$node_dir" >/dev/null
cp bindings-node/ory-iam.js bindings-node/index.js "$node_dir/"

BENCH_BUILD="$profile${pgo:++pgo}" bench/.venv/bin/python bench/run.py --iam-node-dir "$node_dir" --rust-bin "target/$profile/ory-iam-bench" \
  --only "${BENCH_ONLY:-}" "${quick[@]}"
bench/.venv/bin/python bench/report.py
echo "bench: see bench/REPORT.md"
