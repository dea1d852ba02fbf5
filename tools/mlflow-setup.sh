#!/usr/bin/env bash
# `npm run mlflow:setup`: create a git-ignored Python virtual environment at .venv/mlflow and install a pinned
# MLflow into it. Idempotent: a venv that already has the pinned version is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/python-venv.sh

MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"   # pinned: newest 3.x whose mlflow-skinny twin is also on PyPI here (3.18.0 lacks it)
VENV=".venv/mlflow"
require_python mlflow:setup

if [ -x "$VENV/bin/mlflow" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null || true)" = "$MLFLOW_VERSION" ]; then
  echo "mlflow:setup: MLflow ${MLFLOW_VERSION} already installed in ${VENV} (nothing to do)."
  exit 0
fi

ensure_venv mlflow:setup "$VENV"

echo "mlflow:setup: installing mlflow==${MLFLOW_VERSION} from PyPI into ${VENV}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow==${MLFLOW_VERSION}"
echo "mlflow:setup: done: $("$VENV/bin/mlflow" --version)"
