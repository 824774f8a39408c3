"""ScanNetV2 3D detection in the 3DETR / VoteNet layout (18 classes).

```
data_root/scannet_train_detection_data/sceneXXXX_XX_vert.npy       (N, 6) xyz + rgb 0..255
data_root/scannet_train_detection_data/sceneXXXX_XX_bbox.npy       (K, 7) cx cy cz dx dy dz nyu40id
data_root/scannet_train_detection_data/sceneXXXX_XX_ins_label.npy  (N,) 0 = none
data_root/scannet_train_detection_data/sceneXXXX_XX_sem_label.npy  (N,) nyu40 ids
data_root/meta_data/scannetv2_{train,val}.txt                      scene ids, one a line
```

Before its pipeline a sample holds ``coord (N,3) float32``, ``color (N,3) float32``
(0..255), ``instance (N,) int64`` (−1 = none), ``segment (N,) int64`` (detection
class 0..17 of each point, −1 otherwise), ``gt_bboxes_3d (K,6) float32`` and
``gt_labels_3d (K,) int64`` (class 0..17), plus ``scene_id``, ``file``,
``num_points``.
"""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset

from tap3d.registry import DATASETS

from .io import MIN_POINTS, DataFileError, check_point_count
from .scannet_constants import DET_CLASSES, DET_NYU40_IDS, DET_PALETTE, MAX_NUM_OBJ, nyu40_to_det18

__all__ = ['ScanNetDetDataset', 'load_npy', 'read_scene_list']


def load_npy(path: str, shape: Optional[Sequence[Optional[int]]], name: str = '') -> np.ndarray:
    """Load an ``.npy`` array and check its shape and values.

    Args:
        path: the file.
        shape: expected shape; ``None`` entries match any size, e.g. ``(None, 3)``.
            A size given as ``-3`` means "at least 3". ``None`` skips the check.
        name: what the array is, for the message.

    Raises:
        DataFileError: naming the file, if it is missing, unreadable, of the wrong
            shape, or holds NaN / inf.
    """
    if not osp.isfile(path):
        raise DataFileError(f'{path}: file not found')
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as err:  # truncated or not an npy file
        raise DataFileError(f'{path}: cannot read the array ({err})') from err
    shape = array.shape if shape is None else shape
    ok = array.ndim == len(shape)
    for got, want in zip(array.shape, shape):
        if want is not None and ((want >= 0 and got != want) or (want < 0 and got < -want)):
            ok = False
    if not ok:
        want = ', '.join('N' if s is None else (f'>={-s}' if s < 0 else str(s)) for s in shape)
        want = f'({want},)' if len(shape) == 1 else f'({want})'
        raise DataFileError(f'{path}: expected {name or "an array"} of shape {want}, '
                            f'got {array.shape}')
    if array.dtype.kind == 'f' and not np.isfinite(array).all():
        raise DataFileError(f'{path}: holds NaN or inf values')
    return array


def read_scene_list(path: str) -> List[str]:
    """Scene ids listed one a line in ``path`` (blank lines skipped)."""
    if not osp.isfile(path):
        raise DataFileError(f'{path}: scene list not found')
    with open(path) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        raise DataFileError(f'{path}: the scene list is empty')
    return ids


@DATASETS.register_module()
class ScanNetDetDataset(BaseDataset):
    """ScanNetV2 detection scenes, 18 classes, axis-aligned boxes.

    Args:
        data_root: root holding ``scannet_train_detection_data/`` and ``meta_data/``.
        split: ``'train'`` or ``'val'`` (reads ``meta_data/scannetv2_{split}.txt``), or
            a list of splits read one after the other (e.g. train + val).
        pipeline: transforms applied to each sample.
        det_dir: folder of the per-scene npy files, relative to ``data_root``.
        meta_dir: folder of the scene lists, relative to ``data_root``.
        max_boxes: keep at most this many boxes (the first ones); ScanNet has ≤ 64.
        min_points: scenes with fewer points, or whose points all coincide, are
            refused (:func:`~tap3d.datasets.io.check_point_count`).
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=DET_CLASSES, nyu40_ids=DET_NYU40_IDS, palette=DET_PALETTE)

    def __init__(self,
                 data_root: str = 'data/scannet',
                 split: Union[str, Sequence[str]] = 'train',
                 pipeline: Sequence = (),
                 det_dir: str = 'scannet_train_detection_data',
                 meta_dir: str = 'meta_data',
                 max_boxes: int = MAX_NUM_OBJ,
                 min_points: int = MIN_POINTS,
                 **kwargs) -> None:
        self.split, self.det_dir, self.meta_dir = split, det_dir, meta_dir
        self.max_boxes = int(max_boxes)
        self.min_points = min_points
        super().__init__(data_root=data_root, pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        folder = osp.join(self.data_root, self.det_dir)
        splits = [self.split] if isinstance(self.split, str) else list(self.split)
        data_list = []
        for split in splits:
            ids = read_scene_list(
                osp.join(self.data_root, self.meta_dir, f'scannetv2_{split}.txt'))
            for scene_id in ids:
                vert = osp.join(folder, f'{scene_id}_vert.npy')
                if not osp.isfile(vert):
                    raise DataFileError(f'{vert}: file not found (scene {scene_id} of split '
                                        f'{split!r})')
                data_list.append(dict(scene_id=scene_id, file=vert))
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        prefix = info['file'][:-len('_vert.npy')]
        vert = load_npy(info['file'], (None, -6), 'vertices xyz+rgb')
        if len(vert) == 0:
            raise DataFileError(f"{info['file']}: the scene has no points")
        check_point_count(vert, info['file'], min_points=self.min_points)
        n = len(vert)
        ins = load_npy(f'{prefix}_ins_label.npy', (n, ), 'one instance id per vertex')
        sem = load_npy(f'{prefix}_sem_label.npy', (n, ), 'one nyu40 id per vertex')
        bbox_path = f'{prefix}_bbox.npy'
        bbox = load_npy(bbox_path, None, 'boxes')
        if bbox.size == 0:
            bbox = bbox.reshape(0, 7)
        if bbox.ndim != 2 or bbox.shape[1] != 7:
            raise DataFileError(f'{bbox_path}: expected boxes of shape (K, 7) = cx cy cz dx dy dz '
                                f'nyu40id, got {bbox.shape}')
        labels = nyu40_to_det18(np.round(bbox[:, 6]))
        keep = np.flatnonzero(labels >= 0)[:self.max_boxes]
        info.update(
            coord=vert[:, :3].astype(np.float32),
            color=vert[:, 3:6].astype(np.float32),
            instance=ins.astype(np.int64) - 1,
            segment=nyu40_to_det18(sem),
            gt_bboxes_3d=bbox[keep, :6].astype(np.float32),
            gt_labels_3d=labels[keep],
            num_points=n)
        return info
