#!/usr/bin/env bash
# Build pinned Ory servers (Kratos, Keto, Hydra, Oathkeeper) from the Go module proxy into a cache outside
# the repository, keyed by version. Reuses binaries that are already there.
#
# Why a wrapper module: each server's go.mod has `replace` lines pointing at in-repo folders that
# are modules of their own (and so are left out of the module zip); `go install pkg@version`
# refuses such modules. A tiny module whose main() calls the server's cmd.Execute(), with the
# server's non-local replace lines copied in, builds against the published modules instead.
#
# Measured on 2 cores (Go 1.26, go.mod directive 1.23), each server alone with an empty GOCACHE
# and the module downloads already in GOMODCACHE: kratos v1.3.1 190 s, keto v0.13.0-alpha.0
# (pinned before v0.14.0) 150 s, hydra v2.3.0 177 s (~9 min for all three; module downloads on
# a fully cold machine add a little). Cached: a no-op in well under a second.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

cache="${ORY_IAM_CACHE:-$HOME/.cache/ory-iam}"
bin_dir="$cache/bin"
mkdir -p "$bin_dir" "$cache/build"

export GOTOOLCHAIN=local CGO_ENABLED=1 GOFLAGS=-mod=mod
unset DSN GOPATH_OVERRIDE 2>/dev/null || true

need_go() {
  command -v go >/dev/null || { echo "build.sh: go is not installed" >&2; exit 1; }
  command -v gcc >/dev/null || { echo "build.sh: gcc is needed for SQLite (cgo)" >&2; exit 1; }
}

# build NAME VERSION MODULE MAIN_GO TAGS VERSION_VAR REPLACES EXTRA_REQUIRES [PREPARE_FN]
# PREPARE_FN, when given, runs in the wrapper module's folder before `go mod tidy`.
build() {
  local name=$1 version=$2 module=$3 main_go=$4 tags=$5 version_var=$6 replaces=$7 extra=$8
  local prepare=${9:-}
  local out="$bin_dir/$name-$version"
  if [ -x "$out" ]; then
    echo "stack: $name $version cached at $out"
    return 0
  fi
  need_go
  local dir="$cache/build/$name-$version"
  rm -rf "$dir"; mkdir -p "$dir"
  printf '%s\n' "$main_go" > "$dir/main.go"
  cat > "$dir/go.mod" <<MOD
module ory-iam-stack/$name

go 1.23

require $module $version
$extra

$replaces
MOD
  echo "stack: building $name $version (this takes minutes on a cold cache)"
  local t0=$SECONDS
  (
    cd "$dir"
    if [ -n "$prepare" ]; then "$prepare"; fi
    go mod tidy >"$dir/tidy.log" 2>&1 || { cat "$dir/tidy.log" >&2; exit 1; }
    go build -trimpath -tags "$tags" \
      -ldflags "-s -w -X $version_var=$version" \
      -o "$out.tmp" . >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
  )
  mv "$out.tmp" "$out"
  echo "stack: built $name $version in $((SECONDS - t0))s"
}

build_kratos() {
  build kratos "$KRATOS_VERSION" github.com/ory/kratos \
'package main

import (
	"os"

	"github.com/ory/kratos/cmd"
)

func main() { os.Exit(cmd.Execute()) }' \
    sqlite github.com/ory/kratos/driver/config.Version \
"$KRATOS_REPLACES" ''
}

# Keto v0.14.0 imports its in-repo `proto` module at a commit the module proxy does not serve
# (see versions.sh). The proto module the proxy does serve (v0.13.0-alpha.0) has every message
# and service the REST API uses; what it lacks are the three Go types named by v0.14.0's gRPC
# `BatchCheck` method. That method is not in the v0.13 service descriptor, so the gRPC server
# never registers it and the types are never built at run time; the REST batch endpoint
# (`POST /relation-tuples/batch/check`, `internal/check/handler.go`) uses Keto's own structs.
# So the wrapper module gets a local copy of proto v0.13.0-alpha.0 plus one file declaring
# those three types as plain structs, and `replace`s the proto module with it. Nothing of
# Keto's own code is changed.
keto_proto_shim() {
  go mod download github.com/ory/keto/proto@"$KETO_PROTO_VERSION"
  local src
  src="$(go env GOMODCACHE)/github.com/ory/keto/proto@$KETO_PROTO_VERSION"
  cp -r "$src" proto
  chmod -R u+w proto
  cat > proto/ory/keto/relation_tuples/v1alpha2/zz_ory_iam_batch_check_types.go <<'GO'
// Added by ory-iam's tests/stack/build.sh (not part of Keto): the types Keto v0.14.0's
// unregistered gRPC BatchCheck method names, absent from proto v0.13.0-alpha.0.
package rts

type BatchCheckRequest struct {
	Tuples   []*RelationTuple
	MaxDepth int32
}

type BatchCheckResponse struct {
	Results []*CheckResponseWithError
}

type CheckResponseWithError struct {
	Allowed   bool
	Error     string
	Snaptoken string
}
GO
}

build_keto() {
  build keto "$KETO_VERSION" github.com/ory/keto \
'package main

import "github.com/ory/keto/cmd"

func main() { cmd.Execute() }' \
    sqlite github.com/ory/keto/internal/driver/config.Version \
"$KETO_REPLACES" \
"require github.com/ory/keto/proto $KETO_PROTO_VERSION" \
    keto_proto_shim
}

build_hydra() {
  build hydra "$HYDRA_VERSION" github.com/ory/hydra/v2 \
'package main

import "github.com/ory/hydra/v2/cmd"

func main() { cmd.Execute() }' \
    sqlite,sqlite_omit_load_extension github.com/ory/hydra/v2/driver/config.Version \
"$HYDRA_REPLACES" ''
}

# Oathkeeper (issue 22): the identity and access proxy users put in front of their apps, with
# the `id_token` mutator whose JWTs the `oathkeeper` transport verifies.
build_oathkeeper() {
  build oathkeeper "$OATHKEEPER_VERSION" github.com/ory/oathkeeper \
'package main

import "github.com/ory/oathkeeper/cmd"

func main() { cmd.Execute() }' \
    '' github.com/ory/oathkeeper/x.Version \
"$OATHKEEPER_REPLACES" ''
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kratos keto hydra oathkeeper)
for t in "${targets[@]}"; do "build_$t"; done
