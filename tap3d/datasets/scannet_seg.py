"""ScanNetV2 semantic segmentation (20 classes, −1 = ignore).

Two on-disk forms are read:

- Pointcept folders (the default)::

    data_root/{train,val,test}/sceneXXXX_XX/coord.npy      (N,3) float32
                                            color.npy      (N,3) uint8
                                            normal.npy     (N,3) float32
                                            segment20.npy  (N,) int, −1 = ignore
                                            instance.npy   (N,) int, −1 = none

- the older single-file form ``data_root/{split}/sceneXXXX_XX.pth``: a dict with
  ``coord``, ``color``, ``normal``, ``semantic_gt20`` (and optionally
  ``instance_gt``), loaded with ``torch.load(weights_only=True)``.

Before its pipeline a sample holds ``coord (N,3) float32``, ``color (N,3) float32``
(0..255), ``normal (N,3) float32`` (when stored), ``segment (N,) int64`` and
``instance (N,) int64``, plus ``scene_id``, ``file`` and ``num_points``. The test
split carries no labels: ``segment`` is then all −1.
"""
import glob
import os.path as osp
from typing import List, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset

from tap3d.registry import DATASETS
from tap3d.utils.checkpoint import register_checkpoint_safe_globals

from .io import MIN_POINTS, DataFileError, check_point_count
from .scannet_constants import IGNORE_INDEX, SEG_CLASSES, SEG_NYU40_IDS, SEG_PALETTE
from .scannet_det import load_npy

__all__ = ['ScanNetSegDataset', 'load_scannet_pth']

_NUM_CLASSES = len(SEG_CLASSES)


def load_scannet_pth(path: str) -> dict:
    """Read an old-style ScanNet ``.pth`` scene with ``weights_only=True``.

    Args:
        path: the ``.pth`` file.

    Returns:
        dict of numpy arrays as stored (``coord``, ``color``, ``normal``,
        ``semantic_gt20``, ...).

    Raises:
        DataFileError: naming the file, if it is missing, unreadable or not a dict.
    """
    import torch
    if not osp.isfile(path):
        raise DataFileError(f'{path}: file not found')
    try:
        # numpy arrays need numpy's reconstructors allow-listed (process-wide; a
        # `safe_globals` context would remove them again on exit)
        register_checkpoint_safe_globals()
        data = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        raise DataFileError(f'{path}: cannot load the scene ({err})') from err
    if not isinstance(data, dict):
        raise DataFileError(f'{path}: expected a dict of arrays, got {type(data).__name__}')
    out = {}
    for key, value in data.items():
        out[key] = value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    return out


def _check_scene(path: str, arrays: dict, min_points: int = MIN_POINTS) -> None:
    """Shapes, lengths, finiteness, point count, extent and label range of a scene."""
    coord = arrays['coord']
    if coord.ndim != 2 or coord.shape[1] != 3:
        raise DataFileError(f'{path}: coord must be (N, 3), got {coord.shape}')
    n = len(coord)
    if n == 0:
        raise DataFileError(f'{path}: the scene has no points')
    for key, value in arrays.items():
        if value is None:
            continue
        want = (n, 3) if key in ('coord', 'color', 'normal') else (n, )
        if value.shape != want:
            raise DataFileError(f'{path}: {key} has shape {value.shape} but the scene has {n} '
                                f'points (expected {want})')
        if value.dtype.kind == 'f' and not np.isfinite(value).all():
            raise DataFileError(f'{path}: {key} holds NaN or inf values')
    check_point_count(coord, path, min_points=min_points)
    seg = arrays.get('segment')
    if seg is not None and len(seg) and (seg.min() < IGNORE_INDEX or seg.max() >= _NUM_CLASSES):
        raise DataFileError(f'{path}: segment labels must lie in -1..{_NUM_CLASSES - 1}, '
                            f'got {seg.min()}..{seg.max()}')


@DATASETS.register_module()
class ScanNetSegDataset(BaseDataset):
    """ScanNetV2 semantic-segmentation scenes (Pointcept folders or ``.pth`` files).

    Args:
        data_root: root holding the ``{train,val,test}`` folders.
        split: split folder name, or a list of them read one after the other (e.g.
            ``['train', 'val']``).
        pipeline: transforms applied to each sample.
        data_format: ``'npy'`` (Pointcept folders), ``'pth'`` (one file per scene) or
            ``'auto'`` (``'pth'`` when the split folder holds ``.pth`` files).
        label_file: per-point label file of the npy form (``segment20``).
        min_points: scenes with fewer points, or whose points all coincide, are
            refused (:func:`~tap3d.datasets.io.check_point_count`).
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=SEG_CLASSES, nyu40_ids=SEG_NYU40_IDS, palette=SEG_PALETTE,
                    ignore_index=IGNORE_INDEX)

    def __init__(self,
                 data_root: str = 'data/scannet',
                 split: Union[str, Sequence[str]] = 'train',
                 pipeline: Sequence = (),
                 data_format: str = 'auto',
                 label_file: str = 'segment20',
                 min_points: int = MIN_POINTS,
                 **kwargs) -> None:
        if data_format not in ('auto', 'npy', 'pth'):
            raise ValueError(f"data_format must be 'auto', 'npy' or 'pth', got {data_format!r}")
        self.split, self.data_format, self.label_file = split, data_format, label_file
        self.min_points = min_points
        super().__init__(data_root=data_root, pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        splits = [self.split] if isinstance(self.split, str) else list(self.split)
        return [info for split in splits for info in self._list_split(split)]

    def _list_split(self, split: str) -> List[dict]:
        folder = osp.join(self.data_root, split)
        if not osp.isdir(folder):
            raise DataFileError(f'{folder}: split folder not found')
        pth = sorted(glob.glob(osp.join(folder, '*.pth')))
        fmt = self.data_format
        if fmt == 'auto':
            fmt = 'pth' if pth else 'npy'
        if fmt == 'pth':
            files = pth
        else:
            files = sorted(d for d in glob.glob(osp.join(folder, '*'))
                           if osp.isdir(d) and osp.isfile(osp.join(d, 'coord.npy')))
        if not files:
            expected = '*.pth files' if fmt == 'pth' else 'scene folders with coord.npy'
            raise DataFileError(f'{folder}: no scenes found (expected {expected})')
        return [dict(scene_id=osp.splitext(osp.basename(f))[0], file=f, data_format=fmt,
                     split=split) for f in files]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        path = info['file']
        if info['data_format'] == 'pth':
            raw = load_scannet_pth(path)
            missing = [k for k in ('coord', 'color') if k not in raw]
            if missing:
                raise DataFileError(f'{path}: missing keys {missing} (has {sorted(raw)})')
            arrays = dict(coord=raw['coord'], color=raw['color'], normal=raw.get('normal'),
                          segment=raw.get('semantic_gt20'), instance=raw.get('instance_gt'))
        else:
            def opt(name, shape, what):
                p = osp.join(path, f'{name}.npy')
                return load_npy(p, shape, what) if osp.isfile(p) else None

            arrays = dict(coord=load_npy(osp.join(path, 'coord.npy'), (None, 3), 'coord'),
                          color=load_npy(osp.join(path, 'color.npy'), (None, 3), 'color'),
                          normal=opt('normal', (None, 3), 'normal'),
                          segment=opt(self.label_file, (None, ), 'labels'),
                          instance=opt('instance', (None, ), 'instance ids'))
        if arrays['segment'] is None and info['split'] != 'test':
            where = (path if info['data_format'] == 'pth' else
                     osp.join(path, f'{self.label_file}.npy'))
            raise DataFileError(f"{where}: no semantic labels for a scene of split "
                                f"{info['split']!r}")
        arrays = {k: (None if v is None else np.asarray(v)) for k, v in arrays.items()}
        _check_scene(path, arrays, self.min_points)
        n = len(arrays['coord'])
        info.update(
            coord=arrays['coord'].astype(np.float32),
            color=arrays['color'].astype(np.float32),
            segment=(np.full(n, IGNORE_INDEX, np.int64) if arrays['segment'] is None else
                     arrays['segment'].astype(np.int64)),
            instance=(np.full(n, -1, np.int64) if arrays['instance'] is None else
                      arrays['instance'].astype(np.int64)),
            num_points=n)
        if arrays['normal'] is not None:
            info['normal'] = arrays['normal'].astype(np.float32)
        return info
