"""Timing and memory helpers for speed measurements.

Speed figures are only comparable within one run on one machine, so the
helpers here measure the machine's own ceiling (:func:`sgemm_peak`) next to
the thing being timed, and time with either wall-clock or process CPU time.
Process CPU time (``timer='cpu'``) ignores the time a shared machine gives to
other jobs; with ``torch.set_num_threads(1)`` it is the fairest CPU timer.
"""
import resource
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional

import torch

__all__ = [
    'sync', 'clock', 'time_fn', 'sgemm_peak', 'peak_rss_mb', 'reset_peak_memory',
    'peak_memory_mb'
]


def sync(device) -> None:
    """Wait for queued kernels on ``device`` (no-op on CPU)."""
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def clock(timer: str) -> Callable[[], float]:
    """``'wall'`` -> ``time.perf_counter``, ``'cpu'`` -> ``time.process_time``."""
    if timer == 'wall':
        return time.perf_counter
    if timer == 'cpu':
        return time.process_time
    raise ValueError(f"timer must be 'wall' or 'cpu', got {timer!r}")


def time_fn(fn: Callable[[], object], steps: int = 5, warmup: int = 1, device='cpu',
            timer: str = 'wall') -> Dict[str, object]:
    """Run ``fn`` ``warmup`` times untimed, then ``steps`` times timed.

    On CUDA the device is synchronised before and after every timed call, so a
    time covers the kernels the call queued. CPU time is per process: on CUDA
    it measures the host side only, so use ``timer='wall'`` there.

    Returns:
        dict: ``median_s``, ``min_s``, ``times_s`` (list of ``steps`` floats).
    """
    if steps < 1 or warmup < 0:
        raise ValueError(f'time_fn: need steps >= 1 and warmup >= 0, got {steps}, {warmup}')
    now = clock(timer)
    for _ in range(warmup):
        fn()
    times: List[float] = []
    for _ in range(steps):
        sync(device)
        t0 = now()
        fn()
        sync(device)
        times.append(now() - t0)
    return dict(median_s=statistics.median(times), min_s=min(times), times_s=times)


def sgemm_peak(device='cpu', size: Optional[int] = None, steps: int = 5,
               timer: str = 'wall', dtype=torch.float32) -> Dict[str, float]:
    """Achievable matmul rate of this machine: best of ``steps`` (n x n) @ (n x n).

    This is the practical ceiling that "achieved GFLOP/s" is compared with: a
    large square single-precision GEMM (bf16 if ``dtype`` says so) at the
    current ``torch.get_num_threads()``. The best time is used, not the median,
    because the peak is what the hardware can do when nothing interferes.

    Args:
        device: where to run.
        size (int, optional): n; default 1024 on CPU, 4096 on CUDA.
        steps (int): timed repetitions (after one warm-up).
        timer (str): ``'wall'`` or ``'cpu'`` (see :func:`time_fn`).

    Returns:
        dict: ``gflops`` (2 n^3 / best time / 1e9), ``size``, ``best_s``.
    """
    device = torch.device(device)
    n = size or (4096 if device.type == 'cuda' else 1024)
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=gen)
    out = torch.empty(n, n, device=device, dtype=dtype)
    res = time_fn(lambda: torch.mm(a, b, out=out), steps=steps, warmup=1, device=device,
                  timer=timer)
    best = max(res['min_s'], 1e-9)
    return dict(gflops=2.0 * n**3 / best / 1e9, size=n, best_s=best)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux/macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux and bytes on macOS
    return peak / 2**20 if sys.platform == 'darwin' else peak / 2**10


def reset_peak_memory(device) -> None:
    """Reset the CUDA peak-allocation counter (RSS peaks cannot be reset)."""
    device = torch.device(device)
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device) -> Dict[str, float]:
    """Peak memory: ``rss_mb`` always, plus ``cuda_max_allocated_mb`` on CUDA."""
    device = torch.device(device)
    out = dict(rss_mb=peak_rss_mb())
    if device.type == 'cuda':
        out['cuda_max_allocated_mb'] = torch.cuda.max_memory_allocated(device) / 2**20
    return out
