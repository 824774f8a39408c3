"""Formatting: the model's input features and the packing that ends every pipeline.

:class:`BuildFeat` concatenates per-point arrays into ``feat``; :class:`PackPointInputs`
turns the results dict into ``{'inputs', 'data_samples'}`` for object and scene tasks
alike (docs/architecture.md). Keys: see :mod:`.keys`.
"""
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from tap3d.registry import TRANSFORMS

__all__ = ['AddHeight', 'BuildFeat', 'PackPointInputs', 'SceneFragments']


def _height(coord: np.ndarray, axis: int, percentile: float) -> np.ndarray:
    """(N, 1) height above the floor: ``coord[:, axis]`` minus its ``percentile``."""
    z = np.asarray(coord)[:, axis:axis + 1]
    floor = z.min() if percentile == 0 else np.percentile(z, percentile)
    return (z - floor).astype(np.float32)


@TRANSFORMS.register_module()
class AddHeight(BaseTransform):
    """Store ``height`` (N, 1): each point's height above the floor.

    Args:
        axis: the up axis (2 = z).
        percentile: the floor is this percentile of the heights: 0 = the lowest point
            (TAP's object recipes), 1 = VoteNet / 3DETR's estimate for scenes.
    """

    def __init__(self, axis: int = 2, percentile: float = 0.0) -> None:
        self.axis, self.percentile = axis, percentile

    def transform(self, results: dict) -> dict:
        results['height'] = _height(results['coord'], self.axis, self.percentile)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(axis={self.axis}, percentile={self.percentile})'


@TRANSFORMS.register_module()
class BuildFeat(BaseTransform):
    """Build the model's per-point input ``feat`` (N, C) by concatenation.

    Args:
        keys: per-point arrays to concatenate, in order: any of ``'coord'`` (3),
            ``'height'`` (1), ``'normal'`` (3), ``'color'`` (3, as the pipeline left
            it: run :class:`NormalizeColor` first). The default ``('coord',
            'height')`` is the 4-channel input of TAP's PointMLP / PointNet++ /
            DGCNN recipes; PTv2's ScanNet input is ``('coord', 'color', 'normal')``.
        axis, height_percentile: when ``'height'`` is asked for and
            :class:`AddHeight` did not run, it is computed here with these.
    """

    KEYS = ('coord', 'height', 'normal', 'color')

    def __init__(self, keys: Sequence[str] = ('coord', 'height'), axis: int = 2,
                 height_percentile: float = 0.0) -> None:
        unknown = [k for k in keys if k not in self.KEYS]
        if unknown:
            raise ValueError(f'BuildFeat: unknown keys {unknown}; known: {list(self.KEYS)}')
        self.keys, self.axis, self.height_percentile = tuple(keys), axis, height_percentile

    def transform(self, results: dict) -> dict:
        parts = []
        for key in self.keys:
            if key == 'height' and results.get('height') is None:
                results['height'] = _height(results['coord'], self.axis,
                                            self.height_percentile)
            if results.get(key) is None:
                raise KeyError(f"BuildFeat needs {key!r} but the sample "
                               f"{results.get('file', '')} has none")
            value = np.asarray(results[key], dtype=np.float32)
            parts.append(value.reshape(len(value), -1))
        results['feat'] = np.concatenate(parts, axis=1)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(keys={self.keys}, axis={self.axis}, '
                f'height_percentile={self.height_percentile})')


class SceneFragments(BaseDataElement):
    """The test-time fragments of one scene, stacked: ``F`` fragments of ``M`` points.

    Fields: ``index (F, M)`` int64 rows of the full scene, and when present
    ``coord (F, M, 3)``, ``feat (F, M, C)``, ``grid_coord (F, M, 3)``. Every fragment
    of :class:`GridSample` ``mode='test'`` holds one point per voxel, so all have the
    same size M.

    It reads like a list of per-fragment dicts: ``len(frags) == F``, ``frags[i]`` is
    ``{'coord': (M, 3), 'feat': (M, C), 'index': (M,), ...}``, a slice gives a list of
    such dicts. Being a data element rather than a list or dict, it passes
    ``pseudo_collate`` untouched (one per sample) and ``cast_data`` moves it to the
    model's device.
    """

    def __len__(self) -> int:
        return int(self.index.shape[0]) if 'index' in self else 0

    def __getitem__(self, item):
        if isinstance(item, slice):
            return [self[i] for i in range(*item.indices(len(self)))]
        item = int(item)
        if not -len(self) <= item < len(self):
            raise IndexError(f'fragment {item} out of range for {len(self)} fragments')
        return {key: value[item] for key, value in self.items()}

    def __iter__(self):
        return (self[i] for i in range(len(self)))


# Where each results key goes on the data sample (as a tensor of this dtype).
DATA_KEYS = {
    'gt_label': ('gt_label', torch.int64),
    'segment': ('gt_sem_labels', torch.int64),
    'origin_segment': ('gt_sem_labels', torch.int64),
    'instance': ('gt_instance_labels', torch.int64),
    'inverse': ('inverse', torch.int64),
    'gt_bboxes_3d': ('gt_bboxes_3d', torch.float32),
    'gt_labels_3d': ('gt_labels_3d', torch.int64),
}
_INT_INPUTS = ('grid_coord', )


def _tensor(value, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        value = np.asarray(value)
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        value = torch.from_numpy(np.ascontiguousarray(value))
    return value if dtype is None else value.to(dtype)


@TRANSFORMS.register_module()
class PackPointInputs(BaseTransform):
    """Turn a pipeline's results dict into ``{'inputs', 'data_samples'}``.

    ``inputs`` holds tensors for the ``input_keys`` present: ``coord (N, 3)`` and
    ``feat (N, C)`` float32, ``grid_coord (N, 3)`` int64, ``views`` as
    ``(V, 3, H, W)`` uint8 (channel-first, from the pipeline's ``(V, H, W, 3)``),
    ``view_rotations (V, 3, 3)`` float32. With test-time fragments
    (:class:`GridSample` ``mode='test'``) it also holds ``fragments``, a
    :class:`SceneFragments`.

    The data sample holds the ``data_keys`` present, under the names of
    :data:`DATA_KEYS` (``gt_label`` (1,), ``segment`` -> ``gt_sem_labels`` (N,),
    ``instance`` -> ``gt_instance_labels``, ``inverse``, ``gt_bboxes_3d (K, 6)``,
    ``gt_labels_3d (K,)``) or, for a ``{src: dst}`` dict, under the names given
    (ShapeNetPart packs ``segment`` as ``gt_part_labels``). Its metainfo holds the
    ``meta_keys`` present. Missing keys are skipped, so one packer serves
    classification, part and scene segmentation, detection and pre-training.
    """

    def __init__(self,
                 input_keys: Sequence[str] = ('coord', 'feat', 'views', 'view_rotations'),
                 data_keys: Union[Sequence[str], Dict[str, str]] = (
                     'gt_label', 'segment', 'instance', 'gt_bboxes_3d', 'gt_labels_3d'),
                 meta_keys: Sequence[str] = ('sample_idx', 'file', 'category', 'view_indices',
                                             'num_points', 'scene_id', 'center_shift')) -> None:
        if isinstance(data_keys, dict):
            self.data_keys = dict(data_keys)
        else:
            unknown = [k for k in data_keys if k not in DATA_KEYS]
            if unknown:
                raise ValueError(f'PackPointInputs: unknown data_keys {unknown}; known: '
                                 f'{sorted(DATA_KEYS)} (or give a {{src: dst}} dict)')
            self.data_keys = {k: DATA_KEYS[k][0] for k in data_keys}
        targets = list(self.data_keys.values())
        doubled = sorted({t for t in targets if targets.count(t) > 1})
        if doubled:
            raise ValueError(f'PackPointInputs: several data_keys become {doubled}; pack one '
                             "of them (e.g. 'segment' or 'origin_segment')")
        self.input_keys, self.meta_keys = tuple(input_keys), tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if results.get('coord') is None:
            raise KeyError(f"PackPointInputs: the sample {results.get('file', '')} has no coord")
        inputs: Dict[str, Union[torch.Tensor, SceneFragments]] = {}
        for key in self.input_keys:
            value = results.get(key)
            if value is None:
                continue
            if key == 'views':
                value = np.asarray(value)
                if value.ndim != 4 or value.shape[-1] != 3 or value.dtype != np.uint8:
                    raise ValueError('PackPointInputs: views must be (V, H, W, 3) uint8, got '
                                     f'{value.dtype} {value.shape}')
                inputs[key] = _tensor(value.transpose(0, 3, 1, 2))
            elif key in _INT_INPUTS:
                inputs[key] = _tensor(value, torch.int64)
            else:
                inputs[key] = _tensor(value, torch.float32)
        if results.get('fragment_index') is not None:
            inputs['fragments'] = self._fragments(results)
        sample = BaseDataElement()
        for src, dst in self.data_keys.items():
            if results.get(src) is None:
                continue
            dtype = DATA_KEYS.get(src, (None, torch.int64))[1]
            value = _tensor(results[src], dtype)
            if dst == 'gt_label':
                value = value.reshape(-1)
            sample.set_data({dst: value})
        sample.set_metainfo({k: results[k] for k in self.meta_keys
                             if results.get(k) is not None})
        return {'inputs': inputs, 'data_samples': sample}

    @staticmethod
    def _fragments(results: dict) -> SceneFragments:
        index = np.stack(results['fragment_index'])  # (F, M): equal sizes by construction
        frags = SceneFragments()
        frags.index = _tensor(index, torch.int64)
        for key in ('coord', 'feat'):
            if results.get(key) is not None:
                frags.set_field(_tensor(np.asarray(results[key])[index], torch.float32), key)
        if results.get('grid_coord') is not None:
            frags.grid_coord = _tensor(np.asarray(results['grid_coord'])[index], torch.int64)
        return frags

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(input_keys={self.input_keys}, '
                f'data_keys={self.data_keys}, meta_keys={self.meta_keys})')
