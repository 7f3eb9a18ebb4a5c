#!/usr/bin/env bash
# Lint .github/workflows/*.yml with actionlint, built from the Go module proxy into a cache
# outside the repository (like the Ory servers in tests/stack/build.sh), keyed by version.
# Cold: ~1 minute on 2 cores; cached: a no-op. shellcheck is used for `run:` blocks when present.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=v1.7.12
cache="${ORY_IAM_CACHE:-$HOME/.cache/ory-iam}"
bin="$cache/bin/actionlint-$version"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "actionlint.sh: go is not installed" >&2; exit 1; }
  echo "actionlint: building $version (Go module proxy, once)"
  mkdir -p "$cache/bin"
  tmp=$(mktemp -d)
  GOTOOLCHAIN=local GOBIN="$tmp" go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
  mv "$tmp/actionlint" "$bin"
  rm -rf "$tmp"
fi
cd "$root"
"$bin" -no-color .github/workflows/*.yml
echo "actionlint: $(ls .github/workflows/*.yml | wc -l) workflow file(s) ok"
