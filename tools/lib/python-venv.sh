# Sourced by tools/mlflow-setup.sh and tools/bench-setup.sh: the Python checks and the virtual environment they share.
# Each function prints a one-line error naming the fix and returns 1, so the caller's `set -e` stops it.

# require_python LABEL: $PYTHON (default python3) exists and is Python >= 3.10.
require_python() {
  local label="$1"
  PYTHON="${PYTHON:-python3}"
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "${label}: '$PYTHON' not found. Install Python 3.10+ (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3." >&2
    return 1
  fi
  if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "${label}: needs Python >= 3.10; '$PYTHON' is $("$PYTHON" --version 2>&1). Set PYTHON=/path/to/python3.10+." >&2
    return 1
  fi
}

# ensure_venv LABEL DIR: a virtual environment at DIR made with $PYTHON, unless DIR already holds a working one (a
# pyvenv.cfg, and a python with pip). A DIR (or a symlink, even a dangling one) that exists but is not one is an error,
# never deleted: it may be the user's. A failed creation removes only the DIR it created.
ensure_venv() {
  local label="$1" dir="$2"
  PYTHON="${PYTHON:-python3}"
  if [ -e "$dir" ] || [ -L "$dir" ]; then
    if [ -f "$dir/pyvenv.cfg" ] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then return 0; fi
    echo "${label}: ${dir} exists but is not a working virtual environment (no pyvenv.cfg, or its python has no pip): remove it, or choose another directory, and run again." >&2
    return 1
  fi
  echo "${label}: creating virtual environment ${dir} with $("$PYTHON" --version 2>&1)"
  if ! "$PYTHON" -m venv "$dir"; then
    rm -rf "$dir"
    echo "${label}: '$PYTHON -m venv' failed. On Debian/Ubuntu install the venv module: apt-get install python3-venv" >&2
    return 1
  fi
}
