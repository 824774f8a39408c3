"""The 'keep' malloc policy: large blocks come from the heap and stay there when freed."""
import os
import subprocess
import sys

import pytest

from tap3d.ops.cpu.allocator import configure_cpu_allocator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# allocate a 64 MiB tensor (far above glibc's mmap threshold), free it, and report
# glibc's own accounting: bytes in mmap'd blocks while it lives, and free bytes the
# heap keeps after it dies. This is deterministic, unlike page-fault counts of a
# toy loop: whether the next 64 MiB block fits the freed one depends on where
# torch's small allocations land, so steady-state reuse is measured on real
# training steps instead (tools/analysis/benchmark.py, docs/benchmarks.md).
_PROBE = """
import ctypes, sys, torch
from tap3d.ops.cpu.allocator import configure_cpu_allocator
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost').split()]
libc = ctypes.CDLL('libc.so.6')
libc.mallinfo2.restype = MallInfo2
print(configure_cpu_allocator(sys.argv[1]))
before = libc.mallinfo2()
t = torch.ones(16 * 1024 * 1024)
alive = libc.mallinfo2()
del t
freed = libc.mallinfo2()
print(alive.hblkhd - before.hblkhd, freed.fordblks - before.fordblks)
"""
_MIB = 1 << 20


def _malloc_stats(mode):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop('TAP3D_CPU_ALLOCATOR', None)
    out = subprocess.run([sys.executable, '-c', _PROBE, mode], capture_output=True, text=True,
                         env=env, cwd=REPO, check=True).stdout.split()
    return out[0], int(out[1]), int(out[2])


def _has_mallinfo2():
    import ctypes
    try:
        return hasattr(ctypes.CDLL('libc.so.6'), 'mallinfo2')
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux') or not _has_mallinfo2(),
                    reason='glibc >= 2.33 malloc accounting')
def test_keep_policy_serves_large_blocks_from_the_heap_and_keeps_them():
    policy, mmapped, kept = _malloc_stats('keep')
    assert policy == 'keep'
    assert mmapped < 1 * _MIB  # the 64 MiB block came from the heap ...
    assert kept >= 63 * _MIB  # ... and stays there, free for the next step
    policy, mmapped, kept = _malloc_stats('system')
    assert policy == 'system'
    assert mmapped >= 64 * _MIB  # glibc's default: a fresh mmap ...
    assert kept < 1 * _MIB  # ... handed back to the kernel on free


def test_unknown_policy_is_rejected(monkeypatch):
    monkeypatch.setenv('TAP3D_CPU_ALLOCATOR', 'jemalloc')
    with pytest.raises(ValueError, match='TAP3D_CPU_ALLOCATOR'):
        configure_cpu_allocator()


def test_system_policy_reports_what_is_in_effect(monkeypatch):
    from tap3d.ops.cpu import allocator as cpu_allocator
    monkeypatch.setenv('TAP3D_CPU_ALLOCATOR', 'system')
    monkeypatch.setattr(cpu_allocator, '_applied', None)
    assert configure_cpu_allocator() == 'system'
    # 'keep' cannot be undone in a process; the answer says so
    monkeypatch.setattr(cpu_allocator, '_applied', 'keep')
    assert configure_cpu_allocator() == 'keep'
