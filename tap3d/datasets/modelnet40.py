"""ModelNet40 (Wu et al., CVPR 2015) classification, in both common forms.

``modelnet40_normal_resampled/`` (PointNet++)::

    modelnet40_shape_names.txt            40 class names, one per line
    modelnet40_{train,test}.txt           ids such as airplane_0001
    <class>/<id>.txt                      10000 lines "x,y,z,nx,ny,nz"

``modelnet40_ply_hdf5_2048/`` (PointNet)::

    ply_data_{train,test}{0,1,...}.h5     data (S, 2048, 3), label (S, 1)
    shape_names.txt                       optional; the standard 40 names otherwise
"""
import glob
import os.path as osp
import re
from typing import List, Optional, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from tap3d.registry import DATASETS

from .io import MIN_POINTS, DataFileError, check_point_count, padding_indices
from .scanobjectnn import load_points_labels_h5

__all__ = ['ModelNet40Dataset', 'MODELNET40_CLASSES', 'read_modelnet_txt',
           'read_modelnet_resampled_index']

MODELNET40_CLASSES = (
    'airplane', 'bathtub', 'bed', 'bench', 'bookshelf', 'bottle', 'bowl', 'car', 'chair',
    'cone', 'cup', 'curtain', 'desk', 'door', 'dresser', 'flower_pot', 'glass_box', 'guitar',
    'keyboard', 'lamp', 'laptop', 'mantel', 'monitor', 'night_stand', 'person', 'piano',
    'plant', 'radio', 'range_hood', 'sink', 'sofa', 'stairs', 'stool', 'table', 'tent',
    'toilet', 'tv_stand', 'vase', 'wardrobe', 'xbox')

_TO_ZUP = [2, 0, 1]


def _read_lines(path: str) -> List[str]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: file not found')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def read_modelnet_txt(path: str, num_points: Optional[int] = None) -> np.ndarray:
    """Read one ``<class>/<id>.txt`` of the resampled form.

    Args:
        path: the file, lines ``x,y,z,nx,ny,nz``.
        num_points: keep only the first ``num_points`` lines (the files are
            already in random order); all lines when None.

    Returns:
        (P, 6) float32 points and normals.

    Raises:
        FileNotFoundError, or DataFileError naming the file and the first bad line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: ModelNet40 point file not found')
    if osp.getsize(path) == 0:
        raise DataFileError(f'{path}: holds no points')
    try:  # fast path; the line-by-line parse below explains any failure
        arr = np.loadtxt(path, delimiter=',', dtype=np.float32, max_rows=num_points, ndmin=2)
        if arr.shape[1] == 6 and len(arr) and np.isfinite(arr).all():
            return arr
    except ValueError:
        pass
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            parts = line.split(',')
            if len(parts) != 6:
                raise DataFileError(f'{path}: line {lineno} has {len(parts)} comma-separated '
                                    f'values, expected 6 (x,y,z,nx,ny,nz): {line[:60]!r}')
            try:
                rows.append([float(v) for v in parts])
            except ValueError:
                raise DataFileError(f'{path}: line {lineno} is not numeric: {line[:60]!r}')
            if num_points is not None and len(rows) >= num_points:
                break
    if not rows:
        raise DataFileError(f'{path}: holds no points')
    arr = np.asarray(rows, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise DataFileError(f'{path}: holds NaN or inf values')
    return arr


def read_modelnet_resampled_index(root: str, split: str) -> Tuple[Tuple[str, ...], list]:
    """Class names and ``(file, label, id)`` of every shape of a split.

    Args:
        root: the ``modelnet40_normal_resampled`` folder.
        split: ``'train'`` or ``'test'``.
    """
    names = tuple(_read_lines(osp.join(root, 'modelnet40_shape_names.txt')))
    index = {n: i for i, n in enumerate(names)}
    split_file = osp.join(root, f'modelnet40_{split}.txt')
    items = []
    for shape_id in _read_lines(split_file):
        # ids look like "night_stand_0001": the class is everything before the last "_".
        cls = shape_id.rsplit('_', 1)[0]
        if cls not in index:
            raise DataFileError(f'{split_file}: id {shape_id!r} names class {cls!r}, which is '
                                'not in modelnet40_shape_names.txt')
        items.append((osp.join(root, cls, shape_id + '.txt'), index[cls], shape_id))
    if not items:
        raise DataFileError(f'{split_file}: lists no shapes')
    return names, items


@DATASETS.register_module()
class ModelNet40Dataset(BaseDataset):
    """ModelNet40 classification from either on-disk form.

    Each item, before the pipeline: ``points`` (P, 3) float32, ``normals``
    (P, 3) (resampled form with ``use_normals``), ``gt_label`` (int),
    ``sample_idx``, ``file``.

    Args:
        data_root: ``modelnet40_normal_resampled`` or ``modelnet40_ply_hdf5_2048``
            folder (or their parent, when ``form`` is given).
        split: ``'train'`` or ``'test'``.
        form: ``'resampled'``, ``'h5'`` or ``'auto'`` (detected from the files).
        num_points: points per item, in both forms: the first ``num_points``
            points of each cloud (the lines of a resampled file, the 2048 points
            of an h5 cloud), as PointNet++ and PointMLP read them (1024). A cloud
            with fewer is padded with duplicates of random points (seeded by the
            item's index in ``test_mode``), with a warning when more than half of
            the item would be duplicates. None keeps every point.
        use_normals: keep the normals of the resampled form.
        to_zup: permute the y-up file axes ``(x, y, z) <- (z, x, y)``.
        min_points: clouds with fewer points (or fewer than ``num_points``, when
            that is smaller), or whose points all coincide, are refused
            (:func:`~tap3d.datasets.io.check_point_count`).
        pipeline, test_mode, ...: as in :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=MODELNET40_CLASSES)

    def __init__(self,
                 data_root: str = 'data/modelnet40_normal_resampled',
                 split: str = 'train',
                 form: str = 'auto',
                 num_points: Optional[int] = 1024,
                 use_normals: bool = False,
                 to_zup: bool = True,
                 min_points: int = MIN_POINTS,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"ModelNet40: split must be 'train' or 'test', got {split!r}")
        if num_points is not None and num_points < 1:
            raise ValueError(f'ModelNet40: num_points must be >= 1 or None, got {num_points}')
        self.split = split
        self.num_points = num_points
        # asking for fewer points than min_points accepts clouds that small
        self.min_points = min_points if num_points is None else min(min_points, num_points)
        self.use_normals = use_normals
        self.to_zup = to_zup
        self.form, self.form_root = self._resolve_form(data_root, form)
        self._points = None
        metainfo = kwargs.pop('metainfo', None)
        if metainfo is None and self.form == 'resampled':
            # The shape-names file is the authority for the label order.
            names = _read_lines(osp.join(self.form_root, 'modelnet40_shape_names.txt'))
            metainfo = dict(classes=tuple(names))
        elif metainfo is None and osp.isfile(osp.join(self.form_root, 'shape_names.txt')):
            metainfo = dict(classes=tuple(_read_lines(osp.join(self.form_root,
                                                               'shape_names.txt'))))
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    @staticmethod
    def _resolve_form(root: str, form: str) -> Tuple[str, str]:
        candidates = {
            'resampled': [root, osp.join(root, 'modelnet40_normal_resampled')],
            'h5': [root, osp.join(root, 'modelnet40_ply_hdf5_2048')],
        }
        probes = {
            'resampled': lambda d: osp.isfile(osp.join(d, 'modelnet40_shape_names.txt')),
            'h5': lambda d: bool(glob.glob(osp.join(d, 'ply_data_*.h5'))),
        }
        forms = ('resampled', 'h5') if form == 'auto' else (form, )
        if form not in ('auto', 'resampled', 'h5'):
            raise ValueError(f"ModelNet40: form must be 'auto', 'resampled' or 'h5', got {form!r}")
        for f in forms:
            for d in candidates[f]:
                if probes[f](d):
                    return f, d
        raise FileNotFoundError(
            f'{root}: no ModelNet40 data found (looked for modelnet40_shape_names.txt or '
            'ply_data_*.h5); see data/README.md or run tools/create_data.py synthetic')

    def load_data_list(self) -> List[dict]:
        if self.form == 'resampled':
            _, items = read_modelnet_resampled_index(self.form_root, self.split)
            return [dict(sample_idx=i, gt_label=label, file=path, shape_id=sid)
                    for i, (path, label, sid) in enumerate(items)]
        files = sorted(glob.glob(osp.join(self.form_root, f'ply_data_{self.split}*.h5')),
                       key=lambda p: int(re.findall(r'(\d+)\.h5$', p)[0])
                       if re.findall(r'(\d+)\.h5$', p) else 0)
        if not files:
            raise FileNotFoundError(f'{self.form_root}: no ply_data_{self.split}*.h5 files')
        points, data_list = [], []
        num_classes = len(self.metainfo['classes'])
        for path in files:
            pts, lab = load_points_labels_h5(path, min_points=self.min_points)
            if lab.min() < 0 or lab.max() >= num_classes:
                raise DataFileError(f'{path}: labels must lie in [0, {num_classes}), found '
                                    f'[{lab.min()}, {lab.max()}]')
            for label in lab:
                data_list.append(dict(sample_idx=len(data_list), gt_label=int(label), file=path))
            points.append(pts)
        points = np.concatenate(points)
        if self.to_zup:
            points = points[..., _TO_ZUP]
        self._points = np.ascontiguousarray(points)
        return data_list

    def _take(self, arr: np.ndarray, path: str, idx: int) -> np.ndarray:
        """The first ``num_points`` rows of ``arr`` (P, C), padded when P is smaller."""
        if self.num_points is None or len(arr) == self.num_points:
            return arr
        if len(arr) > self.num_points:
            return arr[:self.num_points]
        rng = np.random.default_rng(idx) if self.test_mode else np.random
        extra = padding_indices(len(arr), self.num_points, path, rng)
        return np.concatenate([arr, arr[extra]])

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        if self.form == 'h5':
            # the h5 clouds were checked on load (load_points_labels_h5)
            points = self._take(self._points[info['sample_idx']], info['file'], idx)
            info['coord'] = points.copy()  # never a view: pipelines may work in place
            return info
        arr = check_point_count(read_modelnet_txt(info['file'], self.num_points), info['file'],
                                min_points=self.min_points)
        arr = self._take(arr, info['file'], idx)
        points, normals = arr[:, :3], arr[:, 3:6]
        if self.to_zup:
            points, normals = points[:, _TO_ZUP], normals[:, _TO_ZUP]
        info['coord'] = np.ascontiguousarray(points)
        if self.use_normals:
            info['normal'] = np.ascontiguousarray(normals)
        return info
