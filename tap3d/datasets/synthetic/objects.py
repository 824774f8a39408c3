"""Writers of the synthetic object world, in the exact layouts of the real data.

Under a root (default ``data/synthetic``)::

    ShapeNet55/pointclouds{,_p2048}/{train,val,test}/model_XXXXXX.ply   y-up, like the authors'
    ShapeNet55/shapenet55v1/{train,val,test}/model_XXXXXX_{001..012}.jpg
    ScanObjectNN/main_split{,_nobg}/{training,test}_objectdataset{,_augmentedrot_scale75}.h5
    ModelNet40/modelnet40_normal_resampled/...  and  ModelNet40/modelnet40_ply_hdf5_2048/...
    ShapeNetPart/shapenetcore_partanno_segmentation_benchmark_v0_normal/...

Shapes come from :mod:`tap3d.datasets.synthetic.shapes` (z-up). Files of the
real datasets are y-up, so every writer stores ``points[:, ZUP_TO_YUP]``, the
inverse of the ShapeNet55 loader's permutation ``(x, y, z) <- (z, x, y)``:
a reader that applies that permutation gets the z-up shape back.

Every item derives its randomness from ``(seed, dataset, index)`` alone, so a
run gives the same files with any number of workers, and a resumed run
continues where an interrupted one stopped (complete files are skipped; the
writers of :mod:`tap3d.datasets.io` never leave half files).
"""
import json
import os
import os.path as osp
from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np

from ..io import write_h5, write_image, write_ply_points, write_text, write_txt_array
from .shapes import (
    CATEGORIES,
    MODELNET40_CLASSES,
    PART_CATEGORIES,
    SHAPENETPART_SYNSETS,
    make_modelnet40_shape,
    make_part_shape,
    make_shape,
    sample_surface,
)

__all__ = [
    'ZUP_TO_YUP', 'item_rng', 'parallel_map', 'write_shapenet55_shape',
    'shapenet55_shape_done', 'write_synthetic_shapenet55', 'write_synthetic_scanobjectnn',
    'write_synthetic_modelnet40', 'write_synthetic_shapenetpart', 'write_synthetic_objects',
    'SPLIT_SIZES'
]

#: Column order that turns tap3d's z-up points into the y-up files of the
#: real datasets (the inverse of ``SHAPENET_TO_ZUP = (2, 0, 1)``).
ZUP_TO_YUP = (1, 2, 0)

_TAGS = {'shapenet55': 1, 'scanobjectnn': 2, 'modelnet40': 3, 'shapenetpart': 4}

#: Objects per class of each dataset: (default, --tiny).
SPLIT_SIZES = {
    # rendering dominates (about 1 s of CPU per shape): tiny keeps 2 categories
    'shapenet55': dict(default=dict(num_per_class=16),
                       tiny=dict(num_per_class=2, categories=('sphere', 'chair'))),
    'scanobjectnn': dict(default=dict(num_train=30, num_test=8, pb_variants=2),
                         tiny=dict(num_train=2, num_test=1, pb_variants=1)),
    'modelnet40': dict(default=dict(num_train=8, num_test=3, txt_points=10000),
                       tiny=dict(num_train=1, num_test=1, txt_points=1200)),
    'shapenetpart': dict(default=dict(num_train=12, num_val=2, num_test=4, num_points=2600),
                         tiny=dict(num_train=1, num_val=1, num_test=1, num_points=600)),
}


def item_rng(seed: int, dataset: str, index: int) -> np.random.Generator:
    """The random generator of one item, independent of worker count and order."""
    return np.random.default_rng([int(seed), _TAGS[dataset], int(index)])


def _init_worker() -> None:
    # Several worker processes share few cores: one thread each.
    import torch
    torch.set_num_threads(1)


def parallel_map(fn: Callable, tasks: Sequence, workers: int = 1,
                 desc: Optional[str] = None, progress: bool = True) -> List:
    """Run ``fn`` on every task, over ``workers`` processes, with a progress bar."""
    tasks = list(tasks)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(tasks), desc=desc, unit='item', dynamic_ncols=True)
    results = []
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            results.append(fn(t))
            if bar is not None:
                bar.update()
    else:
        import multiprocessing as mp
        ctx = mp.get_context('spawn')
        with ctx.Pool(workers, initializer=_init_worker) as pool:
            for r in pool.imap_unordered(fn, tasks, chunksize=1):
                results.append(r)
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.close()
    return results


def _normalize(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    return centred / max(np.linalg.norm(centred, axis=1).max(), 1e-12)


def _to_yup(points: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(points[:, list(ZUP_TO_YUP)])


# ----------------------------------------------------------------------------
# ShapeNet55 with rendered views
# ----------------------------------------------------------------------------
def _shapenet55_paths(root: str, split: str, stem: str) -> List[str]:
    from ..shapenet55 import NUM_FIXED_VIEWS, shapenet55_view_path
    paths = [osp.join(root, 'pointclouds', split, stem + '.ply'),
             osp.join(root, 'pointclouds_p2048', split, stem + '.ply')]
    return paths + [shapenet55_view_path(root, split, stem, k) for k in range(NUM_FIXED_VIEWS)]


def shapenet55_shape_done(root: str, split: str, stem: str) -> bool:
    """True when both point clouds and all 12 views of a shape exist."""
    return all(osp.isfile(p) for p in _shapenet55_paths(root, split, stem))


def write_shapenet55_shape(root: str, split: str, stem: str, vertices_zup: np.ndarray,
                           faces: np.ndarray, rng: np.random.Generator,
                           img_size: int = 224, obj_size: int = 200,
                           binary: bool = True) -> None:
    """Write one shape into the ShapeNet55 layout: two .ply files and 12 views.

    The points are sampled on the mesh (area-weighted), stored y-up, then read
    back exactly as :class:`~tap3d.datasets.ShapeNet55Dataset` reads them
    (permutation, centring, unit sphere). The mesh gets the same centring and
    scale, and the 12 views are framed on those 1024 points, so the framing
    the model computes at load time is the one the photographs were taken with.
    (The 2048-point file frames slightly differently; the views follow the
    1024-point file, as the authors' data does.)

    Args:
        root: the ShapeNet55 root.
        split: 'train', 'val' or 'test'.
        stem: file stem, e.g. 'model_000042'.
        vertices_zup: (V, 3) mesh vertices, z-up. faces: (F, 3).
        rng: random generator for the point sampling.
    """
    from tap3d.geometry import fixed_view_rotations
    from tap3d.rendering import render_mesh

    from ..shapenet55 import load_shapenet55_points
    vertices_zup = np.asarray(vertices_zup, dtype=np.float64)
    paths = _shapenet55_paths(root, split, stem)
    for path, num in ((paths[0], 1024), (paths[1], 2048)):
        points, _, _ = sample_surface(vertices_zup, faces, num, rng)
        write_ply_points(path, _to_yup(points), binary=binary)
    # exactly the loader's points: float32 round trip, permutation, normalisation
    framing = load_shapenet55_points(paths[0])
    raw = load_shapenet55_points(paths[0], normalize=False).astype(np.float64)
    centroid = raw.mean(axis=0)
    scale = np.linalg.norm(raw - centroid, axis=1).max()
    mesh = (vertices_zup - centroid) / scale
    views = render_mesh(mesh.astype(np.float32), np.asarray(faces), fixed_view_rotations(12),
                        framing, img_size=img_size, obj_size=obj_size)
    views = views.cpu().numpy() if hasattr(views, 'cpu') else np.asarray(views)
    for path, image in zip(paths[2:], views):
        write_image(path, image)


def _shapenet55_split(i: int, n: int) -> str:
    # about 70 / 10 / 20 per class, and at least one test shape
    n_test = max(1, int(round(0.2 * n)))
    n_val = int(round(0.1 * n)) if n >= 5 else 0
    if i < n - n_test - n_val:
        return 'train'
    return 'val' if i < n - n_test else 'test'


def _shapenet55_task(task) -> str:
    root, split, stem, category, seed, index = task
    if shapenet55_shape_done(root, split, stem):
        return 'skipped'
    rng = item_rng(seed, 'shapenet55', index)
    mesh = make_shape(category, rng)
    write_shapenet55_shape(root, split, stem, mesh.vertices, mesh.faces, rng)
    return 'written'


def write_synthetic_shapenet55(root: str, num_per_class: int = 16, seed: int = 0,
                               workers: int = 1, progress: bool = True,
                               categories: Sequence[str] = CATEGORIES) -> dict:
    """Write procedural shapes with rendered views into ``root`` (ShapeNet55 layout).

    Also writes ``synthetic_labels.txt`` (``stem split category`` per line),
    which the real data does not have; it is for inspection only.

    Returns:
        counts per split, e.g. ``{'train': 210, 'val': 30, 'test': 60}``.
    """
    tasks, lines = [], []
    for c, cat in enumerate(categories):
        for i in range(num_per_class):
            index = c * num_per_class + i
            split, stem = _shapenet55_split(i, num_per_class), f'model_{index:06d}'
            tasks.append((root, split, stem, cat, seed, index))
            lines.append(f'{stem} {split} {cat}')
    for sub in ('pointclouds', 'pointclouds_p2048', 'shapenet55v1'):
        for split in ('train', 'val', 'test'):
            os.makedirs(osp.join(root, sub, split), exist_ok=True)
    parallel_map(_shapenet55_task, tasks, workers, 'ShapeNet55 (views)', progress)
    write_text(osp.join(root, 'synthetic_labels.txt'), '\n'.join(lines) + '\n')
    counts = {}
    for t in tasks:
        counts[t[1]] = counts.get(t[1], 0) + 1
    return counts


# ----------------------------------------------------------------------------
# ScanObjectNN
# ----------------------------------------------------------------------------
def _background(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, num: int) -> np.ndarray:
    """Clutter around an object with z-up bounds [lo, hi]: floor, wall and boxes."""
    size = hi - lo
    centre = (lo + hi) / 2
    half = size[:2].max() * 0.75
    n_floor = num // 2
    n_wall = num // 4
    n_box = num - n_floor - n_wall
    floor = np.c_[rng.uniform(-half, half, (n_floor, 2)) + centre[:2],
                  lo[2] + rng.normal(0, .005, n_floor)]
    wall = np.c_[rng.uniform(-half, half, n_wall) + centre[0],
                 np.full(n_wall, centre[1] + half) + rng.normal(0, .005, n_wall),
                 rng.uniform(lo[2], hi[2], n_wall)]
    # a neighbouring box, cut by the crop
    bx = centre[:2] + rng.choice([-1, 1], 2) * half * rng.uniform(.7, 1.0, 2)
    ext = size * rng.uniform(.3, .6, 3)
    box_pts = rng.uniform(-.5, .5, (n_box, 3)) * ext
    face = rng.integers(0, 3, n_box)  # push each sample onto a box face
    box_pts[np.arange(n_box), face] = np.sign(box_pts[np.arange(n_box), face]) * ext[face] / 2
    box_pts += np.r_[bx, lo[2] + ext[2] / 2]
    return np.concatenate([floor, wall, box_pts]).astype(np.float32)


def _scanobjectnn_object(seed: int, index: int, category: str, pb_variants: int):
    """All variants of one object: (obj_only, obj_bg, mask_bg, [pb...], [pb_mask...])."""
    rng = item_rng(seed, 'scanobjectnn', index)
    mesh = make_shape(category, rng)
    n = 2048
    obj, _, _ = sample_surface(mesh.vertices, mesh.faces, 4 * n, rng)
    obj = obj.astype(np.float64)
    obj_only = _normalize(obj[rng.choice(len(obj), n, replace=False)])
    lo, hi = obj.min(0), obj.max(0)
    n_bg = int(n * rng.uniform(.2, .35))
    bg = _background(rng, lo, hi, 4 * n_bg)

    def crop(points_obj, points_bg, n_bg_keep):
        o = points_obj[rng.choice(len(points_obj), n - n_bg_keep, replace=False)]
        b = points_bg[rng.choice(len(points_bg), n_bg_keep, replace=False)]
        pts = np.concatenate([o, b])
        mask = np.r_[np.ones(len(o), np.int32), -np.ones(len(b), np.int32)]
        perm = rng.permutation(n)
        return _normalize(pts[perm]), mask[perm]

    obj_bg, mask_bg = crop(obj, bg, n_bg)
    pbs, pb_masks = [], []
    for _ in range(pb_variants):
        # PB_T50_RS: the crop box shifted by up to 50% of the object's size
        # (cutting the object), a rotation about up and a scale.
        shift = rng.uniform(-.5, .5, 2) * (hi - lo)[:2]
        centre = (lo + hi) / 2
        half = (hi - lo) / 2 * 1.1
        inside = np.all(np.abs(obj[:, :2] - centre[:2] - shift) <= half[:2], axis=1)
        kept = obj[inside] if inside.sum() > n // 2 else obj
        n_bg_pb = int(n * rng.uniform(.3, .5))
        pts, mask = crop(kept, bg, n_bg_pb)
        ang = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(ang), np.sin(ang)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        pts = pts @ rot.T * rng.uniform(.75, 1.0)
        pbs.append(pts)
        pb_masks.append(mask)
    return obj_only, obj_bg, mask_bg, pbs, pb_masks


def _scanobjectnn_task(task):
    seed, index, label, category, pb_variants = task
    return (index, label) + _scanobjectnn_object(seed, index, category, pb_variants)


def write_synthetic_scanobjectnn(root: str, num_train: int = 30, num_test: int = 8,
                                 pb_variants: int = 2, seed: int = 0, workers: int = 1,
                                 progress: bool = True) -> dict:
    """Write ScanObjectNN-style h5 files (15 classes = shapes.CATEGORIES).

    Files (``data`` (S, 2048, 3) float32 y-up, ``label`` (S,) uint8, ``mask``
    (S, 2048) int32 with 1 = object point and -1 = background point)::

        main_split_nobg/{training,test}_objectdataset.h5                 OBJ_ONLY
        main_split/{training,test}_objectdataset.h5                      OBJ_BG
        main_split/{training,test}_objectdataset_augmentedrot_scale75.h5 PB_T50_RS

    PB_T50_RS has ``pb_variants`` perturbed copies of every object.

    Returns:
        number of objects per split.
    """
    out = {}
    for split, count, offset in (('training', num_train, 0), ('test', num_test, 10 ** 6)):
        files = [osp.join(root, 'main_split_nobg', f'{split}_objectdataset.h5'),
                 osp.join(root, 'main_split', f'{split}_objectdataset.h5'),
                 osp.join(root, 'main_split', f'{split}_objectdataset_augmentedrot_scale75.h5')]
        out[split] = count * len(CATEGORIES)
        if all(osp.isfile(f) for f in files):
            continue
        tasks = [(seed, offset + c * count + i, c, cat, pb_variants)
                 for c, cat in enumerate(CATEGORIES) for i in range(count)]
        results = sorted(parallel_map(_scanobjectnn_task, tasks, workers,
                                      f'ScanObjectNN {split}', progress), key=lambda r: r[0])
        labels = np.array([r[1] for r in results], dtype=np.uint8)
        yup = lambda arrs: np.stack([_to_yup(a) for a in arrs]).astype(np.float32)  # noqa: E731
        write_h5(files[0], data=yup([r[2] for r in results]), label=labels,
                 mask=np.ones((len(results), 2048), np.int32))
        write_h5(files[1], data=yup([r[3] for r in results]), label=labels,
                 mask=np.stack([r[4] for r in results]))
        write_h5(files[2], data=yup([p for r in results for p in r[5]]),
                 label=np.repeat(labels, pb_variants),
                 mask=np.stack([m for r in results for m in r[6]]))
    return out


# ----------------------------------------------------------------------------
# ModelNet40
# ----------------------------------------------------------------------------
def _modelnet_task(task):
    path, name, seed, index, txt_points = task
    rng = item_rng(seed, 'modelnet40', index)
    mesh = make_modelnet40_shape(name, rng)
    pts, normals, _ = sample_surface(mesh.vertices, mesh.faces, max(txt_points, 2048), rng)
    pts = _normalize(pts.astype(np.float64))
    table = np.c_[_to_yup(pts), _to_yup(normals)]
    if not osp.isfile(path):
        write_txt_array(path, table[:txt_points], fmt='%.6f', delimiter=',')
    # the h5 form holds 2048 of the same points
    return index, table[:2048, :3].astype(np.float32), table[:2048, 3:].astype(np.float32)


def write_synthetic_modelnet40(root: str, num_train: int = 8, num_test: int = 3,
                               txt_points: int = 10000, seed: int = 0, workers: int = 1,
                               progress: bool = True) -> dict:
    """Write both ModelNet40 forms (40 class names, procedural shapes), y-up.

    ``modelnet40_normal_resampled/``: shape names, ``modelnet40_{train,test}.txt``
    ids, ``<class>/<class>_XXXX.txt`` with ``txt_points`` lines ``x,y,z,nx,ny,nz``.
    ``modelnet40_ply_hdf5_2048/ply_data_{train,test}0.h5``: ``data`` (S, 2048, 3)
    float32, ``normal`` (S, 2048, 3), ``label`` (S, 1) uint8, plus
    ``shape_names.txt`` and ``{train,test}_files.txt``.
    """
    txt_root = osp.join(root, 'modelnet40_normal_resampled')
    h5_root = osp.join(root, 'modelnet40_ply_hdf5_2048')
    write_text(osp.join(txt_root, 'modelnet40_shape_names.txt'),
               '\n'.join(MODELNET40_CLASSES) + '\n')
    write_text(osp.join(h5_root, 'shape_names.txt'), '\n'.join(MODELNET40_CLASSES) + '\n')
    out = {}
    for split, count, first in (('train', num_train, 1), ('test', num_test, num_train + 1)):
        tasks, ids = [], []
        for c, name in enumerate(MODELNET40_CLASSES):
            for i in range(count):
                sid = f'{name}_{first + i:04d}'
                ids.append(sid)
                tasks.append((osp.join(txt_root, name, sid + '.txt'), name, seed,
                              c * 10000 + first + i, txt_points))
        h5_path = osp.join(h5_root, f'ply_data_{split}0.h5')
        txt_done = all(osp.isfile(t[0]) for t in tasks)
        if not (txt_done and osp.isfile(h5_path)):
            results = sorted(parallel_map(_modelnet_task, tasks, workers,
                                          f'ModelNet40 {split}', progress), key=lambda r: r[0])
            labels = np.array([r[0] // 10000 for r in results], dtype=np.uint8)[:, None]
            write_h5(h5_path, data=np.stack([r[1] for r in results]),
                     normal=np.stack([r[2] for r in results]), label=labels)
        write_text(osp.join(txt_root, f'modelnet40_{split}.txt'), '\n'.join(ids) + '\n')
        write_text(osp.join(h5_root, f'{split}_files.txt'),
                   f'data/modelnet40_ply_hdf5_2048/ply_data_{split}0.h5\n')
        out[split] = len(ids)
    return out


# ----------------------------------------------------------------------------
# ShapeNetPart
# ----------------------------------------------------------------------------
def _token(rng: np.random.Generator) -> str:
    return ''.join(rng.choice(list('0123456789abcdef'), 32))


def _shapenetpart_task(task):
    base, category, seed, index, num_points = task
    rng = item_rng(seed, 'shapenetpart', index)
    token = _token(rng)
    path = osp.join(base, SHAPENETPART_SYNSETS[category], token + '.txt')
    if not osp.isfile(path):
        mesh, face_parts = make_part_shape(category, rng)
        pts, normals, face = sample_surface(mesh.vertices, mesh.faces, num_points, rng)
        pts = _normalize(pts.astype(np.float64))
        table = np.c_[_to_yup(pts), _to_yup(normals), face_parts[face].astype(np.float64)]
        write_txt_array(path, table, fmt='%.6f', delimiter=' ')
    return f'shape_data/{SHAPENETPART_SYNSETS[category]}/{token}'


def write_synthetic_shapenetpart(root: str, num_train: int = 12, num_val: int = 2,
                                 num_test: int = 4, num_points: int = 2600, seed: int = 0,
                                 workers: int = 1, progress: bool = True) -> dict:
    """Write the ShapeNetPart normal-benchmark layout (16 categories, parts 0..49).

    ``<synset>/<token>.txt`` lines ``x y z nx ny nz part`` (y-up, part as a
    float like the real files), ``synsetoffset2category.txt`` and
    ``train_test_split/shuffled_{train,val,test}_file_list.json``.
    """
    base = osp.join(root, 'shapenetcore_partanno_segmentation_benchmark_v0_normal')
    write_text(osp.join(base, 'synsetoffset2category.txt'),
               ''.join(f'{c.capitalize()}\t{s}\n' for c, s in SHAPENETPART_SYNSETS.items()))
    out = {}
    for split, count, offset in (('train', num_train, 0), ('val', num_val, 1000),
                                 ('test', num_test, 2000)):
        tasks = [(base, cat, seed, c * 10000 + offset + i, num_points)
                 for c, cat in enumerate(PART_CATEGORIES) for i in range(count)]
        names = parallel_map(_shapenetpart_task, tasks, workers,
                             f'ShapeNetPart {split}', progress)
        order = np.random.default_rng([seed, 99, offset]).permutation(len(names))
        json_path = osp.join(base, 'train_test_split', f'shuffled_{split}_file_list.json')
        write_text(json_path, json.dumps([sorted(names)[i] for i in order]))
        out[split] = len(names)
    return out


def write_synthetic_objects(root: str = 'data/synthetic', tiny: bool = False,
                            num_per_class: Optional[int] = None, seed: int = 0,
                            workers: int = 1, progress: bool = True,
                            datasets: Iterable[str] = ('shapenet55', 'scanobjectnn',
                                                       'modelnet40', 'shapenetpart')) -> dict:
    """Write every object-level synthetic dataset under ``root``.

    Args:
        root: output root; datasets go to ``ShapeNet55/``, ``ScanObjectNN/``,
            ``ModelNet40/`` and ``ShapeNetPart/`` below it.
        tiny: the smallest sizes (seconds), for tests.
        num_per_class: overrides the number of training objects per class of
            every dataset (ShapeNet55: objects per class over all splits).
        seed: base seed; the same seed writes the same files.
        workers: processes.
        datasets: which datasets to write.

    Returns:
        ``{dataset: {split: count}}``.
    """
    sizes = {k: dict(v['tiny' if tiny else 'default']) for k, v in SPLIT_SIZES.items()}
    if num_per_class is not None:
        sizes['shapenet55']['num_per_class'] = num_per_class
        for key in ('scanobjectnn', 'modelnet40', 'shapenetpart'):
            sizes[key]['num_train'] = num_per_class
    writers = {
        'shapenet55': (write_synthetic_shapenet55, 'ShapeNet55'),
        'scanobjectnn': (write_synthetic_scanobjectnn, 'ScanObjectNN'),
        'modelnet40': (write_synthetic_modelnet40, 'ModelNet40'),
        'shapenetpart': (write_synthetic_shapenetpart, 'ShapeNetPart'),
    }
    # Starting worker processes costs seconds each; only rendering and the
    # 10000-line text files are slow enough to repay it.
    parallel = {'shapenet55', 'modelnet40'}
    summary = {}
    for name in datasets:
        if name not in writers:
            raise KeyError(f'unknown synthetic dataset {name!r}; known: {sorted(writers)}')
        fn, folder = writers[name]
        summary[name] = fn(osp.join(root, folder), seed=seed,
                           workers=workers if name in parallel else 1,
                           progress=progress, **sizes[name])
    return summary
