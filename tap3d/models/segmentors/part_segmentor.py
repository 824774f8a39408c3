"""Object part segmentation (ShapeNetPart): backbone + part head with a category token.

Also holds :class:`PretrainedSkipKeys`, the checked ``Pretrained`` initialiser with
a list of keys left at their fresh initialisation. Part segmentation needs it
because its input (xyz + normals, 6 channels) is wider than TAP's pre-training
input (xyz + height, 4 channels): only the first embedding layer cannot transfer,
and the TAP authors skip exactly that weight (``embedding.net.0.weight``).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from tap3d.registry import MODELS, WEIGHT_INITIALIZERS
from tap3d.utils.pretrained import CheckedPretrainedInit

from ..data_preprocessors import build_data_preprocessor
from ..utils.build_backbone import build_backbone

__all__ = ['PartSegmentor', 'PretrainedSkipKeys', 'scale_partseg_inputs', 'refine_parts']


@WEIGHT_INITIALIZERS.register_module()
class PretrainedSkipKeys(CheckedPretrainedInit):
    """The checked ``Pretrained`` initialiser with keys left at their fresh values.

    A named preset of :class:`tap3d.utils.pretrained.CheckedPretrainedInit` with
    ``skip_keys`` (all other checks unchanged: shape mismatches and any other
    missing key raise; the report, with ``skipped``, lands on
    ``module.pretrained_report``).

    Args:
        checkpoint: path of the checkpoint.
        prefix: only keys under it are used, with it stripped (``'backbone.'``).
        skip_keys: module keys (after the prefix) that keep their initial value.
        map_location: forwarded to ``torch.load``.
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None,
                 skip_keys: Sequence[str] = (), map_location: str = 'cpu'):
        super().__init__(checkpoint, prefix=prefix, map_location=map_location,
                         skip_keys=skip_keys)


def scale_partseg_inputs(inputs: Dict[str, torch.Tensor], scales: torch.Tensor,
                         feat_layout: Sequence[str] = ('coord', 'normal')
                         ) -> Dict[str, torch.Tensor]:
    """Scale a batch per sample and axis; keep ``feat`` consistent with the points.

    Args:
        inputs: ``coord (B, N, 3)`` and optionally ``feat (B, N, C)``.
        scales: (B, 3) factors for x, y, z.
        feat_layout: the blocks of ``feat`` in order, as ``BuildFeat`` names them:
            ``'coord'`` (3, scaled like the points), ``'normal'`` (3, divided by the
            scale and renormalised: normals transform by the inverse transpose),
            ``'height'`` (1, scaled like z), ``'color'`` (3, unchanged).

    Returns:
        A new inputs dict (other entries shared).
    """
    widths = dict(coord=3, normal=3, height=1, color=3)
    out = dict(inputs)
    out['coord'] = inputs['coord'] * scales.unsqueeze(1)
    feats = inputs.get('feat')
    if feats is None:
        return out
    unknown = [c for c in feat_layout if c not in widths]
    if unknown or sum(widths[c] for c in feat_layout) != feats.shape[-1]:
        raise ValueError(f'test_cfg.vote_feat_layout {tuple(feat_layout)} does not describe '
                         f'feat with {feats.shape[-1]} channels')
    blocks, start = [], 0
    s = scales.unsqueeze(1)  # (B, 1, 3)
    for comp in feat_layout:
        block = feats[..., start:start + widths[comp]]
        start += widths[comp]
        if comp == 'coord':
            block = block * s
        elif comp == 'normal':
            block = block / s
            block = block / block.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        elif comp == 'height':
            block = block * s[..., 2:3]
        blocks.append(block)
    out['feat'] = torch.cat(blocks, dim=-1)
    return out


def refine_parts(points: torch.Tensor, labels: torch.Tensor, allowed: torch.Tensor,
                 n: int = 10) -> torch.Tensor:
    """Relabel the points of tiny predicted parts by their neighbours' majority.

    The TAP authors' ShapeNetPart evaluation (``refine: True``): when a shape has
    more than one predicted part, every part with fewer than ``n`` points takes,
    point by point, the most frequent other label among the point's ``n + 1``
    nearest neighbours. Unlike the reference, the vote only counts the category's
    parts, so a point whose neighbours all share its label keeps it.

    Args:
        points: (N, 3) one shape.
        labels: (N,) predicted parts.
        allowed: (K,) bool, the category's parts.
        n: parts with fewer points are refined.

    Returns:
        (N,) refined labels (a new tensor).
    """
    from tap3d.ops import knn
    labels = labels.clone()
    parts, counts = torch.unique(labels, return_counts=True)
    if len(parts) <= 1:
        return labels
    original = labels.clone()  # neighbours vote with the unrefined labels
    for part, count in zip(parts.tolist(), counts.tolist()):
        if count >= n:
            continue
        rows = (original == part).nonzero(as_tuple=True)[0]
        _, idx = knn(points[rows][None], points[None], min(n + 1, len(points)))
        votes = torch.zeros(len(rows), allowed.numel(), device=labels.device)
        votes.scatter_add_(1, original[idx[0]], torch.ones_like(idx[0], dtype=votes.dtype))
        votes[:, part] = 0
        votes[:, ~allowed] = 0
        best = votes.argmax(dim=1)
        keep = votes.max(dim=1)[0] > 0
        labels[rows[keep]] = best[keep]
    return labels


@MODELS.register_module()
class PartSegmentor(BaseModel):
    """Backbone + part-segmentation head conditioned on the object category.

    The backbone runs with ``return_stages=True``; the head (e.g.
    :class:`PointMLPPartSegHead`) maps its levels and the one-hot category to
    per-point part logits ``(B, N, K)``. The category of each shape comes from
    ``inputs['category'] (B,)`` when present, else from each data sample's
    ``gt_label`` (how ``ShapeNetPartDataset`` packs it).

    ``forward(inputs, data_samples, mode)``:

    - ``'loss'``: ``{'loss_part_seg': ...}``, the configured loss over every point
      against ``gt_part_labels (N,)``;
    - ``'predict'``: sets ``pred_part_labels (N,)`` on each data sample (and with
      ``test_cfg.keep_scores`` also ``pred_part_scores (N, K)``, softmax). Logits
      of parts outside the shape's category are masked out before the argmax, so
      a prediction is always one of the category's parts;
    - ``'tensor'``: the logits ``(B, N, K)``.

    Args:
        backbone: backbone config (``PointMLP``); ``return_stages`` is forced on.
        head: head config; ``in_channels`` defaults to the backbone's
            ``stage_channels``.
        loss: loss config over ``(P, K)`` logits and ``(P,)`` labels.
        part_ranges: (first part, count) per category; default ShapeNetPart's 16.
        num_parts: K; default 50.
        test_cfg: ``voting`` (passes, 1 = none; ``tools/test.py --vote N`` sets
            it), ``vote_scale`` ((low, high), per-axis scale range of the voting
            passes, default (0.8, 1.2) as in the TAP recipe), ``vote_seed``,
            ``vote_feat_layout`` (see :func:`scale_partseg_inputs`), ``keep_scores``,
            ``refine`` (int n: relabel predicted parts of fewer than n points by
            their neighbours, :func:`refine_parts`; 0 = off, the default).
            The first pass sees the unscaled shape; logits are averaged.
            ``vote_cumulative`` (default False): each pass scales the previous
            pass's points, as the TAP authors' voting does (it scales the batch in
            place). ``vote_scale_feat`` (default True): False scales ``coord``
            only and leaves ``feat`` as the pipeline built it, as the authors'
            voting does (their features are built before the passes).
        data_preprocessor: ``PointDataPreprocessor`` (stack mode) by default.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 loss: dict = dict(type='LabelSmoothingCrossEntropy'),
                 part_ranges: Optional[Sequence[Tuple[int, int]]] = None,
                 num_parts: Optional[int] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        data_preprocessor = build_data_preprocessor(data_preprocessor, 'stack')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        backbone = copy.deepcopy(backbone)
        backbone['return_stages'] = True
        self.backbone = build_backbone(backbone)
        head = copy.deepcopy(head)
        if head.get('in_channels') is None:
            head['in_channels'] = list(self.backbone.stage_channels)
        if part_ranges is None or num_parts is None:
            from tap3d.datasets.shapenet_part import (
                SHAPENETPART_NUM_PARTS,
                SHAPENETPART_PART_RANGES,
            )
            part_ranges = SHAPENETPART_PART_RANGES if part_ranges is None else part_ranges
            num_parts = SHAPENETPART_NUM_PARTS if num_parts is None else num_parts
        head.setdefault('num_classes', num_parts)
        head.setdefault('num_categories', len(part_ranges))
        self.head = MODELS.build(head)
        self.loss_part = MODELS.build(loss)
        mask = torch.zeros(len(part_ranges), num_parts, dtype=torch.bool)
        for c, (first, count) in enumerate(part_ranges):
            mask[c, first:first + count] = True
        # (num_categories, K): True where a part belongs to the category
        self.register_buffer('category_parts', mask, persistent=False)
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def get_category(inputs: dict, data_samples: Optional[List[BaseDataElement]]
                     ) -> torch.Tensor:
        """(B,) int64 category of each shape, from inputs or the data samples."""
        device = inputs['coord'].device
        if inputs.get('category') is not None:
            return inputs['category'].to(device).long().view(-1)
        if not data_samples or getattr(data_samples[0], 'gt_label', None) is None:
            raise ValueError("PartSegmentor needs each shape's category: inputs['category'] "
                             '(B,) or data samples with gt_label')
        return torch.cat([s.gt_label.view(-1)[:1] for s in data_samples]).to(device).long()

    def _logits(self, inputs: dict, category: torch.Tensor) -> torch.Tensor:
        """inputs (``points (B, N, 3)``, ``feats (B, N, C)``), category (B,) -> (B, N, K)."""
        return self.head(self.backbone(inputs), category)

    def forward(self, inputs: dict, data_samples: Optional[list] = None, mode: str = 'tensor'):
        """See the class docstring for the three modes."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._logits(inputs, self.get_category(inputs, data_samples))
        raise ValueError(f"PartSegmentor: unknown mode {mode!r}; use 'loss', 'predict' "
                         "or 'tensor'")

    def loss(self, inputs: dict, data_samples: list) -> Dict[str, torch.Tensor]:
        """Loss over all points of the batch against ``gt_part_labels``."""
        if not data_samples or getattr(data_samples[0], 'gt_part_labels', None) is None:
            raise ValueError('PartSegmentor.loss needs data samples with gt_part_labels')
        logits = self._logits(inputs, self.get_category(inputs, data_samples))
        target = torch.stack([s.gt_part_labels for s in data_samples]).to(logits.device)
        if target.shape != logits.shape[:2]:
            raise ValueError(f'PartSegmentor: logits cover {tuple(logits.shape[:2])} points '
                             f'but labels have shape {tuple(target.shape)}')
        return {'loss_part_seg': self.loss_part(logits.reshape(-1, logits.shape[-1]),
                                                target.reshape(-1))}

    @torch.no_grad()
    def predict_logits(self, inputs: dict, category: torch.Tensor) -> torch.Tensor:
        """(B, N, K) logits averaged over ``test_cfg.voting`` passes, masked to the category.

        Parts outside a shape's category get ``-inf``.
        """
        votes = int(self.test_cfg.get('voting', 1) or 1)
        logits = self._logits(inputs, category)
        if votes > 1:
            low, high = self.test_cfg.get('vote_scale', (0.8, 1.2))
            points = inputs['coord']
            gen = torch.Generator(device=points.device)
            gen.manual_seed(int(self.test_cfg.get('vote_seed', 0)))
            layout = self.test_cfg.get('vote_feat_layout', ('coord', 'normal'))
            cumulative = bool(self.test_cfg.get('vote_cumulative', False))
            scale_feat = bool(self.test_cfg.get('vote_scale_feat', True))
            total = points.new_ones(points.shape[0], 3)
            for _ in range(votes - 1):
                u = torch.rand(points.shape[0], 3, generator=gen, device=points.device)
                scales = (low + (high - low) * u).to(points.dtype)
                total = total * scales if cumulative else scales
                if scale_feat:
                    voted = scale_partseg_inputs(inputs, total, layout)
                else:
                    voted = dict(inputs, coord=points * total.unsqueeze(1))
                logits = logits + self._logits(voted, category)
            logits = logits / votes
        allowed = self.category_parts[category].unsqueeze(1)  # (B, 1, K)
        return logits.masked_fill(~allowed, float('-inf'))

    def predict(self, inputs: dict, data_samples: Optional[list] = None) -> list:
        """Attach ``pred_part_labels (N,)`` (and optionally scores) to each sample."""
        category = self.get_category(inputs, data_samples)
        logits = self.predict_logits(inputs, category)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(logits.shape[0])]
        keep = bool(self.test_cfg.get('keep_scores', False))
        refine = int(self.test_cfg.get('refine', 0) or 0)
        for i, (sample, lg) in enumerate(zip(data_samples, logits)):
            labels = lg.argmax(dim=-1)
            if refine > 0:
                labels = refine_parts(inputs['coord'][i], labels,
                                      self.category_parts[category[i]], refine)
            sample.pred_part_labels = labels
            if keep:
                sample.pred_part_scores = torch.softmax(lg, dim=-1)
        return data_samples
