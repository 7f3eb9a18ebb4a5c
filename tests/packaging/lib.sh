# shellcheck shell=bash disable=SC2154
# Shared by the install tests (sourced, not run): tests/packaging/install.sh (this machine's own
# platform) and tests/packaging/foreign.sh (Linux arm64 glibc and x86-64 musl, emulated).
# The caller sets `root` (the repo) and `tmp` (a scratch dir it removes) before sourcing.

version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["package"]["version"])')
t0=$SECONDS
say() { echo "${log_name:-install}: [$(( SECONDS - t0 ))s] $*"; }
fail() { echo "${log_name:-install}: $*" >&2; exit 1; }
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

# The local stack's ready-made ory-iam config (tests/stack/up), as the quick starts read it.
[ -f "$root/.stack/stack.json" ] || fail "no stack: run tests/stack/up first"
python3 - "$root/.stack/stack.json" > "$tmp/ory-iam.json" <<'PY'
import json, sys
print(json.dumps(json.load(open(sys.argv[1]))["iam_config"]))
PY
export ORY_IAM_CONFIG_FILE="$tmp/ory-iam.json"

# A PATH as a user without Rust has it: every directory holding cargo or rustc is dropped.
clean_path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -e "$d/cargo" ] || [ -e "$d/rustc" ] && continue
  clean_path="${clean_path:+$clean_path:}$d"
done
no_rust() { env -u CARGO_HOME -u RUSTUP_HOME -u CARGO_TARGET_DIR PATH="$clean_path" "$@"; }
no_rust sh -c '! command -v cargo && ! command -v rustc' >/dev/null || fail "cargo is still on the clean PATH"

# What a TypeScript user's project has besides ory-iam: the compiler, @types and the optional
# peers the integrations' typings name, at the versions the repo tests with (npm's cache).
node_peers() {
  node -p 'const d = require("./package.json").devDependencies; ["typescript", "@types/node", "@types/express", "express", "@nestjs/common", "@nestjs/core", "reflect-metadata", "rxjs", "@opentelemetry/api"].map((n) => `${n}@${d[n]}`).join(" ")'
}

# A fresh npm project in <dir> with the main tarball, the peers and the platform package
# ory-iam-<platform>. Without options (install.sh, this machine's own platform): the main and the
# platform tarball, named. With npm's --os/--cpu/--libc (foreign.sh, another platform): the main
# tarball alone, each platform tarball in dist/npm standing in for its registry package
# (package.json `overrides`), so that npm itself picks the platform package from the main
# package's optionalDependencies, as it does on that platform.
npm_app() { # npm_app <dir> <platform> [--os X --cpu Y --libc Z]
  local app=$1 platform=$2; shift 2
  local main_tgz="$dist/npm/ory-iam-$version.tgz" platform_tgz="$dist/npm/ory-iam-$platform-$version.tgz" peers
  for f in "$main_tgz" "$platform_tgz"; do
    [ -f "$f" ] || fail "dist/ lacks $(basename "$f"); run bash scripts/package.sh"
  done
  peers=$(cd "$root" && node_peers)
  mkdir -p "$app"
  local wanted=("$main_tgz" "$platform_tgz")
  (cd "$app" && no_rust npm init -y >/dev/null)
  if [ $# -gt 0 ]; then
    wanted=("$main_tgz")
    node -e '
      const fs = require("fs"), path = require("path")
      const [file, dir, version] = process.argv.slice(1)
      const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
      pkg.overrides = {}
      for (const f of fs.readdirSync(dir)) {
        const m = f.match(/^(ory-iam-.+)-(\d+\.\d+\.\d+.*)\.tgz$/)
        if (m && m[2] === version) pkg.overrides[m[1]] = `file:${path.join(dir, f)}`
      }
      fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n")
    ' "$app/package.json" "$dist/npm" "$version"
  fi
  # shellcheck disable=SC2086
  (cd "$app" && no_rust npm install --loglevel=error --no-audit --no-fund --prefer-offline "$@" "${wanted[@]}" $peers >/dev/null) \
    || fail "npm install of ${wanted[*]##*/} $* failed"
  local got
  got=$(cd "$app/node_modules" && ls -d ory-iam-* 2>/dev/null | tr '\n' ' ' || true)
  [ "$got" = "ory-iam-$platform " ] || fail "npm installed the platform package(s) '$got', not ory-iam-$platform"
  local inst="$app/node_modules/ory-iam"
  [ -z "$(find "$inst" -name '*.node')" ] || fail "the main package ships a .node: $(find "$inst" -name '*.node')"
  [ -f "$app/node_modules/ory-iam-$platform/ory-iam.$platform.node" ] || fail "the platform package ory-iam-$platform has no addon"
  node -e '
    const pkg = require(process.argv[1] + "/package.json")
    const want = ["darwin-arm64", "darwin-x64", "linux-arm64-gnu", "linux-x64-gnu", "linux-x64-musl", "win32-x64-msvc"]
    const got = Object.keys(pkg.optionalDependencies || {}).sort()
    if (JSON.stringify(got) !== JSON.stringify(want.map((p) => `ory-iam-${p}`))) throw new Error(`optionalDependencies: ${got}`)
    for (const v of Object.values(pkg.optionalDependencies)) if (v !== pkg.version) throw new Error(`platform version ${v} != ${pkg.version}`)
  ' "$inst"
  snippet node > "$app/quickstart.js"
  cp "$root/tests/packaging/quickstart.mjs" "$root/tests/packaging/session.mjs" "$app/"
}

# The Node programs every runtime runs from an npm_app: the README quick start (CommonJS), the
# ESM imports of the package and each subpath, a whoami with a real session (scripts by absolute
# path: foreign.sh runs musl Node chrooted).
run_node_programs() { # run_node_programs <app dir> <node command>...
  local app=$1; shift
  (cd "$app" && no_rust "$@" "$app/quickstart.js") > "$tmp/node.out"
  expect "$tmp/node.out" "may view before grant: false" "may view after grant: true" "gone: true not_found"
  (cd "$app" && no_rust "$@" "$app/quickstart.mjs") > "$tmp/esm.out"
  expect "$tmp/esm.out" "esm not found: true true not_found" "esm may view: false" "esm subpaths: function function function"
  (cd "$app" && no_rust "$@" "$app/session.mjs") > "$tmp/session.out"
  expect "$tmp/session.out" "whoami: true customer" "made-up token: true unauthorized" "gone: true not_found"
}

# The Python programs, run by <python command> from the directory holding them: the README quick
# start and a whoami with a real session.
python_programs() { # python_programs <dir>: writes quickstart.py and session.py into <dir>
  snippet python > "$1/quickstart.py"
  cp "$root/tests/packaging/session.py" "$1/"
}
run_python_programs() { # run_python_programs <dir> <python command>...
  local dir=$1; shift
  (cd "$dir" && no_rust "$@" "$dir/quickstart.py") > "$tmp/py.out"
  expect "$tmp/py.out" "get() is sanitized: True" "may view before grant: False" "may view after grant: True"
  (cd "$dir" && no_rust "$@" "$dir/session.py") > "$tmp/session.out"
  expect "$tmp/session.out" "whoami: True customer" "made-up token: True unauthorized" "gone: True not_found"
}
