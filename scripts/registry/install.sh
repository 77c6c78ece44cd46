#!/usr/bin/env bash
# Builds a Confluent-compatible Schema Registry (AxonOps Schema Registry, Apache-2.0, a Go
# module) from the Go module proxy into .cache/registry/<version>/schema-registry.
# Idempotent: a finished build is kept. Needs only Go and access to the Go module proxy.
# (Why this server: Karapace is not on PyPI here and Apicurio Registry cannot be built from
# Maven Central here; see README "Avro and the Schema Registry".)
#
#   REGISTRY_VERSION     module version (default v0.2.1)
#   REGISTRY_CACHE_DIR   where builds live (default <repo>/.cache/registry)
#   REGISTRY_REINSTALL=1 build again even if a binary is present
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/registry/env.sh
. "$ROOT/scripts/registry/env.sh"

log() { printf 'registry-install: %s\n' "$*" >&2; }
die() { printf 'registry-install: ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -x "$REGISTRY_BIN" && "${REGISTRY_REINSTALL:-0}" != 1 ]]; then
  log "schema registry $REGISTRY_VERSION already built at $REGISTRY_BIN"
  exit 0
fi
command -v go >/dev/null || die "go not found on PATH (Go 1.22+ builds the schema registry from the Go module proxy)"

# The module and build caches live under the project cache, so a rebuild is fast and
# nothing is written to the user's own Go caches. -modcacherw lets rm -rf clean them.
export GOMODCACHE="$REGISTRY_CACHE_DIR/gomod"
export GOCACHE="$REGISTRY_CACHE_DIR/gobuild"
export GOFLAGS="-modcacherw"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
WORK="$REGISTRY_CACHE_DIR/work"
mkdir -p "$WORK" "$(dirname "$REGISTRY_BIN")"

t0=$SECONDS
log "downloading $REGISTRY_MODULE@$REGISTRY_VERSION from the Go module proxy"
# `go install module@version` is refused for this module (its go.mod has replace directives),
# so download the module and build its command inside the module cache.
dir="$(cd "$WORK" && go mod download -json "$REGISTRY_MODULE@$REGISTRY_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$dir" && -d "$dir" ]] || die "go mod download did not give a module folder for $REGISTRY_MODULE@$REGISTRY_VERSION"
log "building ./cmd/schema-registry in $dir (the first build takes a few minutes)"
(cd "$dir" && go build -trimpath -o "$REGISTRY_BIN.partial" ./cmd/schema-registry) \
  || die "go build failed for $REGISTRY_MODULE@$REGISTRY_VERSION (see the output above)"
mv "$REGISTRY_BIN.partial" "$REGISTRY_BIN"
log "built $REGISTRY_BIN ($(du -h "$REGISTRY_BIN" | cut -f1), $((SECONDS - t0)) s)"
