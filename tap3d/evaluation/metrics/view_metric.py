"""Validation metric for TAP pre-training: how well are the views generated?"""
import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from tap3d.registry import METRICS


@METRICS.register_module()
class ViewMetric(BaseMetric):
    """Mean view MSE, fg/bg-weighted loss, fg/bg MSEs and foreground IoU.

    Reads ``pred_views`` and ``gt_views`` (V, 3, H, W) in [0, 1] from the
    predictions of ``TAPPretrainer`` (mode ``'predict'``). Every number is the mean
    over all validation views.

    Args:
        weight_fg (float), weight_bg (float): weights of the reported ``loss``.
        white_threshold (float): ground-truth foreground = any channel below it.
        pred_threshold (float): generated foreground = any channel below it (tap3d's
            renders keep the object at most 0.9 bright, so 0.95 separates it from
            the white background).
    """

    default_prefix = 'view'

    def __init__(self, weight_fg=20.0, weight_bg=1.0, white_threshold=1.0, pred_threshold=0.95,
                 collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.weight_fg = weight_fg
        self.weight_bg = weight_bg
        self.white_threshold = white_threshold
        self.pred_threshold = pred_threshold

    @staticmethod
    def _get(sample, key):
        value = sample.get(key) if isinstance(sample, dict) else getattr(sample, key, None)
        if value is None:
            raise KeyError(f'ViewMetric: prediction lacks {key!r}; run the model in '
                           "'predict' mode with ground-truth views in the batch")
        return value

    def process(self, data_batch, data_samples):
        """Accumulate per-view statistics of one batch."""
        for sample in data_samples:
            pred = self._get(sample, 'pred_views').detach().float().cpu()
            gt = self._get(sample, 'gt_views').detach().cpu()
            gt = gt.float() / 255.0 if gt.dtype == torch.uint8 else gt.float()
            sq = (pred - gt)**2  # (V, 3, H, W)
            fg_gt = (gt < self.white_threshold).any(dim=1)  # (V, H, W)
            fg_pred = (pred < self.pred_threshold).any(dim=1)
            fg3 = fg_gt.unsqueeze(1).expand_as(sq)
            for v in range(pred.shape[0]):
                n_fg = int(fg3[v].sum())
                n_bg = fg3[v].numel() - n_fg
                mse_fg = float(sq[v][fg3[v]].sum()) / max(n_fg, 1)
                mse_bg = float(sq[v][~fg3[v]].sum()) / max(n_bg, 1)
                inter = int((fg_gt[v] & fg_pred[v]).sum())
                union = int((fg_gt[v] | fg_pred[v]).sum())
                self.results.append(dict(
                    mse=float(sq[v].mean()), mse_fg=mse_fg, mse_bg=mse_bg,
                    loss=self.weight_fg * mse_fg + self.weight_bg * mse_bg,
                    fg_iou=inter / union if union else 1.0))

    def compute_metrics(self, results):
        """-> dict(loss, mse, mse_fg, mse_bg, fg_iou), means over views."""
        if not results:
            raise ValueError('ViewMetric: no predictions were processed')
        keys = ('loss', 'mse', 'mse_fg', 'mse_bg', 'fg_iou')  # 'loss' first: save_best='auto'
        return {k: float(np.mean([r[k] for r in results])) for k in keys}
