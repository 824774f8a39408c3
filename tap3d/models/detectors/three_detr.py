"""3DETR detector: encoder backbone + decoder/box head, as an mmengine model."""
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from tap3d.models.backbones.three_detr_encoder import stack_points
from tap3d.registry import MODELS

from ..utils.build_backbone import build_backbone

__all__ = ['ThreeDETR']


def _get_field(sample, names: Tuple[str, ...]):
    """First of ``names`` found on a data sample (an attribute or a metainfo key),
    also looking inside ``gt_instances_3d`` (mmdet3d's layout)."""
    for name in names:
        if hasattr(sample, name):
            return getattr(sample, name)
        if hasattr(sample, 'metainfo') and name in sample.metainfo:
            return sample.metainfo[name]
    inst = getattr(sample, 'gt_instances_3d', None)
    if inst is not None:
        for name in names:
            short = name.replace('gt_', '').replace('_3d', '') + '_3d'
            if hasattr(inst, short):
                return getattr(inst, short)
    raise KeyError(f'three_detr: data sample has none of {names}')


@MODELS.register_module()
class ThreeDETR(BaseModel):
    """3DETR (Misra et al., ICCV 2021) for axis-aligned 3D detection.

    Named ``ThreeDETR`` to keep it apart from the camera-based "DETR3D".

    Args:
        backbone: the encoder (``ThreeDETREncoder``); kept as ``self.backbone`` so
            a TAP checkpoint loads with ``prefix='backbone.'``.
        head: ``ThreeDETRHead`` (decoder, box heads, loss, post-processing).
        data_preprocessor: usually ``PointDataPreprocessor`` (either batch mode).

    Inputs: ``points (B, N, 3)`` or ``coord (ΣN, 3)`` + ``offset (B,)`` with the same
    N per scene. Data samples carry ``gt_bboxes_3d (K, 6)`` (cx cy cz dx dy dz) and
    ``gt_labels_3d (K,)`` for training and evaluation.
    """

    def __init__(self, backbone: dict, head: dict, data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_backbone(backbone)
        self.head = MODELS.build(head)

    def _run(self, inputs: Dict[str, Tensor]):
        xyz, _ = stack_points(inputs)
        # Box centres and sizes are normalised by the bounds of the input scene.
        dims_min, dims_max = xyz.min(dim=1)[0], xyz.max(dim=1)[0]
        enc = self.backbone(inputs)
        outs = self.head(enc['coords'], enc['feats'], dims_min, dims_max)
        return xyz, dims_min, dims_max, outs

    def forward(self, inputs: Dict[str, Tensor], data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], list]:
        """
        Args:
            inputs: the preprocessor's batch.
            data_samples: B data samples (ground truth for ``'loss'``).
            mode: ``'loss'`` -> dict of losses; ``'predict'`` -> the data samples
                with ``pred_bboxes_3d (K, 6)``, ``pred_scores_3d (K,)`` and
                ``pred_labels_3d (K,)``; ``'tensor'`` -> the per-decoder-layer
                prediction dicts of ``ThreeDETRHead.forward``.
        """
        if mode not in ('loss', 'predict', 'tensor'):
            raise ValueError(f"three_detr: mode must be 'loss', 'predict' or 'tensor', "
                             f'got {mode!r}')
        xyz, dims_min, dims_max, outs = self._run(inputs)
        if mode == 'tensor':
            return outs
        if data_samples is None:
            raise ValueError(f'three_detr: mode {mode!r} needs data_samples')
        if mode == 'loss':
            boxes = [torch.as_tensor(_get_field(s, ('gt_bboxes_3d',))) for s in data_samples]
            labels = [torch.as_tensor(_get_field(s, ('gt_labels_3d',))) for s in data_samples]
            return self.head.loss(outs, boxes, labels, dims_min, dims_max)
        results = self.head.predict(outs, xyz)
        for sample, res in zip(data_samples, results):
            sample.set_data(dict(pred_bboxes_3d=res['bboxes_3d'],
                                 pred_scores_3d=res['scores_3d'],
                                 pred_labels_3d=res['labels_3d']))
        return data_samples
