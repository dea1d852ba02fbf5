#!/usr/bin/env bash
# One-shot setup on a fresh machine: Fashion-MNIST (Debian package), npm packages, and the fastest TensorFlow.js
# backend this machine can have (native libtensorflow, installed offline by tools/setup-native.sh; when that is
# not possible the portable wasm backend is used and the reason is printed). Idempotent.
#   bash tools/setup.sh [--no-native] [--with-mlflow]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

NATIVE=1
MLFLOW=0
for arg in "$@"; do
  case "$arg" in
    --no-native) NATIVE=0 ;;
    --with-mlflow) MLFLOW=1 ;;
    *) echo "setup: unknown option '$arg' (use --no-native, --with-mlflow)" >&2; exit 2 ;;
  esac
done

SUDO=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then SUDO="sudo"; fi

if [[ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]] && command -v apt-get >/dev/null; then
  echo "== Fashion-MNIST and python3-venv (Debian packages)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist python3-venv >/dev/null
fi

echo "== npm packages"
npm ci --no-audit --no-fund

echo "== dataset check"
npm run --silent data:setup

if [[ $NATIVE -eq 1 ]]; then
  echo "== native TensorFlow backend (offline install)"
  if ! npm run --silent setup:native; then
    echo "setup: the native backend could not be installed (see above); runs will use the wasm backend." >&2
  fi
fi

if [[ $MLFLOW -eq 1 ]]; then
  echo "== MLflow server (Python venv)"
  npm run --silent mlflow:setup
fi
echo "setup: done"
