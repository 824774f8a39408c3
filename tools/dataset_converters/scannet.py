"""Convert raw ScanNetV2 scans into tap3d's two ScanNet layouts.

Input: the ScanNet release, one folder per scan::

    scans/sceneXXXX_XX/sceneXXXX_XX_vh_clean_2.ply                  mesh, vertex xyz+rgb(a)
    scans/sceneXXXX_XX/sceneXXXX_XX.aggregation.json                segGroups (objectId, label,
                                                                    segments)
    scans/sceneXXXX_XX/sceneXXXX_XX_vh_clean_2.0.010000.segs.json   segIndices, one per vertex
    scans/sceneXXXX_XX/sceneXXXX_XX.txt                             "axisAlignment = 16 numbers"
    scannetv2-labels.combined.tsv                                   raw_category -> nyu40id

Output under ``--out-dir`` (see docs/scannet.md):

- detection (3DETR / VoteNet): ``scannet_train_detection_data/<scene>_{vert,bbox,ins_label,
  sem_label}.npy``, axis-aligned with the scan's ``axisAlignment``; boxes are the
  axis-aligned extents of each instance of the 18 detection classes;
- segmentation (Pointcept): ``{train,val,test}/<scene>/{coord,color,normal,segment20,
  instance}.npy``, in the scan's own frame as Pointcept stores it (``--align-seg`` to
  axis-align it too); normals are area-weighted vertex normals of the mesh;
- ``meta_data/scannetv2_{split}.txt``.

Usage::

    python tools/dataset_converters/scannet.py --scans-dir data/scannet_raw/scans \\
        --label-map data/scannet_raw/scannetv2-labels.combined.tsv \\
        --train-list scannetv2_train.txt --val-list scannetv2_val.txt --out-dir data/scannet

Without lists every scan under ``--scans-dir`` goes to ``train``. Test scans
(``--scans-test-dir`` with ``--test-list``) have no labels and are written to the
segmentation layout only. Scenes whose outputs all exist are skipped.
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

try:
    import tap3d  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from tap3d.datasets.io import DataFileError, atomic_path, write_text  # noqa: E402
from tap3d.datasets.scannet_constants import DET_NYU40_IDS, nyu40_to_seg20  # noqa: E402

DET_DIR = 'scannet_train_detection_data'
DET_SUFFIXES = ('vert', 'bbox', 'ins_label', 'sem_label')
SEG_FILES = ('coord', 'color', 'normal', 'segment20', 'instance')
SEG_FILES_TEST = ('coord', 'color', 'normal')

__all__ = [
    'read_label_map', 'read_axis_alignment', 'read_mesh', 'vertex_normals', 'read_segments',
    'read_aggregation', 'load_scan', 'instance_boxes', 'convert_scene', 'main'
]


def read_label_map(path: str, label_from: str = 'raw_category',
                   label_to: str = 'nyu40id') -> Dict[str, int]:
    """Read ``scannetv2-labels.combined.tsv``: ``{raw_category: nyu40id}``."""
    if not osp.isfile(path):
        raise DataFileError(f'{path}: label map not found (scannetv2-labels.combined.tsv is '
                            'part of the ScanNet release)')
    mapping = {}
    with open(path, newline='') as f:
        reader = csv.DictReader(f, delimiter='\t')
        if reader.fieldnames is None or label_from not in reader.fieldnames \
                or label_to not in reader.fieldnames:
            raise DataFileError(f'{path}: needs columns {label_from!r} and {label_to!r}, '
                                f'has {reader.fieldnames}')
        for row in reader:
            value = row[label_to].strip()
            if value:
                mapping[row[label_from]] = int(value)
    return mapping


def read_axis_alignment(path: str) -> np.ndarray:
    """The (4, 4) ``axisAlignment`` matrix of a scan's ``.txt``; identity if absent."""
    if not osp.isfile(path):
        return np.eye(4)
    with open(path) as f:
        for line in f:
            if line.strip().startswith('axisAlignment'):
                numbers = line.split('=', 1)[1].split()
                if len(numbers) != 16:
                    raise DataFileError(f'{path}: axisAlignment needs 16 numbers, '
                                        f'got {len(numbers)}')
                return np.array([float(x) for x in numbers]).reshape(4, 4)
    return np.eye(4)


def read_mesh(path: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a ScanNet ``_vh_clean_2.ply`` mesh.

    Returns:
        vertices (N, 3) float64, colors (N, 3) uint8, faces (F, 3) int64.
    """
    try:
        import trimesh
    except ImportError as err:  # pragma: no cover - trimesh is a project dependency
        raise ImportError('converting ScanNet meshes needs trimesh: pip install trimesh') from err
    if not osp.isfile(path):
        raise DataFileError(f'{path}: mesh not found')
    try:
        mesh = trimesh.load(path, process=False, force='mesh')
    except Exception as err:
        raise DataFileError(f'{path}: cannot read the mesh ({err})') from err
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    if len(vertices) == 0:
        raise DataFileError(f'{path}: the mesh has no vertices')
    if len(faces) == 0:
        raise DataFileError(f'{path}: the mesh has no faces, so normals cannot be computed')
    colors = getattr(mesh.visual, 'vertex_colors', None)
    if colors is None or len(colors) != len(vertices):
        raise DataFileError(f'{path}: the mesh has no per-vertex colours')
    return vertices, np.asarray(colors)[:, :3].astype(np.uint8), faces


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals.

    Args:
        vertices: (N, 3); faces: (F, 3) vertex indices.

    Returns:
        (N, 3) unit normals (zero for vertices on no face).
    """
    face_n = np.cross(vertices[faces[:, 1]] - vertices[faces[:, 0]],
                      vertices[faces[:, 2]] - vertices[faces[:, 0]])  # length = 2 * area
    normals = np.zeros_like(vertices, dtype=np.float64)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, 1e-12)


def read_segments(path: str, num_vertices: int) -> np.ndarray:
    """``segIndices`` of a ``.segs.json``: (N,) int64, one over-segment per vertex."""
    if not osp.isfile(path):
        raise DataFileError(f'{path}: segments file not found')
    with open(path) as f:
        seg = np.asarray(json.load(f).get('segIndices', []), dtype=np.int64)
    if len(seg) != num_vertices:
        raise DataFileError(f'{path}: {len(seg)} segIndices but the mesh has {num_vertices} '
                            'vertices')
    return seg


def read_aggregation(path: str) -> List[Tuple[int, str, List[int]]]:
    """``segGroups`` of an ``.aggregation.json``: list of (objectId, label, segments)."""
    if not osp.isfile(path):
        raise DataFileError(f'{path}: aggregation file not found')
    with open(path) as f:
        groups = json.load(f).get('segGroups')
    if groups is None:
        raise DataFileError(f'{path}: no segGroups')
    return [(int(g['objectId']), str(g['label']), list(g['segments'])) for g in groups]


def load_scan(scene_dir: str, label_map: Optional[Dict[str, int]], scene_id: Optional[str] = None,
              with_labels: bool = True) -> dict:
    """Read one raw scan.

    Returns:
        dict with ``xyz (N,3)`` in the scan's frame, ``color (N,3) uint8``,
        ``normal (N,3)``, ``align (4,4)`` and, with labels, ``nyu40 (N,)`` (0 =
        unannotated) and ``object_id (N,)`` (−1 = none).
    """
    scene_id = scene_id or osp.basename(osp.normpath(scene_dir))
    stem = osp.join(scene_dir, scene_id)
    xyz, color, faces = read_mesh(f'{stem}_vh_clean_2.ply')
    out = dict(xyz=xyz, color=color, normal=vertex_normals(xyz, faces),
               align=read_axis_alignment(f'{stem}.txt'))
    if with_labels:
        seg = read_segments(f'{stem}_vh_clean_2.0.010000.segs.json', len(xyz))
        nyu40 = np.zeros(len(xyz), dtype=np.int64)
        object_id = np.full(len(xyz), -1, dtype=np.int64)
        for obj, label, segments in read_aggregation(f'{stem}.aggregation.json'):
            mask = np.isin(seg, segments)
            nyu40[mask] = label_map.get(label, 0)
            object_id[mask] = obj
        out.update(nyu40=nyu40, object_id=object_id)
    return out


def apply_alignment(xyz: np.ndarray, align: np.ndarray) -> np.ndarray:
    """(N, 3) points moved by a (4, 4) homogeneous transform."""
    return xyz @ align[:3, :3].T + align[:3, 3]


def instance_boxes(xyz: np.ndarray, nyu40: np.ndarray, object_id: np.ndarray,
                   keep_ids: Sequence[int] = DET_NYU40_IDS) -> np.ndarray:
    """Axis-aligned box of every instance whose class is in ``keep_ids``.

    Args:
        xyz: (N, 3) points (already axis-aligned).
        nyu40: (N,) NYU40 id per point.
        object_id: (N,) instance per point, −1 = none.

    Returns:
        (K, 7) float32 ``cx cy cz dx dy dz nyu40id``, in increasing object id.
    """
    boxes = []
    for obj in np.unique(object_id[object_id >= 0]):
        mask = object_id == obj
        label = int(np.bincount(nyu40[mask]).argmax())  # one label per object in ScanNet
        if label not in keep_ids:
            continue
        lo, hi = xyz[mask].min(0), xyz[mask].max(0)
        boxes.append(np.concatenate([(lo + hi) / 2, hi - lo, [label]]))
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 7)


def _save(path: str, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, array)


def output_paths(out_dir: str, split: str, scene_id: str) -> List[str]:
    """Every file :func:`convert_scene` writes for one scene."""
    if split == 'test':
        return [osp.join(out_dir, split, scene_id, f'{n}.npy') for n in SEG_FILES_TEST]
    return ([osp.join(out_dir, DET_DIR, f'{scene_id}_{s}.npy') for s in DET_SUFFIXES] +
            [osp.join(out_dir, split, scene_id, f'{n}.npy') for n in SEG_FILES])


def convert_scene(scene_dir: str, out_dir: str, split: str,
                  label_map: Optional[Dict[str, int]] = None, align_seg: bool = False,
                  overwrite: bool = False) -> str:
    """Convert one scan into both layouts (segmentation only for ``split='test'``).

    Returns:
        ``'done'`` or ``'skipped'`` (all outputs existed).
    """
    scene_id = osp.basename(osp.normpath(scene_dir))
    if not overwrite and all(osp.isfile(p) for p in output_paths(out_dir, split, scene_id)):
        return 'skipped'
    labelled = split != 'test'
    if labelled and label_map is None:
        raise ValueError('convert_scene: a labelled split needs the label map')
    scan = load_scan(scene_dir, label_map, scene_id, with_labels=labelled)
    aligned = apply_alignment(scan['xyz'], scan['align'])

    seg_dir = osp.join(out_dir, split, scene_id)
    os.makedirs(seg_dir, exist_ok=True)
    coord, normal = scan['xyz'], scan['normal']
    if align_seg:
        coord, normal = aligned, normal @ scan['align'][:3, :3].T
    seg = dict(coord=coord.astype(np.float32), color=scan['color'],
               normal=normal.astype(np.float32))
    if labelled:
        seg.update(segment20=nyu40_to_seg20(scan['nyu40']), instance=scan['object_id'])
    for name, array in seg.items():
        _save(osp.join(seg_dir, f'{name}.npy'), array)
    if not labelled:
        return 'done'

    det_dir = osp.join(out_dir, DET_DIR)
    os.makedirs(det_dir, exist_ok=True)
    det = dict(
        vert=np.concatenate([aligned, scan['color'].astype(np.float64)], 1).astype(np.float32),
        bbox=instance_boxes(aligned, scan['nyu40'], scan['object_id']),
        ins_label=(scan['object_id'] + 1).astype(np.int32),
        sem_label=scan['nyu40'].astype(np.int32))
    for suffix in DET_SUFFIXES:
        _save(osp.join(det_dir, f'{scene_id}_{suffix}.npy'), det[suffix])
    return 'done'


def _read_list(path: str) -> List[str]:
    if not osp.isfile(path):
        raise DataFileError(f'{path}: scene list not found')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def _convert_one(job) -> Tuple[str, str]:
    scene_dir, out_dir, split, label_map, align_seg, overwrite = job
    return osp.basename(scene_dir), convert_scene(scene_dir, out_dir, split, label_map,
                                                  align_seg, overwrite)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert raw ScanNetV2 scans to tap3d layouts')
    parser.add_argument('--scans-dir', required=True, help='folder of sceneXXXX_XX folders')
    parser.add_argument('--scans-test-dir', help='folder of the unlabelled test scans')
    parser.add_argument('--label-map', required=True, help='scannetv2-labels.combined.tsv')
    parser.add_argument('--out-dir', default='data/scannet')
    parser.add_argument('--train-list', help='scene ids of the train split, one a line')
    parser.add_argument('--val-list', help='scene ids of the val split')
    parser.add_argument('--test-list', help='scene ids of the test split (in --scans-test-dir)')
    parser.add_argument('--align-seg', action='store_true',
                        help='axis-align the segmentation layout too (Pointcept does not)')
    parser.add_argument('--overwrite', action='store_true', help='rewrite converted scenes')
    parser.add_argument('--workers', type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, List[str]]:
    """Run the conversion; returns ``{split: [scene ids]}``."""
    args = parse_args(argv)
    if not osp.isdir(args.scans_dir):
        raise DataFileError(f'{args.scans_dir}: scans folder not found')
    label_map = read_label_map(args.label_map)
    splits: Dict[str, Tuple[str, List[str]]] = {}
    if args.train_list or args.val_list:
        for split, lst in (('train', args.train_list), ('val', args.val_list)):
            if lst:
                splits[split] = (args.scans_dir, _read_list(lst))
    else:
        splits['train'] = (args.scans_dir, sorted(
            d for d in os.listdir(args.scans_dir)
            if d.startswith('scene') and osp.isdir(osp.join(args.scans_dir, d))))
    if args.test_list:
        if not args.scans_test_dir:
            raise ValueError('--test-list needs --scans-test-dir')
        splits['test'] = (args.scans_test_dir, _read_list(args.test_list))

    jobs = []
    for split, (root, ids) in splits.items():
        for scene_id in ids:
            scene_dir = osp.join(root, scene_id)
            if not osp.isdir(scene_dir):
                raise DataFileError(f'{scene_dir}: scan folder not found (listed for split '
                                    f'{split!r})')
            jobs.append((scene_dir, args.out_dir, split, label_map, args.align_seg,
                         args.overwrite))
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(_convert_one, jobs))
    else:
        results = [_convert_one(job) for job in jobs]
    for (scene_id, status), job in zip(results, jobs):
        print(f'{job[2]:5s} {scene_id}: {status}')
    for split, (_, ids) in splits.items():
        write_text(osp.join(args.out_dir, 'meta_data', f'scannetv2_{split}.txt'),
                   ''.join(f'{s}\n' for s in ids))
    return {split: ids for split, (_, ids) in splits.items()}


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
