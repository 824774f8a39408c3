"""The 'keep' malloc policy: freed tensors' pages are reused, not faulted in again."""
import os
import subprocess
import sys

import pytest

from tap3d.ops.cpu.allocator import configure_cpu_allocator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# allocate, touch and free a 64 MiB tensor; report the minor page faults of the
# later rounds (the heap grows to its steady size in the first three rounds)
_PROBE = """
import resource, sys, torch
from tap3d.ops.cpu.allocator import configure_cpu_allocator
print(configure_cpu_allocator(sys.argv[1]))
def touch():
    t = torch.ones(16 * 1024 * 1024)  # 64 MiB, far above glibc's mmap threshold
    return float(t[::4096].sum())
for _ in range(3):
    touch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    touch()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop('TAP3D_CPU_ALLOCATOR', None)
    out = subprocess.run([sys.executable, '-c', _PROBE, mode], capture_output=True, text=True,
                         env=env, cwd=REPO, check=True).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc policy')
def test_keep_policy_reuses_freed_pages():
    policy, keep_faults = _faults('keep')
    assert policy == 'keep'
    system_policy, system_faults = _faults('system')
    assert system_policy == 'system'
    # 5 rounds x 16k pages are faulted in again under glibc's default policy
    assert system_faults > 5 * 8000
    assert keep_faults < system_faults / 20


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
