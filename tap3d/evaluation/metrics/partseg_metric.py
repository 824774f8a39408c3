"""Part segmentation metric (ShapeNetPart protocol): mIoU_I, mIoU_C and per-category mIoU."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from tap3d.registry import METRICS

__all__ = ['PartSegMetric', 'shape_part_iou', 'partseg_scores']


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def shape_part_iou(pred: np.ndarray, gt: np.ndarray, parts: Sequence[int]) -> float:
    """Mean IoU of one shape over its category's parts.

    For each part p of ``parts``: ``IoU_p = |pred == p and gt == p| / |pred == p or
    gt == p|``, and 1 when p is absent from both. A point predicted as a part
    outside ``parts`` is simply wrong: it is in no part's intersection, and it
    still counts in the union of its ground-truth part.

    Args:
        pred: (N,) predicted part per point.
        gt: (N,) ground-truth part per point.
        parts: the category's part ids.

    Returns:
        The mean over ``parts``, in [0, 1].
    """
    pred, gt = _as_numpy(pred).reshape(-1), _as_numpy(gt).reshape(-1)
    if pred.shape != gt.shape:
        raise ValueError(f'PartSegMetric: prediction has {pred.shape[0]} points but ground '
                         f'truth has {gt.shape[0]}')
    if len(parts) == 0:
        raise ValueError('PartSegMetric: a category needs at least one part')
    ious = []
    for p in parts:
        pp, gp = pred == p, gt == p
        union = np.logical_or(pp, gp).sum()
        ious.append(1.0 if union == 0 else np.logical_and(pp, gp).sum() / union)
    return float(np.mean(ious))


def partseg_scores(categories: np.ndarray, shape_ious: np.ndarray,
                   num_categories: int) -> Dict[str, object]:
    """mIoU_I, mIoU_C and per-category means from per-shape mIoUs.

    Args:
        categories: (S,) category of each shape.
        shape_ious: (S,) per-shape mIoU.
        num_categories: C.

    Returns:
        ``mIoU_I`` (mean over shapes), ``mIoU_C`` (mean of the per-category means
        over categories with at least one shape), ``per_category`` (C,) (NaN for
        categories without shapes) and ``counts`` (C,), all as fractions.
    """
    categories = np.asarray(categories, dtype=np.int64)
    shape_ious = np.asarray(shape_ious, dtype=np.float64)
    counts = np.bincount(categories, minlength=num_categories)
    sums = np.bincount(categories, weights=shape_ious, minlength=num_categories)
    with np.errstate(invalid='ignore', divide='ignore'):
        per_cat = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return dict(
        mIoU_I=float(shape_ious.mean()) if len(shape_ious) else float('nan'),
        mIoU_C=float(np.nanmean(per_cat)) if (counts > 0).any() else float('nan'),
        per_category=per_cat,
        counts=counts)


@METRICS.register_module()
class PartSegMetric(BaseMetric):
    """ShapeNetPart evaluation.

    Each data sample needs ``pred_part_labels (N,)``, ``gt_part_labels (N,)`` and
    the category ``gt_label``. For every shape, the mean IoU over its category's
    parts (:func:`shape_part_iou`: a part absent from both prediction and ground
    truth counts 1, a prediction outside the category is wrong). Results, in
    percent: ``mIoU_I`` (mean over shapes), ``mIoU_C`` (mean of per-category
    means) and ``IoU.<category>`` for every category in the column order of the
    TAP paper's Table 3 (NaN for a category with no shape). The per-category
    table is logged.

    Args:
        categories: category names; default from ``dataset_meta['categories']``.
        part_ranges: (first part, count) per category; default from
            ``dataset_meta['part_ranges']``.
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`.
    """
    default_prefix = None

    def __init__(self,
                 categories: Optional[Sequence[str]] = None,
                 part_ranges: Optional[Sequence[Tuple[int, int]]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.categories = list(categories) if categories is not None else None
        self.part_ranges = [tuple(r) for r in part_ranges] if part_ranges is not None else None

    def _meta(self) -> Tuple[List[str], List[Tuple[int, int]]]:
        meta = self.dataset_meta or {}
        cats = self.categories if self.categories is not None else meta.get('categories')
        ranges = self.part_ranges if self.part_ranges is not None else meta.get('part_ranges')
        if cats is None or ranges is None:
            from tap3d.datasets.shapenet_part import (
                SHAPENETPART_CATEGORIES,
                SHAPENETPART_PART_RANGES,
            )
            cats = SHAPENETPART_CATEGORIES if cats is None else cats
            ranges = SHAPENETPART_PART_RANGES if ranges is None else ranges
        if len(cats) != len(ranges):
            raise ValueError(f'PartSegMetric: {len(cats)} categories but {len(ranges)} '
                             'part ranges')
        return list(cats), [tuple(r) for r in ranges]

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store (category, shape mIoU) of every predicted shape."""
        _, ranges = self._meta()
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else lambda n: getattr(sample, n, None)
            pred, gt, label = get('pred_part_labels'), get('gt_part_labels'), get('gt_label')
            if pred is None or gt is None or label is None:
                raise KeyError('PartSegMetric: each data sample needs pred_part_labels, '
                               'gt_part_labels and gt_label (the category)')
            cat = int(_as_numpy(label).reshape(-1)[0])
            if not 0 <= cat < len(ranges):
                raise ValueError(f'PartSegMetric: category {cat} outside [0, {len(ranges)})')
            first, count = ranges[cat]
            self.results.append((cat, shape_part_iou(pred, gt, range(first, first + count))))

    def compute_metrics(self, results: List[Tuple[int, float]]) -> Dict[str, float]:
        names, _ = self._meta()
        cats = np.array([r[0] for r in results], dtype=np.int64)
        ious = np.array([r[1] for r in results], dtype=np.float64)
        scores = partseg_scores(cats, ious, len(names))
        lines = [f'{"category":<12}{"shapes":>8}{"mIoU":>8}']
        for name, n, v in zip(names, scores['counts'], scores['per_category']):
            lines.append(f'{name:<12}{int(n):>8}{100 * v:>8.2f}')
        lines.append(f'{"mIoU_C":<12}{len(results):>8}{100 * scores["mIoU_C"]:>8.2f}')
        lines.append(f'{"mIoU_I":<12}{len(results):>8}{100 * scores["mIoU_I"]:>8.2f}')
        MMLogger.get_current_instance().info('part segmentation per category:\n'
                                             + '\n'.join(lines))
        out = {'mIoU_I': 100 * scores['mIoU_I'], 'mIoU_C': 100 * scores['mIoU_C']}
        out.update({f'IoU.{n}': 100 * float(v)
                    for n, v in zip(names, scores['per_category'])})
        return out
