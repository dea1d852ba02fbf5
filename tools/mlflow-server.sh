#!/usr/bin/env bash
# `npm run mlflow [-- --port N]`: the MLflow dashboard on 127.0.0.1 with a sqlite backend (.mlflow/mlflow.db) and
# proxied artifacts (.mlflow/artifacts). Port: --port, else MLFLOW_PORT, else 5000. Runs in the foreground
# (Ctrl-C stops it). If our server already answers on that port, it says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PORT="${MLFLOW_PORT:-5000}"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="${2:?--port needs a number}"; shift 2 ;;
    --port=*) PORT="${1#--port=}"; shift ;;
    *) echo "mlflow: unknown argument '$1' (usage: npm run mlflow -- [--port N])" >&2; exit 2 ;;
  esac
done
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
  echo "mlflow: port '$PORT' is not a number in 1..65535." >&2; exit 2
fi

MLFLOW="$ROOT/.venv/mlflow/bin/mlflow"
if [ ! -x "$MLFLOW" ]; then
  echo "mlflow: no MLflow at .venv/mlflow; run \`npm run mlflow:setup\` first." >&2; exit 1
fi

URL="http://127.0.0.1:$PORT"
# Already running? An MLflow server answers /health with OK and serves the REST API.
if curl -fsS --max-time 2 "$URL/health" >/dev/null 2>&1 && curl -fsS --max-time 2 "$URL/api/2.0/mlflow/experiments/search?max_results=1" >/dev/null 2>&1; then
  echo "mlflow: a server is already running at $URL (dashboard: $URL). Use MLFLOW_TRACKING_URI=$URL"
  exit 0
fi
# Port taken by something else?
if ! "$ROOT/.venv/mlflow/bin/python" -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null; then
  echo "mlflow: port $PORT on 127.0.0.1 is taken by another program. Pick another: npm run mlflow -- --port 5001 (or MLFLOW_PORT=5001)." >&2
  exit 1
fi

mkdir -p "$ROOT/.mlflow/artifacts"
echo "mlflow: dashboard at $URL  (tracking URI for runs: export MLFLOW_TRACKING_URI=$URL)"
echo "mlflow: data in .mlflow/mlflow.db and .mlflow/artifacts; Ctrl-C stops the server."
exec "$MLFLOW" server --host 127.0.0.1 --port "$PORT" --workers 1 \
  --backend-store-uri "sqlite:///$ROOT/.mlflow/mlflow.db" \
  --artifacts-destination "$ROOT/.mlflow/artifacts"
