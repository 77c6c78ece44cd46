#!/usr/bin/env bash
# Installs Triton's Python HTTP client (tritonclient[http], from PyPI) into a virtual
# environment under .cache/pyclient, for the test that checks sluice's Open Inference
# Protocol server against a well-known client. Idempotent: a finished install is kept.
#
#   SLUICE_PYCLIENT_DIR   where the venv lives (default <repo>/.cache/pyclient)
#   TRITONCLIENT_VERSION  pinned client version (default 2.73.0)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${SLUICE_PYCLIENT_DIR:-$ROOT/.cache/pyclient}"
VERSION="${TRITONCLIENT_VERSION:-2.73.0}"

log() { printf 'pyclient-install: %s\n' "$*" >&2; }
die() { printf 'pyclient-install: ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -f "$VENV/.complete-$VERSION" ]]; then
  log "tritonclient[http] $VERSION already installed in $VENV"
  exit 0
fi
command -v python3 >/dev/null || die "python3 not found on PATH (Python 3.8+ with venv is required)"
rm -rf "$VENV"
python3 -m venv "$VENV" || die "python3 -m venv failed (install the python3-venv package)"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "tritonclient[http]==$VERSION"
"$VENV/bin/python" -c 'import tritonclient.http, numpy' || die "tritonclient does not import after the install"
touch "$VENV/.complete-$VERSION"
log "tritonclient[http] $VERSION installed in $VENV"
