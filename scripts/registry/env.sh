# Shared settings for scripts/registry/*.sh (sourced, not run). Every value can be overridden
# from the environment. ROOT must be set to the repository root by the caller.
REGISTRY_MODULE="${REGISTRY_MODULE:-github.com/axonops/axonops-schema-registry}"
REGISTRY_VERSION="${REGISTRY_VERSION:-v0.2.1}"
REGISTRY_CACHE_DIR="${REGISTRY_CACHE_DIR:-$ROOT/.cache/registry}"
REGISTRY_BIN="$REGISTRY_CACHE_DIR/$REGISTRY_VERSION/schema-registry"
REGISTRY_HOST=127.0.0.1
REGISTRY_PORT="${REGISTRY_PORT:-18081}"
REGISTRY_URL="http://$REGISTRY_HOST:$REGISTRY_PORT"
# One state folder per port: pid file and log (the registry keeps schemas in memory).
REGISTRY_DATA_DIR="${REGISTRY_DATA_DIR:-${TMPDIR:-/tmp}/sluice-registry-$REGISTRY_PORT}"
REGISTRY_PID_FILE="$REGISTRY_DATA_DIR/registry.pid"
REGISTRY_LOG_FILE="$REGISTRY_DATA_DIR/registry.log"
