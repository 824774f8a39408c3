"""Time tap3d's mesh renderer against trimesh + embreex ray casting.

Both render the same mesh (an icosphere, 20480 faces at subdivision 5) from
the 12 fixed TAP views, with the same framing and the same flat shading:
tap3d rasterises in torch, the reference casts one orthographic ray through
every pixel centre with Embree. The script prints both times, their ratio and
how many pixels the two images agree on.

Example::

    python tools/analysis/benchmark_renderer.py
    python tools/analysis/benchmark_renderer.py --device cuda --repeats 20
"""
import argparse
import os.path as osp
import platform
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tap3d.geometry import compute_framing, fixed_view_rotations  # noqa: E402
from tap3d.rendering import render_mesh, sample_surface_points  # noqa: E402
from tap3d.rendering.shading import MESH_ALBEDO, lambert, to_uint8  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--subdivisions', type=int, default=5,
                        help='icosphere subdivisions (5 gives 20480 faces)')
    parser.add_argument('--views', type=int, default=12)
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--obj-size', type=int, default=200)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch decides)')
    return parser.parse_args()


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_calls(fn, repeats: int, device: torch.device):
    """Run ``fn`` once to warm up, then ``repeats`` times.

    Returns:
        wall-clock seconds per call (list) and CPU seconds per call (list) of
        this process, all threads; CPU time is the fairer figure on a machine
        that other jobs share.
    """
    fn()
    _sync(device)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _report(name: str, wall, cpu, views: int, extra: str = '') -> None:
    print(f'{name:<22} : wall median {statistics.median(wall) * 1e3:8.1f} ms '
          f'(min {min(wall) * 1e3:7.1f}), CPU median {statistics.median(cpu) * 1e3:8.1f} ms '
          f'per {views} views{extra}')


def embree_renderer(mesh, rotations: np.ndarray, framing_points: np.ndarray, img_size: int,
                    obj_size: int):
    """Build the ray-casting reference; returns a function that renders all views."""
    from trimesh.ray.ray_pyembree import RayMeshIntersector  # needs embreex
    intersector = RayMeshIntersector(mesh)
    rot = torch.as_tensor(rotations, dtype=torch.float64)
    s, b = compute_framing(torch.as_tensor(framing_points, dtype=torch.float64)[None], rot[None],
                           img_size, obj_size)
    s, b = s[0].numpy(), b[0].numpy()
    rot = rot.numpy()
    centres = np.arange(img_size) + 0.5
    u = np.stack(np.meshgrid(centres, centres, indexing='ij'), -1).reshape(-1, 2)
    vertices = np.asarray(mesh.vertices)
    faces = np.asarray(mesh.faces)
    normals = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                       vertices[faces[:, 2]] - vertices[faces[:, 0]])

    def render():
        images = []
        for r, sv, bv in zip(rot, s, b):
            q = sv * u + bv  # (HW, 2) camera-plane points
            z_start = (vertices @ r[2]).max() + 1.0  # in front of the whole mesh
            cam = np.concatenate([q, np.full((len(q), 1), z_start)], axis=1)
            origins = cam @ r  # R^T p_cam for row vectors
            directions = np.broadcast_to(-r[2], origins.shape)  # looking along -z_cam
            tri = intersector.intersects_first(origins, directions)
            hit = tri >= 0
            shade = MESH_ALBEDO * lambert(torch.as_tensor(normals @ r.T, dtype=torch.float32))
            grey = shade[torch.as_tensor(np.where(hit, tri, 0))]
            img = to_uint8(grey[:, None].expand(-1, 3), torch.as_tensor(hit))
            images.append(img.view(img_size, img_size, 3))
        return torch.stack(images)

    return render


def main():
    args = parse_args()
    import trimesh
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    mesh = trimesh.creation.icosphere(subdivisions=args.subdivisions)
    vertices = torch.as_tensor(np.asarray(mesh.vertices), dtype=torch.float32, device=device)
    faces = torch.as_tensor(np.asarray(mesh.faces), dtype=torch.int64, device=device)
    points = sample_surface_points(np.asarray(mesh.vertices), np.asarray(mesh.faces), 1024, seed=0)
    rotations = fixed_view_rotations(args.views)
    rot_dev = rotations.to(device)
    pts_dev = torch.as_tensor(points, device=device)

    print(f'mesh: icosphere(subdivisions={args.subdivisions}), {len(mesh.faces)} faces; '
          f'{args.views} views at {args.img_size}x{args.img_size}')
    print(f'machine: {platform.processor() or platform.machine()}, '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}'
          + (f' ({torch.cuda.get_device_name(device)})' if device.type == 'cuda' else ''))

    def ours(cull=None):
        return render_mesh(vertices, faces, rot_dev, pts_dev, args.img_size, args.obj_size,
                           cull_backfaces=cull)

    # the icosphere is closed, so render_mesh culls back faces by default;
    # open meshes (most ShapeNet models) take the no-culling path
    ours_wall, ours_cpu = time_calls(ours, args.repeats, device)
    _report('tap3d (culling, auto)', ours_wall, ours_cpu, args.views)
    full_wall, full_cpu = time_calls(lambda: ours(False), args.repeats, device)
    _report('tap3d (no culling)', full_wall, full_cpu, args.views)

    try:
        start = time.perf_counter()
        reference = embree_renderer(mesh, rotations.numpy(), points, args.img_size, args.obj_size)
        build = time.perf_counter() - start
    except ImportError as err:
        print(f'trimesh + embreex      : skipped, embreex is not installed ({err})')
        return
    ref_wall, ref_cpu = time_calls(reference, args.repeats, torch.device('cpu'))
    _report('trimesh+embreex rays', ref_wall, ref_cpu, args.views,
            f' (+ {build * 1e3:.1f} ms BVH build, not counted)')
    med = statistics.median
    for name, wall, cpu in (('culling', ours_wall, ours_cpu), ('no culling', full_wall, full_cpu)):
        print(f'speed-up, {name:<10}    : wall {med(ref_wall) / med(wall):.2f}x, '
              f'CPU {med(ref_cpu) / med(cpu):.2f}x (reference time / tap3d time)')
    a, b = ours(False).cpu(), reference()
    agree = (a == b).all(dim=-1).float().mean().item()
    fg_a, fg_b = (a < 255).any(-1), (b < 255).any(-1)
    iou = ((fg_a & fg_b).sum() / (fg_a | fg_b).sum()).item()
    print(f'agreement (no culling) : {agree * 100:.2f}% identical pixels, silhouette IoU {iou:.4f}')


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
