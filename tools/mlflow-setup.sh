#!/usr/bin/env bash
# `npm run mlflow:setup`: create a git-ignored Python virtual environment at .venv/mlflow and install a pinned
# MLflow into it. Idempotent: a venv that already has the pinned version is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"   # pinned: newest 3.x whose mlflow-skinny twin is also on PyPI here (3.18.0 lacks it)
VENV=".venv/mlflow"
PYTHON="${PYTHON:-python3}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "mlflow:setup: '$PYTHON' not found. Install Python 3.10+ (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "mlflow:setup: MLflow ${MLFLOW_VERSION} needs Python >= 3.10; '$PYTHON' is $("$PYTHON" --version 2>&1). Set PYTHON=/path/to/python3.10+." >&2
  exit 1
fi

if [ -x "$VENV/bin/mlflow" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null || true)" = "$MLFLOW_VERSION" ]; then
  echo "mlflow:setup: MLflow ${MLFLOW_VERSION} already installed in ${VENV} (nothing to do)."
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "mlflow:setup: creating virtual environment ${VENV} with $("$PYTHON" --version 2>&1)"
  if ! "$PYTHON" -m venv "$VENV"; then
    rm -rf "$VENV"
    echo "mlflow:setup: '$PYTHON -m venv' failed. On Debian/Ubuntu install the venv module: apt-get install python3-venv" >&2
    exit 1
  fi
fi

echo "mlflow:setup: installing mlflow==${MLFLOW_VERSION} from PyPI into ${VENV}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==${MLFLOW_VERSION}"
echo "mlflow:setup: done: $("$VENV/bin/mlflow" --version)"
