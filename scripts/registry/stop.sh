#!/usr/bin/env bash
# Stops the registry started by scripts/registry/start.sh (same REGISTRY_PORT / REGISTRY_DATA_DIR)
# and removes its pid file and log. Safe to call when nothing is running.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/registry/env.sh
. "$ROOT/scripts/registry/env.sh"

log() { printf 'registry-stop: %s\n' "$*" >&2; }

pid=""
if [[ -f "$REGISTRY_PID_FILE" ]]; then
  pid="$(cat "$REGISTRY_PID_FILE")"
  # Only ever signal the process this script family started (checked by its executable).
  if ! { [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(readlink -f "/proc/$pid/exe" 2>/dev/null)" == "$(readlink -f "$REGISTRY_BIN")" ]]; }; then
    log "pid file names $pid, which is not our running registry; nothing to stop"
    pid=""
  fi
fi
if [[ -n "$pid" ]]; then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  log "stopped registry pid $pid ($REGISTRY_URL)"
else
  log "no registry started by scripts/registry/start.sh is running on port $REGISTRY_PORT"
fi
rm -f "$REGISTRY_PID_FILE" "$REGISTRY_LOG_FILE"
rmdir "$REGISTRY_DATA_DIR" 2>/dev/null || true
