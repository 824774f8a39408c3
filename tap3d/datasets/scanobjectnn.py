"""ScanObjectNN (Uy et al., ICCV 2019): 15 classes of scanned objects, h5 files.

Layout (docs: DATA.md)::

    ROOT/main_split/{training,test}_objectdataset.h5                      OBJ_BG
    ROOT/main_split_nobg/{training,test}_objectdataset.h5                 OBJ_ONLY
    ROOT/main_split/{training,test}_objectdataset_augmentedrot_scale75.h5 PB_T50_RS

Each file holds ``data`` (S, 2048, 3) float32 and ``label`` (S,) int; the
official files' ``mask`` is ignored. The official archive nests these folders
under ``h5_files/``; both roots are accepted. There is no validation split:
everyone evaluates on ``test``.
"""
import os.path as osp
from typing import List

import numpy as np
from mmengine.dataset import BaseDataset

from tap3d.registry import DATASETS

from .io import MIN_EXTENT, MIN_POINTS, DataFileError, check_point_count, read_h5

__all__ = ['ScanObjectNNDataset', 'SCANOBJECTNN_CLASSES', 'scanobjectnn_file',
           'load_points_labels_h5']

SCANOBJECTNN_CLASSES = ('bag', 'bin', 'box', 'cabinet', 'chair', 'desk', 'display', 'door',
                        'shelf', 'table', 'bed', 'pillow', 'sink', 'sofa', 'toilet')

_VARIANTS = {
    'obj_bg': ('main_split', ''),
    'obj_only': ('main_split_nobg', ''),
    'pb_t50_rs': ('main_split', '_augmentedrot_scale75'),
}
_SPLITS = {'train': 'training', 'test': 'test'}

# y-up on disk -> tap3d's z-up frame, the permutation used for ShapeNet55 too.
_TO_ZUP = [2, 0, 1]


def scanobjectnn_file(data_root: str, variant: str, split: str) -> str:
    """Path of the h5 file of a variant (``obj_bg``/``obj_only``/``pb_t50_rs``) and split."""
    variant = variant.lower()
    if variant not in _VARIANTS:
        raise ValueError(f'ScanObjectNN: unknown variant {variant!r}; choose from '
                         f'{sorted(_VARIANTS)}')
    if split not in _SPLITS:
        raise ValueError(f"ScanObjectNN: split must be 'train' or 'test', got {split!r}")
    folder, suffix = _VARIANTS[variant]
    root = data_root
    # The official archive unpacks to ROOT/h5_files/main_split/...
    if not osp.isdir(osp.join(root, folder)) and osp.isdir(osp.join(root, 'h5_files', folder)):
        root = osp.join(root, 'h5_files')
    return osp.join(root, folder, f'{_SPLITS[split]}_objectdataset{suffix}.h5')


def load_points_labels_h5(path: str, label_key: str = 'label', min_points: int = MIN_POINTS):
    """Read and validate ``data`` (S, P, 3+) and ``label`` (S,) or (S, 1) from an h5 file.

    Args:
        path: the h5 file.
        label_key: name of the label dataset.
        min_points: fewest points per cloud (P) accepted (see
            :func:`~tap3d.datasets.io.check_point_count`).

    Returns:
        points (S, P, 3) float32 and labels (S,) int64.

    Raises:
        FileNotFoundError / DataFileError naming ``path`` on a missing file, a missing
        key, a wrong shape, no samples, fewer than ``min_points`` points per cloud, a
        count mismatch, non-finite points, a cloud whose points all coincide or
        non-integer labels.
    """
    arrays = read_h5(path, ['data', label_key])
    data, label = np.asarray(arrays['data']), np.asarray(arrays[label_key])
    if data.ndim != 3 or data.shape[-1] < 3:
        raise DataFileError(f"{path}: 'data' must be (S, P, 3), got shape {data.shape}")
    if data.shape[0] == 0:
        raise DataFileError(f"{path}: holds no samples ('data' has shape {data.shape})")
    if label.ndim == 2 and label.shape[1] == 1:
        label = label[:, 0]
    if label.ndim != 1:
        raise DataFileError(f"{path}: '{label_key}' must be (S,) or (S, 1), got shape "
                            f'{label.shape}')
    if len(label) != len(data):
        raise DataFileError(f"{path}: {len(data)} samples in 'data' but {len(label)} labels")
    if not np.isfinite(data).all():
        raise DataFileError(f"{path}: 'data' holds NaN or inf values")
    if label.dtype.kind == 'f':
        if not np.all(label == np.round(label)):
            raise DataFileError(f"{path}: '{label_key}' holds non-integer values")
    elif label.dtype.kind not in 'iu':
        raise DataFileError(f"{path}: '{label_key}' has dtype {label.dtype}, expected integers")
    # the rule of every reader (check_point_count): enough points, a non-zero extent
    if data.shape[1] < min_points:
        check_point_count(data[0], path, min_points=min_points, what='every sample')
    flat = np.flatnonzero(~(np.ptp(data[..., :3], axis=1).max(axis=1) > MIN_EXTENT))
    if len(flat):
        check_point_count(data[flat[0]], path, min_points=min_points, what=f'sample {flat[0]}')
    return data[..., :3].astype(np.float32), label.astype(np.int64)


@DATASETS.register_module()
class ScanObjectNNDataset(BaseDataset):
    """ScanObjectNN classification.

    Each item, before the pipeline: ``points`` (2048, 3) float32, ``gt_label``
    (int), ``sample_idx``, ``file``.

    Args:
        data_root: the ScanObjectNN root (or its ``h5_files`` folder).
        variant: ``'obj_bg'``, ``'obj_only'`` or ``'pb_t50_rs'`` (the hardest).
        split: ``'train'`` or ``'test'``.
        to_zup: permute the y-up file axes ``(x, y, z) <- (z, x, y)`` so that
            gravity is z, as for tap3d's ShapeNet55 pre-training data.
        min_points: files whose clouds hold fewer points are refused, and so are
            files with a cloud whose points all coincide
            (:func:`~tap3d.datasets.io.check_point_count`).
        pipeline, test_mode, ...: as in :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=SCANOBJECTNN_CLASSES)

    def __init__(self,
                 data_root: str = 'data/ScanObjectNN',
                 variant: str = 'pb_t50_rs',
                 split: str = 'train',
                 to_zup: bool = True,
                 min_points: int = MIN_POINTS,
                 **kwargs) -> None:
        self.variant = variant.lower()
        self.split = split
        self.to_zup = to_zup
        self.min_points = min_points
        self.h5_path = scanobjectnn_file(data_root, self.variant, split)
        self._points = None
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        points, labels = load_points_labels_h5(self.h5_path, min_points=self.min_points)
        num_classes = len(self.metainfo['classes'])
        if labels.min() < 0 or labels.max() >= num_classes:
            raise DataFileError(f'{self.h5_path}: labels must lie in [0, {num_classes}), found '
                                f'[{labels.min()}, {labels.max()}]')
        if self.to_zup:
            points = points[..., _TO_ZUP]
        # Points stay in one array; the (serialised) data list holds only indices.
        self._points = np.ascontiguousarray(points)
        return [dict(sample_idx=i, gt_label=int(label), file=self.h5_path)
                for i, label in enumerate(labels)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['coord'] = self._points[info['sample_idx']].copy()
        return info
