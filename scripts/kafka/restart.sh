#!/usr/bin/env bash
# Restarts the broker of scripts/kafka/start.sh on the same data: stops it (SIGTERM,
# controlled shutdown), stays down KAFKA_DOWN_SECONDS (default 0; tests use it to make clients
# retry), then starts it again on the same ports, data folder and cluster id. Topics, records,
# committed offsets and transactions survive. Starts it if it was not running. Prints the
# bootstrap address on stdout, as start.sh does.
#
#   KAFKA_PORT, KAFKA_DATA_DIR, ...   as for start.sh
#   KAFKA_DOWN_SECONDS                seconds between stop and start (default 0)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/kafka/env.sh
. "$ROOT/scripts/kafka/env.sh"

# Hold the broker's lock across stop and start, so no other start/stop slips in between.
kafka_lock 180
export KAFKA_LOCK_HELD=1

KAFKA_KEEP_DATA=1 bash "$ROOT/scripts/kafka/stop.sh"
down="${KAFKA_DOWN_SECONDS:-0}"
if [[ "$down" != 0 ]]; then
  printf 'kafka-restart: staying down %s s\n' "$down" >&2
  sleep "$down"
fi
bash "$ROOT/scripts/kafka/start.sh"
