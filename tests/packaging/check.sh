#!/usr/bin/env bash
# Packaging, as a user meets it: `pip install .` into a fresh venv builds an abi3 wheel;
# `npm run build` + `npm pack` make a tarball that installs into a fresh project; and the
# README quick starts (Python, Node, Rust) run verbatim against the local stack.
# Needs the stack (`tests/stack/up`) and the repo's dev tools (`scripts/setup.sh`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 - "$root/.stack/stack.json" > "$tmp/ory-iam.json" <<'PY'
import json, sys
print(json.dumps(json.load(open(sys.argv[1]))["iam_config"]))
PY
export ORY_IAM_CONFIG_FILE="$tmp/ory-iam.json"

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

expect() { # expect <output file> <line>...
  local out=$1; shift
  for line in "$@"; do
    grep -qF -- "$line" "$out" || { echo "packaging: expected '$line' in the output:"; cat "$out"; exit 1; }
  done
}

echo "packaging: pip install . (fresh venv)"
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check "$root"
tag=$("$tmp/venv/bin/python" - <<'PY'
from importlib.metadata import distribution
print(" ".join(l.split(":", 1)[1].strip() for l in distribution("ory-iam").read_text("WHEEL").splitlines() if l.startswith("Tag:")))
PY
)
echo "packaging: installed wheel tag: $tag"
case "$tag" in *-abi3-*) ;; *) echo "packaging: the wheel is not abi3 ($tag)"; exit 1 ;; esac
"$tmp/venv/bin/python" -c 'import ory_iam, pathlib; assert (pathlib.Path(ory_iam.__file__).parent / "py.typed").exists(); assert (pathlib.Path(ory_iam.__file__).parent / "_ory_iam.pyi").exists()'
snippet python > "$tmp/quickstart.py"
(cd "$tmp" && venv/bin/python quickstart.py) | tee "$tmp/py.out"
expect "$tmp/py.out" "get() is sanitized: True" "may view before grant: False" "may view after grant: True"

echo "packaging: npm run build + npm pack + npm install <tarball> (fresh project)"
# The release build regenerates the committed index.js/index.d.ts (without the debug-only test
# hooks) and the .node: put the developer's debug build back afterwards.
mkdir "$tmp/debug"
cp bindings-node/index.js bindings-node/index.d.ts bindings-node/*.node "$tmp/debug/"
restore() { cp "$tmp"/debug/* bindings-node/; }
trap 'restore; rm -rf "$tmp"' EXIT
npm run -s build > "$tmp/npm-build.log" 2>&1 || { cat "$tmp/npm-build.log"; exit 1; }
npm pack --silent --pack-destination "$tmp" >/dev/null
restore
mkdir "$tmp/app"
(cd "$tmp/app" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "$tmp"/ory-iam-*.tgz)
test -f "$tmp/app/node_modules/ory-iam/bindings-node/index.d.ts"
ls "$tmp"/app/node_modules/ory-iam/bindings-node/*.node >/dev/null
snippet node > "$tmp/app/quickstart.js"
(cd "$tmp/app" && node quickstart.js) | tee "$tmp/node.out"
expect "$tmp/node.out" "may view before grant: false" "may view after grant: true" "gone: true not_found"

echo "packaging: Rust quick start (core/examples/quickstart.rs is the README block)"
snippet rust > "$tmp/quickstart.rs"
tail -n +3 core/examples/quickstart.rs | diff -u "$tmp/quickstart.rs" - || { echo "packaging: core/examples/quickstart.rs differs from the README"; exit 1; }
cargo run -q -p ory-iam --example quickstart | tee "$tmp/rust.out"
expect "$tmp/rust.out" "may view before grant: false" "may view after grant: true"
echo "packaging: ok"
