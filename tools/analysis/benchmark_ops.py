"""Time tap3d's point ops against the plain-torch versions PointMLP ships.

The references are the PointMLP authors' python FPS loop (started at index 0
instead of a random index, so both return the same points) and their kNN,
``square_distance`` followed by ``topk``. Each op is warmed up, then timed
``--repeats`` times; the table gives the median in milliseconds.

``--layers`` adds the CPU training layers that tap3d replaces, forward +
backward, against the torch ops: dropout on the TAP photograph module's
feed-forward activation, BN + ReLU and BN + residual + ReLU on a PointMLP
stage-1 group tensor, and the max over each group (see
``tap3d/models/utils``). The script keeps freed memory in the process, as the
training tools do (``tap3d.ops.cpu.allocator``).

Example::

    python tools/analysis/benchmark_ops.py --device cpu --repeats 5 [--layers]
"""
import argparse
import os.path as osp
import platform
import statistics
import sys
import time
from typing import Callable, List

import torch

# Run from any cwd without installing the package.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tap3d.ops import furthest_point_sample, knn, naive_furthest_point_sample  # noqa: E402
from tap3d.ops.cpu.allocator import configure_cpu_allocator  # noqa: E402


def reference_square_distance(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """PointMLP's ``square_distance``: (B, N, 3), (B, M, 3) -> (B, N, M) via one matmul."""
    batch, n, _ = src.shape
    m = dst.shape[1]
    dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
    dist += torch.sum(src**2, -1).view(batch, n, 1)
    dist += torch.sum(dst**2, -1).view(batch, 1, m)
    return dist


def reference_knn_point(k: int, xyz: torch.Tensor, new_xyz: torch.Tensor) -> torch.Tensor:
    """PointMLP's ``knn_point``: indices (B, M, k) of the k nearest, unsorted, no distances."""
    sqrdists = reference_square_distance(new_xyz, xyz)
    return torch.topk(sqrdists, k, dim=-1, largest=False, sorted=False)[1]


def time_ms(fn: Callable[[], object], device: torch.device, warmup: int, repeats: int,
            timer: str = 'wall') -> float:
    """Median time of ``fn()`` in ms, synchronising the device around each call.

    ``timer='cpu'`` measures this process's CPU time instead of wall time: on a
    shared CPU machine it ignores time lost to other processes.
    """
    clock = time.process_time if timer == 'cpu' else time.perf_counter

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        fn()
    times: List[float] = []
    for _ in range(repeats):
        sync()
        start = clock()
        fn()
        sync()
        times.append((clock() - start) * 1e3)
    return statistics.median(times)


def layer_rows(device, seed=0):
    """(name, torch fwd+bwd, tap3d fwd+bwd, same result) for the fused CPU layers."""
    import torch.nn as nn

    from tap3d.ops.cpu import Dropout, batch_norm_act, group_max
    gen = torch.Generator().manual_seed(seed)
    rows = []

    act = torch.randn(8, 294, 1024, generator=gen).to(device).requires_grad_()
    grad = torch.randn(act.shape, generator=gen).to(device)
    drops = (Dropout(0.1, fast=False), Dropout(0.1))
    kept = drops[1](act).detach() != 0  # same distribution, not the same draws
    same = abs(kept.float().mean().item() - 0.9) < 3e-3
    rows.append(('dropout p=0.1 (8, 294, 1024)', lambda: drops[0](act).backward(grad),
                 lambda: drops[1](act).backward(grad), same))

    rows_, channels = 8 * 512 * 24, 128
    z = torch.randn(rows_, channels, generator=gen).to(device).requires_grad_()
    res = torch.randn(rows_, channels, generator=gen).to(device).requires_grad_()
    dy = torch.randn(rows_, channels, generator=gen).to(device)
    bn, relu = nn.BatchNorm1d(channels).to(device), nn.ReLU()

    def torch_bn(residual):
        y = nn.BatchNorm1d.forward(bn, z)
        if residual is not None:
            y += residual
        return torch.relu_(y)

    for residual, label in ((None, 'BN + ReLU'), (res, 'BN + residual + ReLU')):
        # torch sums the statistics in float, tap3d in double: ~2e-5 apart at 98k rows
        same = torch.allclose(torch_bn(residual), batch_norm_act(z, bn, residual, relu),
                              atol=1e-4, rtol=1e-4)
        rows.append((f'{label} ({rows_}, {channels})',
                     lambda r=residual: torch_bn(r).backward(dy),
                     lambda r=residual: batch_norm_act(z, bn, r, relu).backward(dy), same))

    groups = torch.relu(torch.randn(8, 512, 24, 128, generator=gen)).to(device)
    groups.requires_grad_()
    gmax = torch.randn(8, 512, 128, generator=gen).to(device)
    same = torch.equal(groups.max(dim=2)[0], group_max(groups))
    rows.append(('group max (8, 512, 24, 128)', lambda: groups.max(dim=2)[0].backward(gmax),
                 lambda: group_max(groups).backward(gmax), same))
    return rows


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', help="torch device, e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--num-points', type=int, default=1024)
    parser.add_argument('--num-samples', type=int, default=512, help='FPS output / kNN queries')
    parser.add_argument('--k', type=int, default=24)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--timer', choices=['wall', 'cpu'], default='wall',
                        help="'cpu': process CPU time (CPU device only), robust to a busy machine")
    parser.add_argument('--layers', action='store_true',
                        help='also time the fused CPU training layers (forward + backward)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    configure_cpu_allocator()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.timer == 'cpu' and device.type != 'cpu':
        raise SystemExit('benchmark_ops: --timer cpu only makes sense with --device cpu')
    torch.manual_seed(args.seed)
    batch, n, m, k = args.batch_size, args.num_points, args.num_samples, args.k
    xyz = torch.rand(batch, n, 3, device=device)

    # Same inputs, same answers: FPS indices must agree exactly, kNN distances closely.
    ours_idx = furthest_point_sample(xyz, m)
    same_fps = torch.equal(ours_idx, naive_furthest_point_sample(xyz, m))
    query = xyz.gather(1, ours_idx.unsqueeze(-1).expand(-1, -1, 3))
    ref_idx = reference_knn_point(k, xyz, query)
    ref_d2 = ((xyz.gather(1, ref_idx.reshape(batch, -1, 1).expand(-1, -1, 3)).view(
        batch, m, k, 3) - query.unsqueeze(2))**2).sum(-1).sort(-1).values
    same_knn = torch.allclose(knn(query, xyz, k)[0], ref_d2, atol=1e-5)

    rows = [
        (f'FPS  B={batch} N={n} -> M={m}', lambda: naive_furthest_point_sample(xyz, m),
         lambda: furthest_point_sample(xyz, m), same_fps),
        (f'kNN  B={batch} M={m} of N={n}, k={k}', lambda: reference_knn_point(k, xyz, query),
         lambda: knn(query, xyz, k), same_knn),
    ]
    if args.layers:
        rows += layer_rows(device, args.seed)
    if device.type == 'cuda':
        hardware = torch.cuda.get_device_name(device)
    else:
        hardware = platform.processor() or platform.machine()
    print(f'device: {device} ({hardware}), torch {torch.__version__}, '
          f'threads {torch.get_num_threads()}, {args.timer} time, '
          f'median of {args.repeats} after {args.warmup} warm-up')
    header = f'{"op":<38} {"reference ms":>13} {"tap3d ms":>10} {"speed-up":>9}  same result'
    print(header)
    print('-' * len(header))
    for name, reference, ours, same in rows:
        ref_ms = time_ms(reference, device, args.warmup, args.repeats, args.timer)
        our_ms = time_ms(ours, device, args.warmup, args.repeats, args.timer)
        print(f'{name:<38} {ref_ms:>13.2f} {our_ms:>10.2f} {ref_ms / our_ms:>8.2f}x  {same}')


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
