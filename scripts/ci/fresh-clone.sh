#!/usr/bin/env bash
# A new user's first two commands, checked: clone the committed tree into a new folder,
# then, with no environment variables but PATH and HOME, run plain `npm install` and
# `npm start -- --sample N` (the flight-delay backfill over N evenly spaced flights, its
# summary and AUC) under a time limit. Fails if either command fails or runs too long,
# or if the output lacks the summary or the AUC.
# Usage: bash scripts/ci/fresh-clone.sh [ROWS] [LIMIT_SECONDS]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
rows="${1:-30000}"
limit="${2:-900}"
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-fresh-XXXXXX")"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/sluice"
cd "$work/sluice"
clean() { env -i PATH="$PATH" HOME="$HOME" "$@"; }
echo "fresh-clone: npm install in $work/sluice"
clean timeout "$limit" npm install --no-audit --no-fund
echo "fresh-clone: npm start -- --sample $rows"
clean timeout "$limit" npm start -- --sample "$rows" 2>&1 | tee "$work/start.log"
grep -q 'records/s' "$work/start.log" || { echo "fresh-clone: npm start printed no summary" >&2; exit 1; }
grep -q 'ROC AUC (scored by sluice)' "$work/start.log" || { echo "fresh-clone: npm start printed no AUC" >&2; exit 1; }
echo "fresh-clone: ok"
