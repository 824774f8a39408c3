"""Build and load tap3d's fused CPU kernels (``csrc/mlp_cpu.cpp``).

The kernels (BN + residual + ReLU, :mod:`.bn_act`; group max, :mod:`.group_max`)
are compiled with ``torch.utils.cpp_extension`` the first time a CPU training
step needs them: about 30-40 s on two cores, then cached under
``~/.cache/torch_extensions`` (``TORCH_EXTENSIONS_DIR``). They are built with
``-march=native``, so the cache entry is named after the CPU's feature flags.
Without a C++ compiler the build fails once with a warning and the torch ops
run instead (same results, slower); ``TAP3D_CPU_KERNELS=0`` turns them off.
"""
import hashlib
import os
import os.path as osp
import platform
import threading
import warnings

SOURCE = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc', 'mlp_cpu.cpp')
_LOCK = threading.Lock()
_STATE = {}  # 'kernels': the loaded module, or None when unavailable


def _cpu_tag():
    """Short hash of the CPU's feature flags (the build uses -march=native)."""
    flags = platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(('flags', 'Features')):
                    flags += line
                    break
    except OSError:
        pass
    return hashlib.sha1(flags.encode()).hexdigest()[:10]


def cpu_kernels():
    """The compiled CPU kernels, building them on first call; None if unavailable.

    Disabled by the environment variable ``TAP3D_CPU_KERNELS=0``. A failed build
    warns once and leaves the torch ops in use.
    """
    if os.environ.get('TAP3D_CPU_KERNELS', '1') == '0':
        return None
    with _LOCK:
        if 'kernels' not in _STATE:
            _STATE['kernels'] = build(SOURCE)
    return _STATE['kernels']


def build(source, name=None):
    """Compile and load ``source``; None (with a warning) when that fails."""
    name = name or f'tap3d_mlp_cpu_{_cpu_tag()}'
    try:
        from mmengine.logging import print_log
        from torch.utils.cpp_extension import load
        print_log("tap3d: loading the fused CPU kernels (compiled on first use, ~30-40 s)",
                  logger='current')
        return load(name=name, sources=[source],
                    extra_cflags=['-O3', '-march=native', '-ffp-contract=off', '-fopenmp'],
                    extra_ldflags=['-fopenmp'], verbose=False)
    except Exception as err:  # no compiler, no headers, ...: the torch ops still work
        warnings.warn(f'tap3d: could not build the fused CPU kernels from {source} '
                      f'({type(err).__name__}: {str(err)[-500:]}); using torch ops '
                      f'(same results, slower)')
        return None
