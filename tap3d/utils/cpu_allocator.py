"""Keep freed CPU memory in the process instead of handing it back to the kernel.

PyTorch's CPU tensors come straight from ``malloc``. glibc serves every large block
(above a threshold that starts at 128 KiB and stops growing at 32 MiB) with a
fresh ``mmap`` and returns it with ``munmap`` when the tensor dies, so each training step faults in its activations page by page
again: a PointMLP step at batch 8 takes ~1.7 M page faults and spends a third of
its CPU time in the kernel (docs/benchmarks.md). Telling glibc to serve all
blocks from its heap (``M_MMAP_MAX = 0``) and to keep up to
``trim_threshold`` bytes of free heap (``M_TRIM_THRESHOLD``) makes the second
and later steps reuse the same pages: no page faults, at the price of a higher
resident size (about +50 % for that step). This is what PyTorch's own CPU
launcher (``torch.backends.xeon.run_cpu``) gets by preloading jemalloc or
tcmalloc, without a native dependency.

The tools call :func:`configure_cpu_allocator` on start-up; set
``TAP3D_CPU_ALLOCATOR=system`` to keep glibc's defaults.
"""
import ctypes
import ctypes.util
import os

__all__ = ['configure_cpu_allocator', 'ALLOCATOR_ENV']

ALLOCATOR_ENV = 'TAP3D_CPU_ALLOCATOR'
_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's malloc.h
_M_MMAP_MAX = -4
_applied = None


def configure_cpu_allocator(mode=None, trim_threshold=1 << 30):
    """Apply the allocator policy ``mode`` to this process (and its forks).

    Args:
        mode (str, optional): ``'keep'`` (reuse freed memory, the default) or
            ``'system'`` (leave malloc alone). None reads ``$TAP3D_CPU_ALLOCATOR``.
        trim_threshold (int): free heap bytes kept before glibc trims the heap.

    Returns:
        str: the policy in effect: ``'keep'``, or ``'system'`` when asked for or
        when the C library is not glibc (macOS, musl), where it does nothing.
        ``'keep'`` cannot be undone in a process, so asking for ``'system'``
        after it returns ``'keep'``.
    """
    global _applied
    mode = (mode or os.environ.get(ALLOCATOR_ENV) or 'keep').lower()
    if mode not in ('keep', 'system'):
        raise ValueError(f"{ALLOCATOR_ENV} must be 'keep' or 'system', got {mode!r}")
    if _applied == 'keep' or mode == 'system':
        return _applied or 'system'
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return 'system'  # not glibc: nothing to tune
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1
    _applied = 'keep' if ok else 'system'
    return _applied
