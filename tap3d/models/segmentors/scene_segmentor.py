"""Scene semantic segmentation: an offset-form backbone plus a per-point head."""
import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from tap3d.registry import MODELS

from ..data_preprocessors import build_data_preprocessor
from ..utils.build_backbone import build_backbone


def _split_by_offset(x: torch.Tensor, offset: torch.Tensor) -> List[torch.Tensor]:
    counts = torch.diff(offset.long(), prepend=offset.new_zeros(1)).tolist()
    return list(torch.split(x, counts, dim=0))


@MODELS.register_module()
class SceneSegmentor(BaseModel):
    """Backbone + per-point head, trained with cross-entropy (ignore label -1).

    The backbone takes the offset-form batch (``coord (ΣN, 3)``, ``feat (ΣN, C)``,
    ``offset (B,)``, optionally ``grid_coord``) and returns per-point ``feats
    (ΣN, C')`` in the input order; the head maps them to ``(ΣN, K)`` logits.

    ``forward(inputs, data_samples, mode)``:

    - ``'loss'``: ``{'loss_sem_seg': CE}`` against the concatenated
      ``data_sample.gt_sem_labels (N_i,)``; labels equal to ``ignore_index``
      do not count.
    - ``'predict'``: sets ``pred_sem_labels (N_i,)`` (and, with ``keep_scores``,
      ``pred_sem_scores (N_i, K)``, softmax) on each data sample, over:

      * the input points, by default;
      * the full scene, when the data sample carries ``inverse (N_full,)``
        (the input row of each original point, as grid sampling returns it);
      * the full scene by fragment voting, when ``inputs['fragments']`` holds,
        per sample, a list of fragments (dicts with ``coord``, ``feat``, optional
        ``grid_coord``, and ``index (n_f,)``, the original point of each row):
        softmax scores of all fragments are summed per original point and the
        argmax is the prediction. The scene size is ``metainfo['num_points']``,
        else the length of ``gt_sem_labels``, else ``max(index) + 1``.
    - ``'tensor'``: the logits ``(ΣN, K)``.

    Args:
        backbone: backbone config (offset form, per-point output).
        head: head config; ``in_channels`` defaults to ``backbone.out_channels``.
        ignore_index: label that the loss ignores.
        loss_weight: weight of the CE term.
        class_weight: optional per-class CE weights (K,).
        fragment_batch: fragments run together in one forward when voting.
        keep_scores: also store per-point class scores on the predictions (large
            for full scenes, so off by default).
        data_preprocessor: usually ``PointDataPreprocessor(batch_mode='offset')``.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 ignore_index: int = -1,
                 loss_weight: float = 1.0,
                 class_weight: Optional[Sequence[float]] = None,
                 fragment_batch: int = 4,
                 keep_scores: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = build_data_preprocessor(data_preprocessor, 'offset')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_backbone(backbone)
        head = copy.deepcopy(head)
        head.setdefault('in_channels', self.backbone.out_channels)
        self.head = MODELS.build(head)
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        if class_weight is not None:
            self.register_buffer('class_weight', torch.tensor(class_weight,
                                                              dtype=torch.float32))
        else:
            self.class_weight = None
        self.fragment_batch = fragment_batch
        self.keep_scores = keep_scores

    def _logits(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """inputs (offset form) -> logits (ΣN, K)."""
        out = self.backbone(inputs)
        return self.head(out['feats'])

    def forward(self, inputs: dict, data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._logits(inputs)
        raise ValueError(f"SceneSegmentor: unknown mode {mode!r}; expected 'loss', "
                         "'predict' or 'tensor'")

    def loss(self, inputs: dict, data_samples: list) -> Dict[str, torch.Tensor]:
        """Cross-entropy over all labelled points of the batch."""
        if not data_samples or getattr(data_samples[0], 'gt_sem_labels', None) is None:
            raise ValueError('SceneSegmentor.loss needs data samples with gt_sem_labels')
        logits = self._logits(inputs)
        target = torch.cat([s.gt_sem_labels for s in data_samples]).to(logits.device).long()
        if target.shape[0] != logits.shape[0]:
            raise ValueError(f'SceneSegmentor: {logits.shape[0]} points in the batch but '
                             f'{target.shape[0]} labels')
        loss = F.cross_entropy(logits, target, weight=self.class_weight,
                               ignore_index=self.ignore_index)
        if not (target != self.ignore_index).any():
            loss = logits.sum() * 0.0  # keep the graph; CE of no labels is NaN
        return {'loss_sem_seg': self.loss_weight * loss}

    def predict(self, inputs: dict, data_samples: Optional[list] = None) -> list:
        """Set pred_sem_labels / pred_sem_scores on each data sample (see class doc)."""
        if 'fragments' in inputs:
            return self._predict_fragments(inputs['fragments'], data_samples)
        offset = inputs['offset']
        scores = _split_by_offset(torch.softmax(self._logits(inputs), dim=1), offset)
        if data_samples is None:
            from mmengine.structures import BaseDataElement
            data_samples = [BaseDataElement() for _ in scores]
        for sample, score in zip(data_samples, scores):
            inverse = getattr(sample, 'inverse', None)
            if inverse is not None:
                score = score[inverse.to(score.device).long()]
            if self.keep_scores:
                sample.pred_sem_scores = score
            sample.pred_sem_labels = score.argmax(dim=1)
        return data_samples

    def _scene_size(self, sample, fragments) -> int:
        if sample is not None:
            if 'num_points' in sample.metainfo:
                return int(sample.metainfo['num_points'])
            if getattr(sample, 'gt_sem_labels', None) is not None:
                return int(sample.gt_sem_labels.shape[0])
        return int(max(int(f['index'].max()) for f in fragments)) + 1

    @torch.no_grad()
    def vote_fragments(self, fragments: List[dict], num_points: int) -> torch.Tensor:
        """Sum per-point softmax scores over fragments of one scene.

        Args:
            fragments: dicts with ``coord (n_f, 3)``, ``feat (n_f, C)``, optional
                ``grid_coord (n_f, 3)`` and ``index (n_f,)`` into the full scene.
            num_points: N_full.

        Returns:
            (N_full, K) summed scores; a point no fragment covers stays zero.
        """
        total = None
        for start in range(0, len(fragments), self.fragment_batch):
            chunk = fragments[start:start + self.fragment_batch]
            batch = {k: torch.cat([f[k] for f in chunk]) for k in chunk[0] if k != 'index'}
            batch['offset'] = torch.cumsum(
                torch.tensor([f['coord'].shape[0] for f in chunk],
                             device=chunk[0]['coord'].device), 0)
            score = torch.softmax(self._logits(batch), dim=1)
            if total is None:
                total = score.new_zeros(num_points, score.shape[1])
            index = torch.cat([f['index'] for f in chunk]).to(score.device).long()
            total.index_add_(0, index, score)
        return total

    def _predict_fragments(self, fragments_per_sample: list,
                           data_samples: Optional[list]) -> list:
        if data_samples is None:
            from mmengine.structures import BaseDataElement
            data_samples = [BaseDataElement() for _ in fragments_per_sample]
        for fragments, sample in zip(fragments_per_sample, data_samples):
            if len(fragments) == 0:
                raise ValueError('SceneSegmentor: a test sample has no fragments')
            votes = self.vote_fragments(fragments, self._scene_size(sample, fragments))
            if self.keep_scores:
                sample.pred_sem_scores = votes / votes.sum(dim=1, keepdim=True).clamp(min=1e-12)
            sample.pred_sem_labels = votes.argmax(dim=1)
        return data_samples


__all__ = ['SceneSegmentor']
