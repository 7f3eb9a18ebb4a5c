#!/usr/bin/env bash
# The published x86-64 glibc wheel's optimizations, on this machine, into target/pgo/wheels
# (issue 21; measured in bench/NOTES.md item 12; not part of the tests or of CI):
#   the `dist` profile (fat LTO, one codegen unit) and profile-guided optimization by maturin's
#   own `--pgo` (an instrumented wheel in a temporary venv, pyproject.toml's `pgo-command`, i.e.
#   bench/pgo_train.py, against the local stack; llvm-profdata from rustup's llvm-tools; the
#   optimized rebuild). scripts/package.sh builds its wheel the same way with ORY_IAM_PGO=1.
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

tests/stack/up
bench/.venv/bin/python bench/fixtures.py

rm -rf target/pgo/wheels
CARGO_TARGET_DIR="$root/target/pgo/target" bench/.venv/bin/maturin build --profile dist --pgo -o target/pgo/wheels
echo "pgo: $(ls target/pgo/wheels/ory_iam-*.whl)"
