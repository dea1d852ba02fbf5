#!/usr/bin/env bash
# `npm run bench:setup [-- --check-only | --force]`: a git-ignored Python virtual environment (.venv-bench, or
# $UNIGRAD_BENCH_VENV) with a pinned PyTorch 2.x from PyPI, the yardstick `npm run bench:train` uses when present
# (Debian's python3-torch 1.13 otherwise: reference BLAS, a much weaker build).
#
# PyPI's Linux torch wheel depends on the CUDA wheels (cuda-toolkit, cudnn, nccl, nvshmem, triton: several GB) and
# does not import without them (`torch/__init__.py` preloads libcublasLt; checked with `pip install --no-deps`), and
# the CPU-only wheel index is not a PyPI index. So this installs the full wheel set: fine for a benchmark venv, not
# for CI or the default setup (nothing else calls this script). The CPU kernels are the same either way: MKL
# (sgemm) + oneDNN, dispatched on the CPU's ISA (AVX-512 here).
#
# Idempotent: a venv that already imports the pinned version is only reported. Prints the torch version, the BLAS
# (torch.__config__.show()) and the CPU capability (torch.backends.cpu.get_cpu_capability()).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/python-venv.sh

TORCH_VERSION="${TORCH_VERSION:-2.15.0}"   # pinned: the newest 2.x on PyPI when this was written
VENV="${UNIGRAD_BENCH_VENV:-.venv-bench}"
MODE="install"
for arg in "$@"; do
  case "$arg" in
    --check-only) MODE="check" ;;
    --force) MODE="force" ;;
    -h|--help)
      echo "usage: npm run bench:setup [-- --check-only | --force]   (venv: \$UNIGRAD_BENCH_VENV or .venv-bench; torch \$TORCH_VERSION=${TORCH_VERSION})"
      exit 0 ;;
    *) echo "bench:setup: unknown option '$arg' (use --check-only or --force)" >&2; exit 2 ;;
  esac
done

report() {
  "$VENV/bin/python" - <<'EOF'
import torch
cfg = torch.__config__.show()
blas = next((p.split("=", 1)[1] for p in cfg.replace(",", " ").split() if p.startswith("BLAS_INFO=")), "unknown")
print(f"bench:setup: torch {torch.__version__}, BLAS {blas}, ISA {torch.backends.cpu.get_cpu_capability()}, "
      f"MKL {torch.backends.mkl.is_available()}, oneDNN {torch.backends.mkldnn.is_available()}, {torch.get_num_threads()} threads by default")
print(cfg.strip())
EOF
}

installed_version() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true
}

have="$(installed_version)"
if [ "$MODE" = "check" ]; then
  if [ -z "$have" ]; then echo "bench:setup: no working torch in ${VENV} (run npm run bench:setup)"; exit 1; fi
  report
  [ "$have" = "$TORCH_VERSION" ] || { echo "bench:setup: ${VENV} has torch ${have}, the pin is ${TORCH_VERSION}" >&2; exit 1; }
  exit 0
fi
if [ "$MODE" = "install" ] && [ "$have" = "$TORCH_VERSION" ]; then
  echo "bench:setup: torch ${TORCH_VERSION} already installed in ${VENV} (nothing to do)."
  report
  exit 0
fi

require_python bench:setup
# --force rebuilds only a virtual environment; any other directory is left to ensure_venv, which refuses it.
if [ "$MODE" = "force" ] && [ -f "$VENV/pyvenv.cfg" ]; then rm -rf "$VENV"; fi
ensure_venv bench:setup "$VENV"
echo "bench:setup: installing torch==${TORCH_VERSION} from PyPI into ${VENV} (with its CUDA wheels: several GB, a few minutes)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==${TORCH_VERSION}" numpy
have="$(installed_version)"
if [ "$have" != "$TORCH_VERSION" ]; then
  echo "bench:setup: torch ${TORCH_VERSION} was installed but does not import from ${VENV}:" >&2
  "$VENV/bin/python" -c 'import torch' 2>&1 | tail -3 >&2 || true
  exit 1
fi
echo "bench:setup: done: $(du -sh "$VENV" | cut -f1) in ${VENV}"
report
