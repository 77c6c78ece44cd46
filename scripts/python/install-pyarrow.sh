#!/usr/bin/env bash
# Installs pyarrow from PyPI into .cache/pyarrow-venv: the Parquet interop tests
# (test/parquet/interop.test.ts) write files with it and read sluice's output back with
# it. Idempotent. Needs python3 with venv and access to PyPI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.cache/pyarrow-venv"
PYARROW_VERSION="${PYARROW_VERSION:-26.0.1}"
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import pyarrow, sys; sys.exit(pyarrow.__version__ != '$PYARROW_VERSION')" 2>/dev/null; then
  echo "install-pyarrow: pyarrow $PYARROW_VERSION already in $VENV" >&2
  exit 0
fi
command -v python3 >/dev/null || { echo "install-pyarrow: python3 not found (needed for the Parquet interop tests)" >&2; exit 1; }
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "pyarrow==$PYARROW_VERSION"
echo "install-pyarrow: pyarrow $PYARROW_VERSION installed in $VENV" >&2
