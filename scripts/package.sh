#!/usr/bin/env bash
# Everything a release publishes, into dist/ (issue 20):
#   dist/python/  an sdist and abi3 wheels (CPython >= 3.10) linked by zig against glibc 2.17
#                 (manylinux2014) or musl 1.2 (musllinux_1_2), each checked with `auditwheel show`;
#   dist/npm/     the main package (loader, typings, integrations; optionalDependencies naming one
#                 package per platform: the napi-rs layout) and one tarball per platform built;
#   dist/addons/  the raw build output the npm tarballs are packed from (ory-iam.<platform>.node,
#                 the release build's generated index.js/index.d.ts); not published.
#
#   bash scripts/package.sh                  every Linux target this machine can build
#   bash scripts/package.sh --native-only    x86_64 glibc only (what CI builds, once)
#   ORY_IAM_TARGETS="x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu" bash scripts/package.sh
#   bash scripts/package.sh --from DIR       no build: repack DIR/python and DIR/addons (the
#                                            release workflow's artifacts of every runner, merged)
#
# What the published packages are built with (build.yml sets both; CI and local runs do not, for
# the build time; bench/NOTES.md item 12 has the measurements):
#   ORY_IAM_PROFILE=dist   the Cargo profile (Cargo.toml: fat LTO, one codegen unit); default
#                          `release`;
#   ORY_IAM_PGO=1          the x86_64 glibc wheel profile-guided: maturin's `--pgo` trains its
#                          instrumented build with bench/pgo_train.py against the local stack,
#                          which this brings up (Ory's servers built by scripts/setup.sh).
#
# Why glibc 2.17: it is the oldest glibc Rust's std supports, so manylinux2014 costs nothing and
# covers every maintained distribution (RHEL/CentOS 7 and later, Debian 9+, Ubuntu 14.04+);
# zig links against that glibc's symbol versions whatever glibc the build machine has (Debian
# 12 here has 2.36, whose symbols a plain link would pick up). macOS and Windows packages are
# built by .github/workflows/release.yml on their own runners.
#
# Tools, all from the registries: maturin + ziglang (zig itself, as a wheel) + auditwheel in
# .venv (tests/python/requirements.txt), the Rust targets via rustup. Both release builds of a
# target go through the same zig wrappers, so they share $CARGO_TARGET_DIR's artifacts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

all_targets="x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl"
targets="${ORY_IAM_TARGETS:-$all_targets}"
from=""
case "${1:-}" in
  --native-only) targets="x86_64-unknown-linux-gnu" ;;
  --from) from="$(cd "$2" && pwd)"; targets="" ;;
esac

profile="${ORY_IAM_PROFILE:-release}"
if [ "$profile" = release ]; then opt=(--release); else opt=(--profile "$profile"); fi

venv="$root/.venv"
if [ -z "$from" ]; then
  [ -x "$venv/bin/maturin" ] || bash scripts/setup.sh
  "$venv/bin/python" -c 'import ziglang' 2>/dev/null || "$venv/bin/pip" install -q --disable-pip-version-check -r tests/python/requirements.txt
  export PATH="$venv/bin:$PATH"
fi

version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["workspace"]["package"]["version"])')
[ "$(node -p 'require("./package.json").version')" = "$version" ] || { echo "package: package.json's version differs from Cargo.toml's workspace version $version" >&2; exit 1; }

dist="$root/dist"
stage="$dist/.stage"
rm -rf "$dist"
mkdir -p "$stage"
# What the build steps leave for the packing steps: addons named ory-iam.<platform>.node and the
# generated loader/typings of a release build.
prebuilt="${from:+$from/addons}"
prebuilt="${prebuilt:-$dist/addons}"
mkdir -p "$dist/python" "$dist/npm"
mkdir -p "$prebuilt"
built=()
skipped=()

add_target() { # rustup target add, when rustup can; a target it cannot add is skipped, not fatal
  rustup target list --installed 2>/dev/null | grep -qx "$1" && return 0
  rustup target add "$1" >/dev/null 2>&1
}

if [ -z "$from" ]; then
  echo "package: sdist"
  maturin sdist -o "$dist/python" 2>&1 | grep -v '^\s*$' | tail -1
else
  cp "$from"/python/*.whl "$from"/python/*.tar.gz "$dist/python/"
fi

# The napi-rs platform name of a Rust target, as in the loader (bindings-node/index.js).
platform_of() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo linux-x64-gnu ;;
    aarch64-unknown-linux-gnu) echo linux-arm64-gnu ;;
    x86_64-unknown-linux-musl) echo linux-x64-musl ;;
    *) echo "package: no platform name for $1" >&2; return 1 ;;
  esac
}

npx --no-install napi create-npm-dirs --npm-dir dist/.stage/npm --package-json-path package.json >/dev/null 2>&1

for target in $targets; do
  if ! add_target "$target"; then
    echo "package: rustup cannot add $target here: skipped (the release workflow builds it)"
    skipped+=("$target")
    continue
  fi
  platform=$(platform_of "$target")
  case "$target" in
    *-musl) compat=musllinux_1_2; zig_target=$target ;;
    *) compat=manylinux2014; zig_target=$target.2.17 ;;
  esac

  # One C compiler/linker for both builds: zig (the `ziglang` wheel, through `maturin zig cc`,
  # the cargo-zigbuild code maturin embeds) for the zig target, set for Cargo and cc-rs. Both
  # builds see the same linker and flags, so Cargo's fingerprints match and the release
  # artifacts of the crates they share are built once (`maturin --zig` and napi's `-x` each
  # write wrappers of their own, and then each build invalidates the other's).
  wrappers="$stage/zig-$target"
  mkdir -p "$wrappers"
  # zig's driver takes no `-u SYMBOL` (rustc links `-u __llvm_profile_runtime` into a PGO-
  # instrumented build); the wrappers hand it to the linker as `-Wl,-u,SYMBOL`.
  for tool in cc c++; do
    printf '#!/bin/sh\nfor a do shift; if [ -n "$u" ]; then set -- "$@" "-Wl,-u,$a"; u=; elif [ "$a" = -u ]; then u=1; else set -- "$@" "$a"; fi; done\nexec "%s" zig %s -- -g -fno-sanitize=all -target %s "$@"\n' "$venv/bin/maturin" "$tool" "${zig_target/-unknown/}" > "$wrappers/$tool"
  done
  printf '#!/bin/sh\nexec "%s" zig ar -- "$@"\n' "$venv/bin/maturin" > "$wrappers/ar"
  chmod +x "$wrappers"/*
  tvar=${target//-/_}
  # shellcheck disable=SC2030,SC2031
  # A target dir per target: the host's build scripts and proc macros live in a target dir's
  # shared part, and the CC_<triple> of the native target (the host's own triple) is part of
  # their fingerprint, so targets sharing one dir rebuilt each other's host artifacts every run.
  zig_env=(
    "CC_$tvar=$wrappers/cc" "CXX_$tvar=$wrappers/c++" "AR_$tvar=$wrappers/ar"
    "CARGO_TARGET_${tvar^^}_LINKER=$wrappers/cc"
    "CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}/package-$target"
  )
  # musl: a cdylib links the C runtime dynamically (napi-rs adds the same flag on its own).
  case "$target" in *-musl) zig_env+=("CARGO_TARGET_${tvar^^}_RUSTFLAGS=-C target-feature=-crt-static") ;; esac

  pgo=()
  if [ "${ORY_IAM_PGO:-}" = 1 ] && [ "$target" = x86_64-unknown-linux-gnu ]; then
    tests/stack/up >/dev/null  # reuses a running stack
    python3 bench/fixtures.py
    rustup component add llvm-tools >/dev/null 2>&1 || true
    pgo=(--pgo)
  fi

  echo "package: wheel $target ($compat, $profile${pgo:+, pgo})"
  t0=$SECONDS
  env "${zig_env[@]}" maturin build -q "${opt[@]}" "${pgo[@]}" --compatibility "$compat" --target "$target" -o "$dist/python" 2>&1 | grep -v '^\s*$' | tail -2
  echo "package: wheel $target built in $(( SECONDS - t0 ))s"

  echo "package: npm $platform ($zig_target)"
  t0=$SECONDS
  out="$stage/build-$platform"
  mkdir -p "$out"
  env "${zig_env[@]}" npx --no-install napi build --platform "${opt[@]}" --target "$target" \
    --manifest-path bindings-node/Cargo.toml --package-json-path package.json \
    --output-dir "$out" --js index.js --dts index.d.ts > "$stage/napi-$platform.log" 2>&1 \
    || { tail -40 "$stage/napi-$platform.log"; exit 1; }
  cp "$out/ory-iam.$platform.node" "$prebuilt/"
  [ -f "$prebuilt/index.js" ] || cp "$out/index.js" "$out/index.d.ts" "$prebuilt/"
  echo "package: npm $platform built in $(( SECONDS - t0 ))s"
  built+=("$target")
done

# One npm package per addon built (napi-rs layout: npm/<platform>/package.json from
# `napi create-npm-dirs`, with os/cpu/libc set so npm installs only the matching one).
for node_file in "$prebuilt"/ory-iam.*.node; do
  [ -e "$node_file" ] || { echo "package: no addon was built" >&2; exit 1; }
  platform=$(basename "$node_file" .node); platform=${platform#ory-iam.}
  [ -d "$stage/npm/$platform" ] || { echo "package: $platform is not in package.json's napi.targets" >&2; exit 1; }
  cp "$node_file" "$stage/npm/$platform/"
  (cd "$stage/npm/$platform" && npm pack --silent --pack-destination "$dist/npm" >/dev/null)
done

# Every Linux wheel must be manylinux/musllinux-compliant by auditwheel's own reading.
for whl in "$dist"/python/*linux*.whl; do
  command -v auditwheel >/dev/null || break
  # auditwheel judges musllinux only on a musl host (it picks the policy family from the host's
  # libc); here maturin's own audit (--compatibility musllinux_1_2, which fails the build on a
  # violation) stands, and build.yml runs auditwheel on it inside Alpine.
  case "$whl" in
    *musllinux*) ldd --version 2>&1 | grep -qi musl || { echo "package: auditwheel: $(basename "$whl"): needs a musl host (maturin's audit passed)"; continue; } ;;
  esac
  report=$(auditwheel show "$whl")
  tag=$(grep -oE '"(manylinux|musllinux)_[0-9]+_[0-9]+_[a-z0-9_]+"' <<<"$report" | head -1 | tr -d '"')
  [ -n "$tag" ] || { echo "$report"; echo "package: auditwheel finds no manylinux/musllinux tag for $(basename "$whl")" >&2; exit 1; }
  case "$(basename "$whl")" in
    *manylinux*) case "$tag" in manylinux_2_17_*) ;; *) echo "package: $(basename "$whl") is only $tag" >&2; exit 1 ;; esac ;;
  esac
  echo "package: auditwheel: $(basename "$whl") -> $tag"
done

# The glibc addons: the same glibc 2.17 ceiling as the wheels (objdump reads the symbol versions).
for node_file in "$prebuilt"/ory-iam.linux-*-gnu.node; do
  [ -e "$node_file" ] && command -v objdump >/dev/null || break
  newest=$(objdump -T "$node_file" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
  [ "$(printf '%s\nGLIBC_2.17\n' "$newest" | sort -V | tail -1)" = GLIBC_2.17 ] \
    || { echo "package: $(basename "$node_file") needs $newest (> 2.17)" >&2; exit 1; }
  echo "package: $(basename "$node_file") needs glibc symbols up to $newest"
done

# The main npm package: the files package.json's `files` names (loader, typings, integrations;
# never a .node), the release build's generated loader and typings, and the napi-rs
# optionalDependencies on every platform package (added here, not in the repo's package.json,
# where npm install would try to fetch them).
main="$stage/main"
mkdir -p "$main"
npm pack --dry-run --json --ignore-scripts 2>/dev/null | node -e '
  const files = JSON.parse(require("fs").readFileSync(0, "utf8"))[0].files.map((f) => f.path)
  console.log(files.join("\n"))' | while read -r f; do
  mkdir -p "$main/$(dirname "$f")"
  cp "$f" "$main/$f"
done
cp "$prebuilt/index.js" "$prebuilt/index.d.ts" "$main/bindings-node/"
ORY_IAM_REPOSITORY_URL="${ORY_IAM_REPOSITORY_URL:-}" node -e '
  const fs = require("fs")
  const path = process.argv[1]
  const pkg = JSON.parse(fs.readFileSync(path, "utf8"))
  const platforms = fs.readdirSync(process.argv[2]).sort()
  pkg.optionalDependencies = Object.fromEntries(platforms.map((p) => [`ory-iam-${p}`, pkg.version]))
  delete pkg.devDependencies
  delete pkg.scripts
  // The release workflow passes the repository it runs in (npm provenance checks it); the
  // repo has no public home yet, so no URL is written by hand.
  if (process.env.ORY_IAM_REPOSITORY_URL) pkg.repository = { type: "git", url: `git+${process.env.ORY_IAM_REPOSITORY_URL}.git` }
  fs.writeFileSync(path, JSON.stringify(pkg, null, 2) + "\n")
' "$main/package.json" "$stage/npm"
(cd "$main" && npm pack --silent --pack-destination "$dist/npm" >/dev/null)

rm -rf "$stage"
[ -n "$from" ] || echo "package: built for: ${built[*]}"
[ ${#skipped[@]} -eq 0 ] || echo "package: skipped (release workflow only): ${skipped[*]}"
echo "package: dist/"
(cd "$dist" && ls -1 python/* npm/* && if [ -z "$from" ]; then ls -1 addons/*; fi)
