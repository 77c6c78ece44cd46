#!/usr/bin/env bash
# The demo, end to end on the embedded default (no broker): produce → score → consume.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run --silent build
node dist/scripts/build-models.js
export SLUICE_DATA_DIR="${SLUICE_DATA_DIR:-$(mktemp -d /tmp/sluice-demo.XXXXXX)}"
sluice() { node bin/sluice.js "$@"; }
echo "== embedded log in $SLUICE_DATA_DIR"
sluice topics create events --partitions 2
node dist/examples/demo/make-events.js "${DEMO_EVENTS:-20000}" | sluice topics produce events --key card
sluice run examples/demo/topology.yaml --until-idle
echo "== topics"
sluice topics list
echo "== first scored events"
sluice topics consume scored --max 3
echo "== first alerts"
sluice topics consume alerts --max 2
echo "== dead letters (reasons)"
sluice topics consume events-dlq --max 2
