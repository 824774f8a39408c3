"""Keep freed CPU memory in the process instead of handing it back to the kernel.

PyTorch's CPU tensors come straight from ``malloc``. glibc serves every large
block (above a threshold that starts at 128 KiB and stops growing at 32 MiB)
with a fresh ``mmap`` and returns it with ``munmap`` when the tensor dies, so
each training step faults its activations in again, page by page: a PointMLP
step at batch 8 took ~1.7 M page faults and spent a third of its CPU time in
the kernel (docs/benchmarks.md). Telling glibc to serve all
blocks from its heap (``M_MMAP_MAX = 0``) and never to give free heap back
(``M_TRIM_THRESHOLD``) makes later steps reuse the same pages: no page faults
once the heap has grown to the step's peak, and the process keeps that peak
resident, as PyTorch's GPU caching allocator does (+49 % peak RSS for a PointMLP
step). A finite threshold is not enough: with 1 GiB, a TAP step still gave its
activations back at the end of each backward pass and faulted 60k-400k pages
in again on the next step. PyTorch's own CPU launcher
(``torch.backends.xeon.run_cpu``) gets the same effect by preloading jemalloc
or tcmalloc; this needs no native dependency.

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


def configure_cpu_allocator(mode=None, trim_threshold=None):
    """Apply the allocator policy ``mode`` to this process (and its forks).

    Args:
        mode (str, optional): ``'keep'`` (reuse freed memory, the default) or
            ``'system'`` (leave malloc alone). None reads ``$TAP3D_CPU_ALLOCATOR``.
        trim_threshold (int, optional): free heap bytes kept before glibc trims
            the heap; None never trims.

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
    # glibc reads the threshold as size_t: -1 is "never"
    threshold = -1 if trim_threshold is None else min(int(trim_threshold), 2**31 - 1)
    ok = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, threshold) == 1
    _applied = 'keep' if ok else 'system'
    return _applied
