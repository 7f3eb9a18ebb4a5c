# Pinned Ory server releases built by tests/stack/build.sh (sourced by the stack scripts).
#
# The Go module proxy reachable here serves only some versions. Kratos v1.3.1 and Hydra v2.3.0
# build as pinned. Keto v0.14.0 does not build as published: its in-repo `proto` module is left
# out of the module zip, and the only `github.com/ory/keto/proto` version the proxy serves is
# v0.13.0-alpha.0, which lacks three Go types v0.14.0's gRPC BatchCheck method names (compile
# errors: undefined rts.BatchCheckRequest, rts.BatchCheckResponse, rts.CheckResponseWithError).
# Pseudo-versions of later proto commits and every keto version after v0.13.0-alpha.0 other than
# v0.14.0 answer 403. build.sh therefore builds Keto v0.14.0 unchanged against a local copy of
# proto v0.13.0-alpha.0 that declares those three types (see keto_proto_shim there); the REST
# API, including `POST /relation-tuples/batch/check`, is Keto v0.14.0's own code.
KRATOS_VERSION=v1.3.1
KRATOS_REPLACES='replace (
	github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 v6.2.0
	github.com/gorilla/sessions => github.com/ory/sessions v1.2.2-0.20220110165800-b09c17334dc2
	github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.22
)'

KETO_VERSION=v0.14.0
KETO_PROTO_VERSION=v0.13.0-alpha.0
KETO_REPLACES='replace (
	github.com/ory/keto/proto => ./proto
	github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 v6.2.1-0.20241121111754-e5dfc0f3344b
	github.com/opencontainers/runc => github.com/opencontainers/runc v1.1.12
)'

OATHKEEPER_VERSION=v0.40.9
OATHKEEPER_REPLACES='replace github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.10'

HYDRA_VERSION=v2.3.0
HYDRA_REPLACES='replace github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 v6.2.1-0.20241121111754-e5dfc0f3344b'
