#!/usr/bin/env bash
# Starts the Confluent-compatible Schema Registry built by scripts/registry/install.sh on
# loopback, in the background (schemas in memory: each start is empty); waits until it
# answers; prints its URL on stdout. Builds it first if needed. Safe to call when it is
# already running.
#
#   REGISTRY_PORT            port (default 18081)
#   REGISTRY_DATA_DIR        pid file and log (default $TMPDIR/sluice-registry-$REGISTRY_PORT)
#   REGISTRY_START_TIMEOUT   seconds to wait (default 30)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/registry/env.sh
. "$ROOT/scripts/registry/env.sh"

log() { printf 'registry-start: %s\n' "$*" >&2; }
die() { printf 'registry-start: ERROR: %s\n' "$*" >&2; exit 1; }

TIMEOUT="${REGISTRY_START_TIMEOUT:-30}"
# GET /config answers once the registry serves requests (the client's own first call).
ready() { node -e "fetch(process.argv[1] + '/config', { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" "$REGISTRY_URL"; }
port_open() { (exec 3<>"/dev/tcp/$REGISTRY_HOST/$REGISTRY_PORT") 2>/dev/null; }
our_pid() {
  local pid
  [[ -f "$REGISTRY_PID_FILE" ]] || return 1
  pid="$(cat "$REGISTRY_PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$REGISTRY_BIN")" ]] && echo "$pid"
}

# A process that exists and is not a zombie.
alive() { [[ -n "$1" && -r "/proc/$1/stat" ]] && [[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != "Z" ]]; }

if pid="$(our_pid)"; then
  ready || die "registry process $pid is running but does not answer at $REGISTRY_URL; see $REGISTRY_LOG_FILE"
  log "already running (pid $pid) at $REGISTRY_URL"
  echo "$REGISTRY_URL"
  exit 0
fi
if port_open; then
  ready || die "port $REGISTRY_PORT is taken by something that is not a schema registry (set REGISTRY_PORT to use another port)"
  log "a schema registry not started by this script already answers at $REGISTRY_URL; using it"
  echo "$REGISTRY_URL"
  exit 0
fi

command -v node >/dev/null || die "node not found on PATH (used to check that the registry is ready)"
bash "$ROOT/scripts/registry/install.sh"
mkdir -p "$REGISTRY_DATA_DIR"
rm -f "$REGISTRY_PID_FILE"
log "starting $REGISTRY_BIN at $REGISTRY_URL; log $REGISTRY_LOG_FILE"
# setsid: the registry outlives this script and the terminal or CI step that ran it.
SCHEMA_REGISTRY_HOST="$REGISTRY_HOST" SCHEMA_REGISTRY_PORT="$REGISTRY_PORT" \
  setsid nohup "$REGISTRY_BIN" >>"$REGISTRY_LOG_FILE" 2>&1 </dev/null &
echo $! >"$REGISTRY_PID_FILE"

deadline=$((SECONDS + TIMEOUT))
until port_open && ready; do
  # Alive, not its exe: until exec the process is still setsid/nohup, which is no exit.
  if ! alive "$(cat "$REGISTRY_PID_FILE")"; then
    tail -n 30 "$REGISTRY_LOG_FILE" >&2
    die "the registry exited during start-up (full log: $REGISTRY_LOG_FILE)"
  fi
  ((SECONDS < deadline)) || { tail -n 30 "$REGISTRY_LOG_FILE" >&2; die "the registry did not answer at $REGISTRY_URL within $TIMEOUT s (stop it with scripts/registry/stop.sh)"; }
  sleep 0.2
done
log "ready at $REGISTRY_URL (pid $(cat "$REGISTRY_PID_FILE"))"
echo "$REGISTRY_URL"
