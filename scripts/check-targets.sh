#!/usr/bin/env bash
# `cargo check` of the portable crates for targets this machine cannot run (issue 20): Windows
# (x86_64-pc-windows-gnu) and macOS (aarch64-apple-darwin): the core and both bindings. Their C
# code (ring) compiles with zig (the `ziglang` wheel in .venv, via `maturin zig cc`), so no
# mingw or Apple SDK is needed. Linking is not checked: the Windows addon links libnode.dll
# (windows-gnu) or node.lib (msvc), which no registry here ships, so napi-build's check for the
# file is met with an empty placeholder (`cargo check` never links); the release workflow
# builds and links the real Windows and macOS artifacts.
#   bash scripts/check-targets.sh [TARGET...]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
"$venv/bin/python" -c 'import ziglang' 2>/dev/null || "$venv/bin/pip" install -q --disable-pip-version-check -r tests/python/requirements.txt
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-gnu aarch64-apple-darwin)
wrappers="${CARGO_TARGET_DIR:-$root/target}/zig-wrappers"
mkdir -p "$wrappers/libnode"
: > "$wrappers/libnode/libnode.dll"
for target in "${targets[@]}"; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target" >/dev/null
  case "$target" in
    x86_64-pc-windows-gnu) zig_target=x86_64-windows-gnu ;;
    aarch64-apple-darwin) zig_target=aarch64-macos ;;
    x86_64-apple-darwin) zig_target=x86_64-macos ;;
    *) echo "check-targets: no zig target for $target" >&2; exit 1 ;;
  esac
  mkdir -p "$wrappers/$target"
  printf '#!/bin/sh\nexec "%s" zig cc -- -target %s "$@"\n' "$venv/bin/maturin" "$zig_target" > "$wrappers/$target/cc"
  printf '#!/bin/sh\nexec "%s" zig ar -- "$@"\n' "$venv/bin/maturin" > "$wrappers/$target/ar"
  chmod +x "$wrappers/$target"/*
  tvar=${target//-/_}
  t0=$SECONDS
  # -D warnings: code that is dead or unused off Unix is a missing `cfg(unix)` gate.
  PATH="$venv/bin:$PATH" env "CC_$tvar=$wrappers/$target/cc" "AR_$tvar=$wrappers/$target/ar" \
    "CARGO_TARGET_${tvar^^}_RUSTFLAGS=-D warnings" LIBNODE_PATH="$wrappers/libnode" \
    cargo check -q -p ory-iam -p ory-iam-python -p ory-iam-node --target "$target"
  echo "check-targets: $target ok ($(( SECONDS - t0 ))s)"
done
