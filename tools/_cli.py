"""Helpers shared by the command-line tools: config loading and one-line errors."""
import os
import os.path as osp
import sys

# OpenMP threads that spin while waiting make torch several times slower whenever
# another process shares the cores (measured 10x for the demo's fine-tuning on a
# 2-core machine); passive waiting costs nothing on an idle one. Set before torch loads.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

from mmengine.config import Config  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:  # tools run from any cwd without installing the package
    sys.path.insert(0, REPO_ROOT)

from tap3d.ops.cpu.allocator import configure_cpu_allocator  # noqa: E402
from tap3d.utils.errors import UserError, run_tool  # noqa: E402,F401  (re-exported)
from tap3d.utils.errors import one_line_errors as _one_line_errors  # noqa: E402

# reuse freed memory instead of page-faulting every step's activations back in
# (1.4x on a PointMLP training step on CPU; TAP3D_CPU_ALLOCATOR=system opts out)
configure_cpu_allocator()


def one_line_errors(tool: str, setup: bool = True):
    """Turn errors into one clear line on stderr and exit code 1.

    ``setup=True`` (the default) is for blocks that only set up: there a
    ``KeyError``, ``ValueError``, ... also means a mistake in the config or the
    arguments. Wrap the run itself (``runner.train()``) with ``setup=False``:
    unexpected errors then say where their traceback was saved. See
    :mod:`tap3d.utils.errors`; ``TAP3D_DEBUG=1`` shows tracebacks.
    """
    return _one_line_errors(tool, setup=setup)


def _check_cfg_option_keys(cfg: Config, options: dict) -> None:
    """Reject ``--cfg-options`` keys whose parent path does not exist in the config."""
    for key in options:
        parts = key.split('.')
        node = cfg._cfg_dict if hasattr(cfg, '_cfg_dict') else cfg
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                parent = '.'.join(parts[:depth]) or '<root>'
                raise UserError(f"--cfg-options key '{key}': '{part}' is not a key of "
                                f"'{parent}' in {cfg.filename}")


def load_config(path: str, cfg_options: dict = None) -> Config:
    """Load ``path`` and merge ``cfg_options``, with clear errors for bad input."""
    if not osp.isfile(path):
        raise UserError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        _check_cfg_option_keys(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    return cfg


def check_file(path: str, what: str) -> None:
    if path and not osp.isfile(path):
        raise UserError(f'{what} not found: {path}')
