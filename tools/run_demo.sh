#!/usr/bin/env bash
# Set up (if needed) and run the main job: TAP pre-training + fine-tuning on the
# embedded synthetic data. Results and pictures go to work_dirs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
# shellcheck disable=SC1091
. .venv/bin/activate
python tools/run_demo.py "$@"
