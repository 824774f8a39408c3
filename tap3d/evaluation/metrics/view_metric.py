"""Validation metric for TAP pre-training: how well are the views generated?"""
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from tap3d.registry import METRICS

STAT_KEYS = ('loss', 'mse', 'mse_fg', 'mse_bg', 'fg_iou')


def view_stats(pred, gt, weight_fg=20.0, weight_bg=1.0, white_threshold=1.0,
               pred_threshold=0.95):
    """Per-view scores of generated views against ground truth.

    Args:
        pred (Tensor): (V, 3, H, W) generated views in [0, 1].
        gt (Tensor): (V, 3, H, W) ground-truth views in [0, 1].
        weight_fg, weight_bg (float): weights of ``loss``.
        white_threshold (float): ground-truth foreground = any channel below it.
        pred_threshold (float): generated foreground = any channel below it.

    Returns:
        dict[str, np.ndarray]: each of :data:`STAT_KEYS` -> (V,) float64: ``mse`` over
        the view, ``mse_fg`` / ``mse_bg`` over its foreground / background pixels (all
        channels; 0 for an empty region), ``loss = w_fg * mse_fg + w_bg * mse_bg`` and
        ``fg_iou``, the IoU of the two foreground masks (1 when both are empty).
    """
    pred, gt = pred.double(), gt.double()
    sq = ((pred - gt)**2).flatten(2)  # (V, 3, HW)
    fg_gt = (gt < white_threshold).any(dim=1).flatten(1)  # (V, HW)
    fg_pred = (pred < pred_threshold).any(dim=1).flatten(1)
    fg3 = fg_gt.unsqueeze(1).expand_as(sq)
    n_fg = fg3.sum(dim=(1, 2)).double()
    n_bg = fg3[0].numel() - n_fg
    mse_fg = (sq * fg3).sum(dim=(1, 2)) / n_fg.clamp(min=1)
    mse_bg = (sq * ~fg3).sum(dim=(1, 2)) / n_bg.clamp(min=1)
    inter = (fg_gt & fg_pred).sum(dim=1).double()
    union = (fg_gt | fg_pred).sum(dim=1).double()
    iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
    stats = dict(loss=weight_fg * mse_fg + weight_bg * mse_bg, mse=sq.mean(dim=(1, 2)),
                 mse_fg=mse_fg, mse_bg=mse_bg, fg_iou=iou)
    return {k: v.numpy() for k, v in stats.items()}


@METRICS.register_module()
class ViewMetric(BaseMetric):
    """View loss, MSEs and foreground IoU of the generated views, and of a baseline.

    Reads ``pred_views`` and ``gt_views`` (V, 3, H, W) in [0, 1] from the predictions
    of ``TAPPretrainer`` (mode ``'predict'``). Each sample adds ONE result that holds
    the scores of all its V views, so the figures are means over every view of every
    sample, on any number of processes (mmengine keeps ``len(dataset)`` results).

    **Mean-view baseline.** When the metric holds the mean training view of each of
    the 12 fixed poses (``mean_views``, usually given by
    :class:`~tap3d.engine.hooks.MeanViewBaselineHook`) and a sample says which poses
    its views are (``view_indices`` in its metainfo), the same scores are computed for
    the mean views of those poses and reported as ``baseline_*``. This is the best a
    model that ignores the points can do in MSE: it predicts, for each pose, the average
    picture. Views with random poses (scene-level TAP) have no baseline.

    Keys (with the ``view/`` prefix): ``loss`` (first, so ``save_best='auto'`` picks it),
    ``mse``, ``mse_fg``, ``mse_bg``, ``fg_iou``; then ``baseline_loss``, ``baseline_mse``,
    ``baseline_mse_fg``, ``baseline_mse_bg``, ``baseline_fg_iou`` when available.

    Args:
        weight_fg (float), weight_bg (float): weights of the reported ``loss``.
        white_threshold (float): ground-truth foreground = any channel below it.
        pred_threshold (float): generated foreground = any channel below it (tap3d's
            renders keep the object at most 0.9 bright, so 0.95 separates it from
            the white background).
        mean_views (np.ndarray | Tensor, optional): (P, H, W, 3) uint8-range or
            (P, 3, H, W) [0, 1] mean view of each of the P fixed poses; resized (area
            averaging) to the size of the scored views.
    """

    default_prefix = 'view'

    def __init__(self, weight_fg=20.0, weight_bg=1.0, white_threshold=1.0, pred_threshold=0.95,
                 mean_views=None, collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.weight_fg = weight_fg
        self.weight_bg = weight_bg
        self.white_threshold = white_threshold
        self.pred_threshold = pred_threshold
        self.mean_views = None
        self._resized = {}
        if mean_views is not None:
            self.set_mean_views(mean_views)

    def set_mean_views(self, mean_views: Optional[Union[np.ndarray, torch.Tensor]]) -> None:
        """Set (or clear, with None) the per-pose mean views of the baseline.

        Args:
            mean_views: (P, H, W, 3) in 0..255 (the layout of the dataset's images)
                or (P, 3, H, W) in [0, 1].
        """
        self._resized = {}
        if mean_views is None:
            self.mean_views = None
            return
        views = torch.as_tensor(np.asarray(mean_views), dtype=torch.float64)
        if views.dim() != 4 or 3 not in (views.shape[1], views.shape[-1]):
            raise ValueError(f'ViewMetric: mean_views must be (P, H, W, 3) or (P, 3, H, W), '
                             f'got {tuple(views.shape)}')
        if views.shape[1] != 3:  # (P, H, W, 3) in 0..255
            views = views.permute(0, 3, 1, 2) / 255.0
        self.mean_views = views.contiguous()

    def _baseline_views(self, indices: Sequence[int], size) -> torch.Tensor:
        """Mean views of the poses ``indices`` at ``size`` (H, W): (V, 3, H, W)."""
        size = tuple(int(s) for s in size)
        if size not in self._resized:
            views = self.mean_views
            if tuple(views.shape[-2:]) != size:  # area averaging is linear: mean of resized
                views = F.interpolate(views, size=size, mode='area')
            self._resized[size] = views
        views = self._resized[size]
        indices = torch.as_tensor(np.asarray(indices), dtype=torch.long).reshape(-1)
        if indices.numel() and (indices.min() < 0 or indices.max() >= len(views)):
            raise ValueError(f'ViewMetric: view index out of range 0..{len(views) - 1}: '
                             f'{indices.tolist()}')
        return views[indices]

    @staticmethod
    def _get(sample, key, required=True):
        if isinstance(sample, dict):
            value = sample.get(key)
            if value is None and isinstance(sample.get('metainfo'), dict):
                value = sample['metainfo'].get(key)
        else:
            value = getattr(sample, key, None)
        if value is None and required:
            raise KeyError(f'ViewMetric: prediction lacks {key!r}; run the model in '
                           "'predict' mode with ground-truth views in the batch")
        return value

    def _stats(self, pred, gt):
        return view_stats(pred, gt, self.weight_fg, self.weight_bg, self.white_threshold,
                          self.pred_threshold)

    def process(self, data_batch, data_samples):
        """Add one result per sample: the (V,) scores of its views (and of the baseline)."""
        for sample in data_samples:
            pred = self._get(sample, 'pred_views').detach().float().cpu()
            gt = self._get(sample, 'gt_views').detach().cpu()
            gt = gt.float() / 255.0 if gt.dtype == torch.uint8 else gt.float()
            if pred.shape != gt.shape or pred.dim() != 4:
                raise ValueError(f'ViewMetric: pred_views {tuple(pred.shape)} and gt_views '
                                 f'{tuple(gt.shape)} must both be (V, 3, H, W)')
            result = self._stats(pred, gt)
            indices = self._get(sample, 'view_indices', required=False)
            if self.mean_views is not None and indices is not None:
                base = self._baseline_views(indices, gt.shape[-2:])
                if len(base) != len(gt):
                    raise ValueError(f'ViewMetric: {len(gt)} views but {len(base)} view '
                                     'indices')
                for k, v in self._stats(base, gt).items():
                    result['baseline_' + k] = v
            self.results.append(result)

    def compute_metrics(self, results):
        """-> dict(loss, mse, mse_fg, mse_bg, fg_iou[, baseline_*]), means over all views."""
        if not results:
            raise ValueError('ViewMetric: no predictions were processed')
        keys = list(STAT_KEYS)  # 'loss' first: save_best='auto'
        if all('baseline_loss' in r for r in results):
            keys += ['baseline_' + k for k in STAT_KEYS]
        return {k: float(np.concatenate([np.atleast_1d(r[k]) for r in results]).mean())
                for k in keys}
