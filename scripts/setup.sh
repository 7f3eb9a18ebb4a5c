#!/usr/bin/env bash
# Install what the project needs on a fresh machine of the `polyglot` kind (Rust, Go, Python,
# Node and gcc are on it already): Debian's redis-server and chromium, a Python venv with maturin + pytest,
# the npm dev dependencies. Idempotent; a warm machine takes seconds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for tool in cargo go python3 node npm gcc; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is missing; this project needs a polyglot machine" >&2; exit 1; }
done

# A clean clone's builds (debug workspace, release wheel and addon) take about 10 GiB; a disk
# that fills mid-build shows up much later as a missing native binding or a linker error.
free_gib=$(( $(df -Pk "$root" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
if [ "$free_gib" -lt 12 ]; then
  echo "setup: WARNING only ${free_gib} GiB free under $root; the builds need about 10 GiB" >&2
fi

# Debian packages need root: run as root (this machine, containers) or through passwordless
# sudo (hosted CI runners).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n DEBIAN_FRONTEND=noninteractive "$@"
  else echo "setup: '$*' needs root (or passwordless sudo)" >&2; exit 1
  fi
}

if ! command -v redis-server >/dev/null; then
  echo "setup: installing redis-server (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # Debian starts a system redis on 6379; the stack runs its own on a free port, so stop it.
  (as_root service redis-server stop || as_root systemctl stop redis-server || true) >/dev/null 2>&1
fi

# Headless Chromium for tests/node/e2e-browser.test.js (driven by playwright-core, which never
# downloads a browser here: there is no outside network). The test runs $ORY_IAM_CHROMIUM, else
# /usr/bin/chromium; on hosts whose `chromium` package is a snap stub (Ubuntu), point it at an
# installed Chrome instead.
if [ -z "${ORY_IAM_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing chromium (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt

# Install when anything the lock file names is missing (cheap check: the lock is newer).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm ci` trips over the optional platform packages of @napi-rs/cli in npm 11
  # ("Missing: ... from lock file"); `npm install` honours the lock file all the same.
  npm install --no-audit --no-fund --loglevel=error
fi
echo "setup: ok"
