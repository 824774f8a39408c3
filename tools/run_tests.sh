#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: bash tools/run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh
# shellcheck disable=SC1091
. .venv/bin/activate
set +e
python -m pytest "$@"
status=$?
set -e
# pytest exits 5 when it collected no test: that is not a failure of the code
if [ "$status" -eq 5 ]; then
    echo "no tests were collected"
    exit 0
fi
exit "$status"
