#!/usr/bin/env bash
# Stops the broker started by scripts/kafka/start.sh (same KAFKA_PORT / KAFKA_DATA_DIR) and
# deletes what start.sh wrote in its state folder (config, data, log). KAFKA_KEEP_DATA=1 keeps
# the folder, so a later start.sh (or scripts/kafka/restart.sh) comes back on the same data.
# Safe to call when nothing is running.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/kafka/env.sh
. "$ROOT/scripts/kafka/env.sh"

log() { printf 'kafka-stop: %s\n' "$*" >&2; }

# One start/stop/restart at a time per broker (restart.sh already holds the lock).
[[ "${KAFKA_LOCK_HELD:-0}" == 1 ]] || kafka_lock 120

PROPS="$KAFKA_DATA_DIR/server.properties"
pid=""
if [[ -f "$KAFKA_PID_FILE" ]]; then
  # Only ever signal the process this script family started (checked by its command line).
  if ! pid="$(kafka_our_pid)"; then
    log "pid file names $(cat "$KAFKA_PID_FILE" 2>/dev/null), which is not our running broker; nothing to stop"
    pid=""
  fi
fi

if [[ -n "$pid" ]]; then
  log "stopping broker pid $pid ($KAFKA_BOOTSTRAP)"
  # SIGTERM: a controlled shutdown that flushes the logs, so a restart recovers nothing.
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker pid $pid still running after 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  log "stopped"
else
  log "no broker started by scripts/kafka/start.sh is running on port $KAFKA_PORT"
fi

if [[ "${KAFKA_KEEP_DATA:-0}" == 1 ]]; then
  rm -f "$KAFKA_PID_FILE"
  log "kept $KAFKA_DATA_DIR"
elif [[ -d "$KAFKA_DATA_DIR" ]]; then
  # Only what start.sh put there, in case KAFKA_DATA_DIR names a folder that holds other things.
  rm -rf "$KAFKA_DATA_DIR/data" "$PROPS" "$KAFKA_DATA_DIR/log4j.properties" "$KAFKA_LOG_FILE" "$KAFKA_PID_FILE"
  rmdir "$KAFKA_DATA_DIR" 2>/dev/null || true
  rm -f "$KAFKA_LOCK_FILE"
  log "removed the broker's data, config and log from $KAFKA_DATA_DIR"
fi
