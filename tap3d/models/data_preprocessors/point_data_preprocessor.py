"""The one place where dataset samples become model batches."""
from typing import Dict, List, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor

from tap3d.registry import MODELS

# Keys that hold one row per point: concatenated in offset mode, stacked otherwise.
PER_POINT_KEYS = ('coord', 'feat', 'grid_coord', 'normal', 'color')


@MODELS.register_module()
class PointDataPreprocessor(BaseDataPreprocessor):
    """Collate packed samples into a batch on the model's device.

    Input: ``data = {'inputs': ..., 'data_samples': [...]}`` as produced by
    ``pseudo_collate`` over ``PackPointInputs`` outputs: ``inputs`` is a dict of
    per-sample lists (or a list of per-sample dicts).

    Output ``{'inputs': dict, 'data_samples': list}`` where, in

    - ``batch_mode='stack'`` (object tasks): every input tensor is stacked, e.g.
      ``coord (B, N, 3)``, ``feat (B, N, C)``, ``views (B, V, 3, H, W)``,
      ``view_rotations (B, V, 3, 3)``;
    - ``batch_mode='offset'`` (scene tasks): per-point tensors (``coord``, ``feat``,
      ...) are concatenated to ``(ΣN, C)`` and ``offset (B,)`` holds the cumulative
      end index of each sample (Pointcept's convention); other tensors are stacked.

    uint8 images (``views``) become float32 in [0, 1]. All samples must agree in
    shape for stacked keys; a mismatch raises an error naming the key.

    Args:
        batch_mode: ``'stack'`` or ``'offset'``.
        image_keys: input keys holding uint8 images to rescale to [0, 1].
        non_blocking: passed to ``Tensor.to`` when moving to the device.
    """

    def __init__(self,
                 batch_mode: str = 'stack',
                 image_keys: Sequence[str] = ('views', ),
                 non_blocking: bool = False):
        super().__init__(non_blocking=non_blocking)
        if batch_mode not in ('stack', 'offset'):
            raise ValueError(f"batch_mode must be 'stack' or 'offset', got {batch_mode!r}")
        self.batch_mode = batch_mode
        self.image_keys = tuple(image_keys)

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if isinstance(inputs, dict) and any(isinstance(v, (list, tuple))
                                            for v in inputs.values()):
            # pseudo_collate turns a list of dicts into a dict of lists
            num = len(next(v for v in inputs.values() if isinstance(v, (list, tuple))))
            inputs = [{k: v[i] for k, v in inputs.items()} for i in range(num)]
        if isinstance(inputs, (list, tuple)):
            inputs = self._collate(inputs)
        inputs = self.cast_data(inputs)
        for key in self.image_keys:
            if key in inputs and inputs[key].dtype == torch.uint8:
                inputs[key] = inputs[key].float().div_(255.0)
        data_samples = data.get('data_samples', None)
        if data_samples is not None:
            data_samples = self.cast_data(data_samples)
        return {'inputs': inputs, 'data_samples': data_samples}

    def _collate(self, samples: List[Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
        if len(samples) == 0:
            raise ValueError('PointDataPreprocessor received an empty batch')
        keys = samples[0].keys()
        batch: Dict[str, Union[torch.Tensor, list]] = {}
        for key in keys:
            values = [s[key] for s in samples]
            if not all(isinstance(v, torch.Tensor) for v in values):
                batch[key] = values  # non-tensor inputs pass through as lists
                continue
            if self.batch_mode == 'offset' and key in PER_POINT_KEYS:
                batch[key] = torch.cat(values, dim=0)
            else:
                shapes = {tuple(v.shape) for v in values}
                if len(shapes) != 1:
                    raise ValueError(
                        f"cannot stack input '{key}': samples have shapes {sorted(shapes)}; "
                        "use batch_mode='offset' for variable-size point sets or resample "
                        'to a fixed number of points')
                batch[key] = torch.stack(values, dim=0)
        if self.batch_mode == 'offset':
            if 'coord' not in keys:
                raise KeyError("batch_mode='offset' needs a 'coord' input")
            counts = torch.tensor([s['coord'].shape[0] for s in samples], dtype=torch.long)
            batch['offset'] = torch.cumsum(counts, dim=0)
        return batch


def stack_batch_inputs(samples: List[Dict[str, torch.Tensor]],
                       batch_mode: str = 'stack') -> Dict[str, torch.Tensor]:
    """Collate a list of per-sample input dicts without moving devices.

    Args:
        samples: list of dicts as in ``PackPointInputs``'s ``'inputs'``.
        batch_mode: see :class:`PointDataPreprocessor`.

    Returns:
        The batched inputs dict.
    """
    return PointDataPreprocessor(batch_mode=batch_mode)._collate(samples)


__all__ = ['PointDataPreprocessor', 'stack_batch_inputs', 'PER_POINT_KEYS']


def build_data_preprocessor(cfg=None, batch_mode: str = 'stack'):
    """A model's data preprocessor from its config.

    Args:
        cfg (dict | nn.Module | None): config (built from tap3d's registry, so no
            default scope is needed), an already built module, or None for a
            ``PointDataPreprocessor`` with ``batch_mode``.
        batch_mode (str): the default preprocessor's batching, ``'stack'`` or
            ``'offset'``.
    """
    if cfg is None:
        cfg = dict(type='PointDataPreprocessor', batch_mode=batch_mode)
    return MODELS.build(cfg) if isinstance(cfg, dict) else cfg
