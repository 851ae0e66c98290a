#!/usr/bin/env bash
# Creates .venv (if needed) and installs qcpt with its tested pins. CPU PyTorch goes in first so
# that no dependency can pull a CUDA build. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${QCPT_VENV:-.venv}
EXTRAS=${QCPT_EXTRAS:-dev}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
stamp="$VENV/.qcpt-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$EXTRAS"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$PY" -c "import qcpt" 2>/dev/null; then
  exit 0
fi
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$PY" -m pip install --quiet --disable-pip-version-check "torch==${QCPT_TORCH_VERSION:-2.13.0}"
"$PY" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[${EXTRAS}]"
echo "$want" > "$stamp"
