# Sourced by the launcher scripts: choose the Python interpreter that runs tap3d.
# Order: $PYTHON, the active virtual environment, the repository's .venv, python3.
if [ -z "${PYTHON:-}" ]; then
    _root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
        PYTHON="$VIRTUAL_ENV/bin/python"
    elif [ -x "$_root/.venv/bin/python" ]; then
        PYTHON="$_root/.venv/bin/python"
    else
        PYTHON="$(command -v python3 || command -v python)"
    fi
fi
