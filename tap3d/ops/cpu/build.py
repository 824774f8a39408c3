"""Build and load tap3d's fused CPU kernels (``csrc/mlp_cpu.cpp``).

The kernels (BN + residual + ReLU, :mod:`.bn_act`; group max, :mod:`.group_max`)
are C++ compiled with ``torch.utils.cpp_extension``. Compiling takes 30-40 s on two
cores, and a compile (with ninja's lock) inside a training run is a hang waiting to
happen, so:

- **A run never compiles by default.** :func:`cpu_kernels` only loads a finished
  build; when there is none it says so once and the torch ops run (same results,
  slower). ``tools/install.sh`` builds them: ``python -m tap3d.ops.cpu``.
  ``TAP3D_CPU_KERNELS=build`` opts in to compiling at first use, ``=0`` turns the
  kernels off.
- **The cache is keyed on what the binary depends on**: the source's hash, the
  compiler flags, the torch and Python versions and the CPU's feature flags (the
  build uses ``-march=native``). Two checkouts of the same source share one build;
  a changed source gets a new one instead of rebuilding another's. The cache root is
  ``$TAP3D_KERNEL_CACHE`` (default ``~/.cache/tap3d/cpu_kernels``).
- **No lock is waited on forever.** Builds of one key are serialised by an ``flock``
  on ``<build dir>/.build.lock``, which the kernel releases when its holder dies
  (a ``kill -9`` cannot leave it stale). While holding it, a ``lock`` file that an
  interrupted torch build left behind is removed. Waiting for another build gives
  up after ``lock_timeout`` seconds with a message naming the lock and its holder.
"""
import argparse
import contextlib
import hashlib
import importlib.util
import os
import os.path as osp
import platform
import sys
import threading
import time
import warnings
from typing import Optional

SOURCE = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc', 'mlp_cpu.cpp')
CFLAGS = ('-O3', '-march=native', '-ffp-contract=off', '-fopenmp')
LDFLAGS = ('-fopenmp',)
DONE_MARKER = 'BUILD_OK'  # written after a complete build; a build dir without it is unfinished
_LOCK = threading.Lock()
_STATE = {}  # 'kernels': the loaded module, or None when unavailable


def _cpu_flags() -> str:
    flags = platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith(('flags', 'Features')):
                    return flags + line
    except OSError:
        pass
    return flags


def build_key(source: str = SOURCE) -> str:
    """Hash of everything the compiled module depends on (16 hex digits)."""
    import torch
    digest = hashlib.sha1()
    with open(source, 'rb') as f:
        digest.update(f.read())
    for part in (*CFLAGS, '|', *LDFLAGS, '|', torch.__version__, sys.version, _cpu_flags()):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def cache_root() -> str:
    return os.environ.get('TAP3D_KERNEL_CACHE') or osp.join(
        osp.expanduser('~'), '.cache', 'tap3d', 'cpu_kernels')


def build_dir(source: str = SOURCE, name: str = 'tap3d_cpu_kernels') -> tuple:
    """``(module name, folder)`` of the build of ``source`` for this machine."""
    key = build_key(source)
    module_name = f'{name}_{key}'
    return module_name, osp.join(cache_root(), module_name)


def _load_library(module_name: str, folder: str):
    """Import the compiled module of a finished build, or None if there is none."""
    library = osp.join(folder, f'{module_name}.so')
    if not (osp.isfile(osp.join(folder, DONE_MARKER)) and osp.isfile(library)):
        return None
    import torch  # noqa: F401  (the extension links against torch's libraries)
    spec = importlib.util.spec_from_file_location(module_name, library)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def build_lock(path: str, timeout: float, poll: float = 0.2):
    """Hold an exclusive ``flock`` on ``path``; wait at most ``timeout`` seconds.

    The lock dies with its holder, so a killed build never leaves it held.

    Raises:
        TimeoutError: naming the lock file and the process holding it.
    """
    import fcntl
    os.makedirs(osp.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - start >= timeout:
                    holder = os.pread(fd, 32, 0).decode(errors='replace').strip() or '?'
                    raise TimeoutError(
                        f'waited {timeout:.0f} s for the build lock {path}, held by process '
                        f'{holder} (another build of the same kernels); try again when it '
                        'has finished') from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def build(source: str = SOURCE, name: str = 'tap3d_cpu_kernels', lock_timeout: float = 900.0,
          verbose: bool = False):
    """Compile ``source`` into the cache (once per key) and load it.

    Returns:
        The loaded module, or None (with a warning) when compiling fails.

    Raises:
        TimeoutError: another process held the build lock for ``lock_timeout`` s.
    """
    module_name, folder = build_dir(source, name)
    with build_lock(osp.join(folder, '.build.lock'), lock_timeout):
        module = _load_library(module_name, folder)
        if module is not None:
            return module
        # torch's own build lock: left by a build that was killed; nobody else can be
        # building here while we hold the flock
        stale = osp.join(folder, 'lock')
        if osp.exists(stale):
            os.remove(stale)
        try:
            from torch.utils.cpp_extension import load
            module = load(name=module_name, sources=[source], build_directory=folder,
                          extra_cflags=list(CFLAGS), extra_ldflags=list(LDFLAGS),
                          verbose=verbose)
        except Exception as err:  # no compiler, no headers, ...: the torch ops still work
            warnings.warn(f'tap3d: could not build the fused CPU kernels from {source} '
                          f'({type(err).__name__}: {str(err)[-500:]}); using torch ops '
                          f'(same results, slower)')
            return None
        with open(osp.join(folder, DONE_MARKER), 'w') as f:
            f.write(module_name + '\n')
        return module


def cpu_kernels():
    """The compiled CPU kernels if a finished build exists; None otherwise.

    Never compiles unless ``TAP3D_CPU_KERNELS=build``; ``TAP3D_CPU_KERNELS=0``
    turns the kernels off.
    """
    mode = os.environ.get('TAP3D_CPU_KERNELS', '1')
    if mode == '0':
        return None
    with _LOCK:
        if 'kernels' not in _STATE:
            if mode == 'build':
                _STATE['kernels'] = build()
            else:
                _STATE['kernels'] = _load_library(*build_dir())
                if _STATE['kernels'] is None:
                    from mmengine.logging import print_log
                    print_log('tap3d: the fused CPU kernels are not built for this source and '
                              'machine; using the torch ops (same results, slower). Build them '
                              'with `python -m tap3d.ops.cpu` (tools/install.sh does).',
                              logger='current')
    return _STATE['kernels']


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(
        description='Compile the fused CPU kernels into the cache (tools/install.sh runs this)')
    parser.add_argument('--lock-timeout', type=float, default=900.0)
    parser.add_argument('--verbose', action='store_true')
    args = parser.parse_args(argv)
    module_name, folder = build_dir()
    try:
        module = build(lock_timeout=args.lock_timeout, verbose=args.verbose)
    except TimeoutError as err:
        print(f'tap3d.ops.cpu.build: error: {err}', file=sys.stderr)
        return 1
    if module is None:
        print('tap3d.ops.cpu.build: the kernels could not be built; the torch ops will run '
              '(same results, slower)', file=sys.stderr)
        return 1
    print(f'[install] fused CPU kernels ready: {folder}')
    return 0
