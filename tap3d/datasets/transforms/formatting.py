"""Packing: the last transform of every pipeline (docs/architecture.md)."""
from typing import Dict, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from tap3d.registry import TRANSFORMS

__all__ = ['PackPointInputs']

# Per-point label arrays are stored on the data sample under a 'gt_' name.
_DATA_KEY_NAMES = {
    'part_labels': 'gt_part_labels',
    'sem_labels': 'gt_sem_labels',
    'segment': 'gt_sem_labels',
    'instance_labels': 'gt_instance_labels',
    'instance': 'gt_instance_labels',
    'label': 'gt_label',
}


def _to_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    value = np.asarray(value)
    if value.dtype == np.float64:
        value = value.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(value))


@TRANSFORMS.register_module()
class PackPointInputs(BaseTransform):
    """Turn a pipeline's results dict into ``{'inputs', 'data_samples'}``.

    Args:
        input_keys: keys moved to ``inputs`` as tensors when present:
            ``points`` (N, 3) float32, ``feats`` (N, C) float32, ``views``
            (V, H, W, 3) uint8 -> (V, 3, H, W) uint8, ``view_rotations``
            (V, 3, 3) float32; scene keys ``coord``/``feat`` likewise.
        data_keys: keys stored as tensors on the data sample when present.
            ``gt_label`` (an int) becomes a (1,) int64 tensor;
            ``part_labels``/``sem_labels``/``instance_labels`` (N,) become
            ``gt_part_labels``/``gt_sem_labels``/``gt_instance_labels`` int64.
            A ``{src: dst}`` dict renames explicitly.
        meta_keys: keys copied into the data sample's metainfo when present.

    Missing keys are skipped, so one packer serves tasks with and without
    views or labels.
    """

    def __init__(self,
                 input_keys: Sequence[str] = ('points', 'feats', 'views',
                                              'view_rotations', 'coord', 'feat'),
                 data_keys: Union[Sequence[str], Dict[str, str]] = (
                     'gt_label', 'part_labels', 'sem_labels', 'instance_labels'),
                 meta_keys: Sequence[str] = ('sample_idx', 'file', 'category',
                                             'view_indices', 'num_points')) -> None:
        self.input_keys = tuple(input_keys)
        if isinstance(data_keys, dict):
            self.data_keys = dict(data_keys)
        else:
            self.data_keys = {k: _DATA_KEY_NAMES.get(k, k) for k in data_keys}
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs = {}
        for key in self.input_keys:
            if results.get(key) is None:
                continue
            value = results[key]
            if key == 'views':
                value = np.asarray(value)
                if value.ndim != 4 or value.shape[-1] != 3 or value.dtype != np.uint8:
                    raise ValueError('views must be (V, H, W, 3) uint8, got '
                                     f'{value.dtype} {value.shape}')
                value = value.transpose(0, 3, 1, 2)
            inputs[key] = _to_tensor(value)
            if key in ('points', 'feats', 'view_rotations', 'coord', 'feat'):
                inputs[key] = inputs[key].float()
        sample = BaseDataElement()
        for src, dst in self.data_keys.items():
            if results.get(src) is None:
                continue
            value = _to_tensor(results[src]).long()
            if dst == 'gt_label':
                value = value.reshape(-1)
            sample.set_data({dst: value})
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return {'inputs': inputs, 'data_samples': sample}

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_keys={self.input_keys}, '
                f'data_keys={self.data_keys}, meta_keys={self.meta_keys})')
