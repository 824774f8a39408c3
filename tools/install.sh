#!/usr/bin/env bash
# Set up tap3d in a virtual environment inside the repository (.venv).
#
#   bash tools/install.sh          # idempotent: a second run only checks
#
# On a machine without torch it installs the CPU build of torch 2.13.0 (never a
# multi-GB CUDA build); an existing torch (CUDA or CPU) is kept. It also compiles
# tap3d's fused CPU kernels (python -m tap3d.ops.cpu), so no run ever compiles.
#
# Environment:
#   PYTHON=python3                      the interpreter that creates the venv
#   TAP3D_VENV=.venv                    where the venv goes
#   TAP3D_VENV_SYSTEM_SITE_PACKAGES=1   create it with --system-site-packages, so that a
#                                       torch installed for $PYTHON (e.g. a CUDA build) is
#                                       seen and kept (only when the venv is created)
#   TAP3D_TORCH_SCATTER=0               skip the optional torch-scatter build (tap3d then
#                                       pools voxels with torch ops; with a CUDA torch and
#                                       nvcc the build compiles CUDA code for many minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${TAP3D_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
    if [ "${TAP3D_VENV_SYSTEM_SITE_PACKAGES:-0}" = 1 ]; then
        echo "[install] creating $VENV (with the system site packages of $PYTHON)"
        "$PYTHON" -m venv --system-site-packages "$VENV"
    else
        echo "[install] creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

stamp="$VENV/.tap3d-installed"
want=$(cat requirements/*.txt setup.py tools/install.sh tools/_torch_cpu.sh tap3d/ops/cpu/build.py \
    tap3d/ops/cpu/csrc/* | sha1sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

PIP="python -m pip install --disable-pip-version-check -q"
if ! python -c "import torch" 2>/dev/null; then
    echo "[install] torch (CPU build 2.13.0)"
    # shellcheck source=tools/_torch_cpu.sh
    . tools/_torch_cpu.sh
    install_cpu_torch
fi
echo "[install] runtime and test requirements"
$PIP -r requirements/runtime.txt -r requirements/tests.txt
if [ "${TAP3D_TORCH_SCATTER:-1}" != 0 ] && ! python -c "import torch_scatter" 2>/dev/null; then
    # needs torch at build time; pip caches the built wheel for later runs
    echo "[install] torch-scatter (built from source once, a few minutes)"
    $PIP --no-build-isolation "torch-scatter==2.1.2"
fi
$PIP --no-deps --no-build-isolation -e .
# The fused CPU kernels are compiled here, never inside a training run (30-60 s once,
# cached by source and CPU). Without a compiler the torch ops run instead.
echo "[install] fused CPU kernels"
python -m tap3d.ops.cpu || echo "[install] continuing without the fused CPU kernels"
python - <<'PY'
import torch, mmengine, tap3d
print(f'[install] tap3d {tap3d.__version__}: torch {torch.__version__}, '
      f'mmengine {mmengine.__version__}, cuda available: {torch.cuda.is_available()}')
PY
echo "$want" > "$stamp"
