#!/usr/bin/env bash
# The GPU check: run once on a machine with a CUDA GPU (about 6-8 minutes on one H200).
#
#   bash tools/gpu_check.sh            # results in work_dirs/gpu_check/results.{json,md}
#
# 1. Sets tap3d up with tools/install.sh, keeping the CUDA torch it finds: when the
#    system python ($PYTHON, default python3) already has a CUDA build of torch, the
#    venv is .venv-gpu, created with --system-site-packages so that it sees that torch;
#    otherwise .venv, where a CUDA torch you installed is kept (install.sh never
#    installs one). The optional torch-scatter build is skipped (TAP3D_TORCH_SCATTER=0
#    unless set): with nvcc it compiles CUDA code for many minutes.
# 2. Runs tools/gpu_check.py: pytest -m cuda (the Triton kernels against the torch ops
#    among them), benchmark.py --device cuda --amp at the paper's batch for the TAP
#    step, PointMLP, 3DETR-m and PTv2, and the projected ShapeNet55 epoch time.
#
# On a machine without a CUDA device it does everything up to the first CUDA call,
# prints one line starting with "gpu_check: no CUDA device" and exits with status 3.
#
# Environment: TAP3D_GPU_CHECK_SKIP_INSTALL=1 uses the python on PATH ($TAP3D_PYTHON)
# as it is; TAP3D_GPU_CHECK_OUT sets the results folder; arguments go to gpu_check.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${TAP3D_PYTHON:-python}
if [ "${TAP3D_GPU_CHECK_SKIP_INSTALL:-0}" != 1 ]; then
    if "${PYTHON:-python3}" -c "import sys, torch; sys.exit(0 if torch.version.cuda else 1)" \
            2>/dev/null; then
        export TAP3D_VENV=${TAP3D_VENV:-.venv-gpu}
        export TAP3D_VENV_SYSTEM_SITE_PACKAGES=1
    fi
    TAP3D_TORCH_SCATTER=${TAP3D_TORCH_SCATTER:-0} bash tools/install.sh
    PY="${TAP3D_VENV:-.venv}/bin/python"
fi
exec "$PY" tools/gpu_check.py --out "${TAP3D_GPU_CHECK_OUT:-work_dirs/gpu_check}" "$@"
