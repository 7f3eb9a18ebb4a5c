# Pinned Ory server releases built by tests/stack/build.sh (sourced by the stack scripts).
KRATOS_VERSION=v1.3.1
KETO_VERSION=v0.14.0
# The last tagged proto module (v0.13.0-alpha.0) predates batch check; use the v0.14.0 commit.
KETO_PROTO_VERSION=v0.13.0-alpha.0
HYDRA_VERSION=v2.3.0
