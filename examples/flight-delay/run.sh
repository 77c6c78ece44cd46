#!/usr/bin/env bash
# Backfills all 3,000,000 flights from Parquet through the flight-delay model on the
# embedded default, writes scored Parquet parts, prints the summary and the hold-out AUC.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run --silent build
export SLUICE_DATA_DIR="${SLUICE_DATA_DIR:-.sluice/flight-delay}"
node bin/sluice.js backfill examples/flight-delay/topology.yaml --fresh --summary-json examples/flight-delay/out/summary.json
node dist/examples/flight-delay/evaluate.js examples/flight-delay/out/scored
