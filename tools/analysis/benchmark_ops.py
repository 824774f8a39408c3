"""Time tap3d's point ops against the plain-torch versions PointMLP ships.

The references are the PointMLP authors' python FPS loop (started at index 0
instead of a random index, so both return the same points) and their kNN,
``square_distance`` followed by ``topk``. Each op is warmed up, then timed
``--repeats`` times; the table gives the median in milliseconds.

Example::

    python tools/analysis/benchmark_ops.py --device cpu --repeats 5
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


def parse_args():
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
    return parser.parse_args()


def main():
    args = parse_args()
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
    if device.type == 'cuda':
        hardware = torch.cuda.get_device_name(device)
    else:
        hardware = platform.processor() or platform.machine()
    print(f'device: {device} ({hardware}), torch {torch.__version__}, '
          f'threads {torch.get_num_threads()}, {args.timer} time, '
          f'median of {args.repeats} after {args.warmup} warm-up')
    header = f'{"op":<34} {"reference ms":>13} {"tap3d ms":>10} {"speed-up":>9}  same result'
    print(header)
    print('-' * len(header))
    for name, reference, ours, same in rows:
        ref_ms = time_ms(reference, device, args.warmup, args.repeats, args.timer)
        our_ms = time_ms(ours, device, args.warmup, args.repeats, args.timer)
        print(f'{name:<34} {ref_ms:>13.2f} {our_ms:>10.2f} {ref_ms / our_ms:>8.2f}x  {same}')


if __name__ == '__main__':
    main()
