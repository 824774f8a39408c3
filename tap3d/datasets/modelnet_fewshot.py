"""ModelNet40 few-shot folds (Point-BERT protocol).

Layout::

    ROOT/{way}way_{shot}shot/{fold}.pkl     fold in 0..9

Each pickle is ``{'train': [(points (8192, 6), label, original_label), ...],
'test': [...]}`` with ``label`` in ``0..way-1`` and ``test`` holding 20 queries
per class. ``tools/misc/make_fewshot_folds.py`` writes such folds from a
ModelNet40 root.
"""
import os.path as osp
import pickle
from typing import List

import numpy as np
from mmengine.dataset import BaseDataset

from tap3d.registry import DATASETS

from .io import MIN_POINTS, DataFileError, check_point_count
from .modelnet40 import MODELNET40_CLASSES

__all__ = ['ModelNetFewShotDataset', 'fewshot_fold_path', 'load_fewshot_fold']

_TO_ZUP = [2, 0, 1]


def fewshot_fold_path(data_root: str, way: int, shot: int, fold: int) -> str:
    """``ROOT/{way}way_{shot}shot/{fold}.pkl``."""
    return osp.join(data_root, f'{way}way_{shot}shot', f'{fold}.pkl')


# The only globals a fold pickle needs: numpy's array and scalar reconstructors (under
# their numpy >= 2 and 1.x module names). Anything else could run code on load.
_FOLD_GLOBALS = {(mod, name) for mod in ('numpy._core.multiarray', 'numpy.core.multiarray')
                 for name in ('_reconstruct', 'scalar')} | {('numpy', 'ndarray'),
                                                           ('numpy', 'dtype')}


class _FoldUnpickler(pickle.Unpickler):
    """An unpickler that builds containers, numbers and numpy arrays, nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) in _FOLD_GLOBALS:
            return super().find_class(module, name)
        if module == 'numpy.dtypes' and name.endswith('DType'):  # numpy >= 1.25 dtypes
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'refused to unpickle {module}.{name}: a few-shot fold holds only arrays, '
            'numbers and containers, and anything else could run code')


def load_fewshot_fold(path: str, min_points: int = MIN_POINTS) -> dict:
    """Read and validate one fold pickle.

    Args:
        path: the fold's ``.pkl``.
        min_points: clouds with fewer points, or whose points all coincide, are
            refused (:func:`~tap3d.datasets.io.check_point_count`).

    Returns:
        ``{'train': [...], 'test': [...]}``, each item ``(points (P, C>=3) float32,
        label int, original_label int)``.

    Raises:
        FileNotFoundError, or DataFileError naming the file and the problem. A
        pickle that names any global other than numpy's array reconstructors is
        refused before anything in it runs.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: few-shot fold not found; generate folds with '
                                'tools/misc/make_fewshot_folds.py')
    try:
        with open(path, 'rb') as f:
            fold = _FoldUnpickler(f).load()
    except Exception as err:  # any unpickling failure means a corrupt (or unsafe) file
        raise DataFileError(f'{path}: cannot unpickle few-shot fold ({err})') from err
    if not isinstance(fold, dict) or not {'train', 'test'} <= set(fold):
        keys = sorted(fold) if isinstance(fold, dict) else type(fold).__name__
        raise DataFileError(f"{path}: expected a dict with 'train' and 'test', got {keys}")
    out = {}
    for split in ('train', 'test'):
        items = []
        for i, item in enumerate(fold[split]):
            if not isinstance(item, (tuple, list)) or len(item) != 3:
                raise DataFileError(f'{path}: {split}[{i}] must be (points, label, '
                                    'original_label)')
            points = np.asarray(item[0], dtype=np.float32)
            if points.ndim != 2 or points.shape[1] < 3:
                raise DataFileError(f'{path}: {split}[{i}] points have shape {points.shape}, '
                                    'expected (P, 6)')
            if not np.isfinite(points).all():
                raise DataFileError(f'{path}: {split}[{i}] points hold NaN or inf values')
            check_point_count(points, path, min_points=min_points, what=f'{split}[{i}]')
            items.append((points, int(np.asarray(item[1]).reshape(-1)[0]),
                          int(np.asarray(item[2]).reshape(-1)[0])))
        out[split] = items
    return out


@DATASETS.register_module()
class ModelNetFewShotDataset(BaseDataset):
    """One split of one few-shot fold.

    Each item, before the pipeline: ``points`` (P, 3) float32, ``normals`` (P, 3)
    (with ``use_normals``), ``gt_label`` (0..way-1), ``original_label``,
    ``sample_idx``, ``file``. Class names are those of the fold's ModelNet40 labels.

    Args:
        data_root: the ``ModelNetFewshot`` root.
        way, shot, fold: which fold (``fold`` in 0..9).
        split: ``'train'`` (way x shot supports) or ``'test'`` (20 queries per class).
        use_normals: keep columns 3..5.
        to_zup: permute the y-up ModelNet axes ``(x, y, z) <- (z, x, y)``.
        min_points: see :func:`load_fewshot_fold`.
        pipeline, test_mode, ...: as in :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str = 'data/ModelNetFewshot',
                 way: int = 5,
                 shot: int = 10,
                 fold: int = 0,
                 split: str = 'train',
                 use_normals: bool = False,
                 to_zup: bool = True,
                 min_points: int = MIN_POINTS,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"ModelNetFewShot: split must be 'train' or 'test', got {split!r}")
        self.way, self.shot, self.fold, self.split = way, shot, fold, split
        self.use_normals = use_normals
        self.to_zup = to_zup
        self.path = fewshot_fold_path(data_root, way, shot, fold)
        self._items = load_fewshot_fold(self.path, min_points)[split]
        labels = {}
        for points, label, original in self._items:
            if not 0 <= label < way:
                raise DataFileError(f'{self.path}: {split} label {label} outside 0..{way - 1}')
            labels.setdefault(label, original)
        metainfo = kwargs.pop('metainfo', None)
        if metainfo is None:
            names = []
            for k in range(way):
                orig = labels.get(k)
                names.append(MODELNET40_CLASSES[orig] if orig is not None
                             and 0 <= orig < len(MODELNET40_CLASSES) else f'class_{k}')
            metainfo = dict(classes=tuple(names))
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(sample_idx=i, gt_label=label, original_label=original, file=self.path)
                for i, (_, label, original) in enumerate(self._items)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        arr = self._items[info['sample_idx']][0]
        points = arr[:, :3]
        normals = arr[:, 3:6] if arr.shape[1] >= 6 else None
        if self.to_zup:
            points = points[:, _TO_ZUP]
            normals = normals[:, _TO_ZUP] if normals is not None else None
        info['coord'] = np.ascontiguousarray(points)
        if self.use_normals:
            if normals is None:
                raise DataFileError(f'{self.path}: use_normals=True but points have '
                                    f'{arr.shape[1]} columns')
            info['normal'] = np.ascontiguousarray(normals)
        return info
