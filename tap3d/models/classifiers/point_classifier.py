"""Object classification: any backbone + an MLP head, with optional test-time voting."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from tap3d.registry import MODELS

from ..data_preprocessors import build_data_preprocessor
from ..utils.build_backbone import build_backbone

__all__ = ['PointClassifier', 'scale_for_vote']


def scale_for_vote(inputs: Dict[str, torch.Tensor],
                   scales: torch.Tensor,
                   feat_axes: Optional[Sequence[Optional[int]]] = None) -> Dict[str, torch.Tensor]:
    """Scale a batch per sample and per axis, keeping ``feats`` consistent.

    Args:
        inputs: ``points (B, N, 3)`` and optionally ``feats (B, N, C)``.
        scales: (B, 3) factors for x, y, z.
        feat_axes: for each feature channel, the axis whose scale it follows, or
            None to leave it unchanged. Default: channels 0-2 follow x, y, z and a
            4th channel (height above the lowest point) follows z; any others are
            left unchanged.

    Returns:
        A new inputs dict (other keys are shared, not copied).
    """
    out = dict(inputs)
    out['coord'] = inputs['coord'] * scales.unsqueeze(1)
    feat = inputs.get('feat', None)
    if feat is not None:
        C = feat.shape[-1]
        if feat_axes is None:
            feat_axes = [0, 1, 2, 2][:C] + [None] * max(0, C - 4)
        if len(feat_axes) != C:
            raise ValueError(f'test_cfg.vote_feat_axes has {len(feat_axes)} entries but feat '
                             f'has {C} channels')
        ones = scales.new_ones(scales.shape[0], 1)
        table = torch.cat([scales, ones], dim=1)  # column 3 = "unchanged"
        cols = torch.tensor([3 if a is None else int(a) for a in feat_axes],
                            device=scales.device)
        out['feat'] = feat * table[:, cols].unsqueeze(1)
    return out


@MODELS.register_module()
class PointClassifier(BaseModel):
    """Backbone + classification head.

    Args:
        backbone: backbone config; its output must hold ``global_feat (B, G)``.
        head: head config (e.g. ``ClsHead``); ``in_channels`` defaults to the
            backbone's ``global_channels`` (else its ``out_channels``).
        data_preprocessor: batching config, ``PointDataPreprocessor`` by default.
        test_cfg: voting options, read by ``predict``:
            ``voting`` (int, passes; 1 = none), ``vote_scale`` ((low, high) per-axis
            scale range), ``vote_seed`` (int, seeds a ``torch.Generator`` so a vote
            is reproducible), ``vote_feat_axes`` (see :func:`scale_for_vote`).
            As in PointMLP's voting, the first pass sees the unscaled input and the
            softmax scores of all passes are averaged. ``vote_cumulative``
            (default False): each pass scales the previous pass's points, as
            PointMLP's voting script does (it scales the batch in place).
        train_cfg: unused, kept for config symmetry.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 data_preprocessor: Optional[Union[dict, torch.nn.Module]] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None):
        data_preprocessor = build_data_preprocessor(data_preprocessor, 'stack')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_backbone(backbone)
        head = copy.deepcopy(head)
        if head.get('in_channels') is None:
            head['in_channels'] = getattr(self.backbone, 'global_channels',
                                          getattr(self.backbone, 'out_channels', None))
        self.head = MODELS.build(head)
        self.train_cfg = train_cfg or {}
        self.test_cfg = dict(test_cfg or {})

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Pooled features ``(B, G)`` of a batch (``points (B, N, 3)``, ``feats (B, N, C)``)."""
        return self.backbone(inputs)['global_feat']

    def forward(self,
                inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        """Run in one of three modes.

        Args:
            inputs: batch dict, ``points (B, N, 3)`` and ``feats (B, N, C)``.
            data_samples: B samples; ``gt_label`` needed for ``'loss'``.
            mode: ``'loss'`` -> dict of losses; ``'predict'`` -> data samples with
                ``pred_score (K,)`` and ``pred_label ()``; ``'tensor'`` -> ``(B, K)`` logits.
        """
        if mode == 'loss':
            return self.head.loss(self.backbone(inputs), data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.backbone(inputs))
        raise ValueError(f"PointClassifier: unknown mode {mode!r}; use 'loss', 'predict' "
                         "or 'tensor'")

    @torch.no_grad()
    def predict_scores(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Class probabilities ``(B, K)``, averaged over ``test_cfg.voting`` passes."""
        votes = int(self.test_cfg.get('voting', 1) or 1)
        average = self.test_cfg.get('vote_average', 'softmax')
        if average not in ('softmax', 'logits'):
            raise ValueError(f"test_cfg.vote_average must be 'softmax' or 'logits', "
                             f'got {average!r}')
        # Accumulate probabilities or logits; softmax once at the end for 'logits'.
        to_score = (lambda x: F.softmax(x, dim=-1)) if average == 'softmax' else (lambda x: x)
        scores = to_score(self.head(self.backbone(inputs)))
        if votes <= 1:
            return F.softmax(scores, dim=-1) if average == 'logits' else scores
        low, high = self.test_cfg.get('vote_scale', (0.85, 1.15))
        points = inputs['coord']
        gen = torch.Generator(device=points.device)
        gen.manual_seed(int(self.test_cfg.get('vote_seed', 0)))
        cumulative = bool(self.test_cfg.get('vote_cumulative', False))
        total = points.new_ones(points.shape[0], 3)
        for _ in range(votes - 1):
            u = torch.rand(points.shape[0], 3, generator=gen, device=points.device)
            scales = (low + (high - low) * u).to(points.dtype)
            total = total * scales if cumulative else scales
            scaled = scale_for_vote(inputs, total, self.test_cfg.get('vote_feat_axes'))
            scores = scores + to_score(self.head(self.backbone(scaled)))
        scores = scores / votes
        return F.softmax(scores, dim=-1) if average == 'logits' else scores

    def predict(self, inputs: Dict[str, torch.Tensor],
                data_samples: Optional[List[BaseDataElement]] = None) -> List[BaseDataElement]:
        """Attach ``pred_score`` (K,) and ``pred_label`` (long scalar) to each sample."""
        scores = self.predict_scores(inputs)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(scores.shape[0])]
        for sample, score in zip(data_samples, scores):
            sample.set_field(score, 'pred_score')
            sample.set_field(score.argmax(), 'pred_label')
        return data_samples
