"""Prepare tap3d's datasets.

Subcommands::

    # sample points from meshes and render the 12 TAP views (ShapeNet55 layout)
    python tools/create_data.py shapenet55-views --meshes DIR --out data/ShapeNet55

    # the synthetic world: objects in every real layout + ScanNet-like rooms
    python tools/create_data.py synthetic [--out data/synthetic] [--tiny]

    # validate a ShapeNet55-layout root and list every bad file
    python tools/create_data.py check data/ShapeNet55

Every subcommand is resumable: complete outputs are skipped, and outputs are
written atomically, so an interrupted run can simply be started again.
"""
import argparse
import os
import os.path as osp
import sys
import time

# run from a checkout without installing the package
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

MESH_EXTS = ('.obj', '.off', '.ply', '.stl', '.glb')


def _default_workers() -> int:
    return min(2, os.cpu_count() or 1)


def _list_meshes(folder: str):
    found = []
    for dirpath, _, names in os.walk(folder):
        for name in names:
            if name.lower().endswith(MESH_EXTS) and not name.startswith('.'):
                found.append(osp.relpath(osp.join(dirpath, name), folder))
    return sorted(found)


def _read_splits(path: str):
    """``<mesh path relative to --meshes> <split>`` per line -> dict."""
    splits = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            words = line.split()
            if not words or words[0].startswith('#'):
                continue
            if len(words) != 2 or words[1] not in ('train', 'val', 'test'):
                raise SystemExit(f'{path}:{n}: expected "<mesh> <train|val|test>", got {line!r}')
            splits[words[0]] = words[1]
    return splits


def _mesh_task(task):
    mesh_path, out, split, stem, up, seed, index = task
    import numpy as np

    from tap3d.datasets.synthetic.objects import shapenet55_shape_done, write_shapenet55_shape
    from tap3d.geometry import shapenet_to_zup
    from tap3d.rendering import load_mesh
    if shapenet55_shape_done(out, split, stem):
        return 'skipped'
    try:
        vertices, faces = load_mesh(mesh_path)
    except (OSError, ValueError) as err:
        return f'failed: {err}'
    if up == 'y':
        vertices = shapenet_to_zup(vertices)
    rng = np.random.default_rng([seed, index])
    write_shapenet55_shape(out, split, stem, vertices, faces, rng)
    return 'written'


def cmd_shapenet55_views(args) -> int:
    from tap3d.datasets.io import write_text
    from tap3d.datasets.synthetic.objects import parallel_map
    meshes = _list_meshes(args.meshes)
    if not meshes:
        print(f'{args.meshes}: no mesh files ({", ".join(MESH_EXTS)})', file=sys.stderr)
        return 1
    splits = _read_splits(args.splits_file) if args.splits_file else None
    tasks, index_lines = [], []
    for i, rel in enumerate(meshes):
        if splits is not None:
            if rel not in splits:
                continue
            split = splits[rel]
        else:
            # a fixed 80 / 10 / 10 split by position in the sorted list
            split = {8: 'val', 9: 'test'}.get(i % 10, 'train')
        stem = f'model_{i:06d}'
        tasks.append((osp.join(args.meshes, rel), args.out, split, stem, args.up, args.seed, i))
        index_lines.append(f'{stem} {split} {rel}')
    for sub in ('pointclouds', 'pointclouds_p2048', 'shapenet55v1'):
        for split in ('train', 'val', 'test'):
            os.makedirs(osp.join(args.out, sub, split), exist_ok=True)
    write_text(osp.join(args.out, 'mesh_index.txt'), '\n'.join(index_lines) + '\n')
    results = parallel_map(_mesh_task, tasks, args.workers, 'shapenet55-views')
    failed = [r for r in results if r.startswith('failed')]
    print(f'{len(tasks)} meshes: {results.count("written")} written, '
          f'{results.count("skipped")} already complete, {len(failed)} failed')
    for r in failed:
        print('  ' + r, file=sys.stderr)
    return 1 if failed else 0


def cmd_synthetic(args) -> int:
    from tap3d.datasets.synthetic.objects import write_synthetic_objects
    start = time.time()
    only = [s for s in args.only.split(',') if s] if args.only else None
    objects = [d for d in ('shapenet55', 'scanobjectnn', 'modelnet40', 'shapenetpart')
               if only is None or d in only]
    summary = write_synthetic_objects(args.out, tiny=args.tiny, num_per_class=args.num_per_class,
                                      seed=args.seed, workers=args.workers, datasets=objects)
    for name, counts in summary.items():
        print(f'{name}: {counts}')
    if only is None or 'scannet' in only:
        from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
        num = args.num_scenes if args.num_scenes is not None else (2 if args.tiny else 24)
        num_val = max(1, num // 4)
        points = 4000 if args.tiny else 40000
        write_synthetic_scenes(osp.join(args.out, 'scannet'), num_train=num, num_val=num_val,
                               points_per_scene=points, seed=args.seed)
        print(f'scannet: {num} train + {num_val} val scenes of {points} points')
    print(f'synthetic data under {args.out} in {time.time() - start:.1f} s')
    return 0


def cmd_check(args) -> int:
    from tap3d.datasets.shapenet55 import check_shapenet55_root
    if not osp.isdir(args.root):
        print(f'{args.root}: not a directory', file=sys.stderr)
        return 2
    count, problems = check_shapenet55_root(args.root, check_images=not args.no_images)
    for path, problem in problems:
        print(f'BAD  {path}: {problem}')
    print(f'{count} shapes checked, {len(problems)} bad files')
    return 1 if problems else 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Prepare tap3d datasets.')
    sub = parser.add_subparsers(dest='command', required=True)

    p = sub.add_parser('shapenet55-views',
                       help='sample points from meshes and render the 12 views')
    p.add_argument('--meshes', required=True, help='folder searched recursively for meshes')
    p.add_argument('--out', default='data/ShapeNet55', help='ShapeNet55-layout root to write')
    p.add_argument('--splits-file', help='lines "<mesh path relative to --meshes> '
                   '<train|val|test>"; meshes not listed are skipped. Default: 80/10/10')
    p.add_argument('--up', choices=('y', 'z'), default='y',
                   help='up axis of the meshes (ShapeNet meshes are y-up)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=_default_workers())
    p.set_defaults(func=cmd_shapenet55_views)

    p = sub.add_parser('synthetic', help='write the synthetic world (objects and rooms)')
    p.add_argument('--out', default='data/synthetic')
    p.add_argument('--tiny', action='store_true', help='smallest sizes (seconds), for tests')
    p.add_argument('--num-per-class', type=int,
                   help='objects per class: ShapeNet55 over all its splits (70/10/20), '
                   'the other datasets their training split')
    p.add_argument('--num-scenes', type=int, help='training rooms (val: a quarter, >= 1)')
    p.add_argument('--only', help='comma-separated subset of shapenet55,scanobjectnn,'
                   'modelnet40,shapenetpart,scannet')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=_default_workers())
    p.set_defaults(func=cmd_synthetic)

    p = sub.add_parser('check', help='validate a ShapeNet55-layout root')
    p.add_argument('root')
    p.add_argument('--no-images', action='store_true', help='only check that views exist')
    p.set_defaults(func=cmd_check)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
