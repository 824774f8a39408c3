"""Scene semantic segmentation metric: mIoU, mAcc and allAcc with an ignore label."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from tap3d.registry import METRICS


def _as_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def confusion_counts(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                     ignore_index: int = -1) -> np.ndarray:
    """Per-class intersection, prediction and ground-truth counts of one scene.

    Points whose ground truth is ``ignore_index`` are left out entirely.

    Args:
        pred: (N,) predicted class per point.
        gt: (N,) ground-truth class per point (``ignore_index`` = unlabelled).
        num_classes: K.
        ignore_index: the unlabelled value.

    Returns:
        (3, K) int64: intersection, predicted count, target count per class.
    """
    pred, gt = _as_numpy(pred).reshape(-1), _as_numpy(gt).reshape(-1)
    if pred.shape != gt.shape:
        raise ValueError(f'SegMetric: prediction has {pred.shape[0]} points but ground '
                         f'truth has {gt.shape[0]}')
    keep = gt != ignore_index
    pred, gt = pred[keep].astype(np.int64), gt[keep].astype(np.int64)
    if gt.size and (gt.min() < 0 or gt.max() >= num_classes):
        raise ValueError(f'SegMetric: ground-truth labels must be in [0, {num_classes}) '
                         f'or {ignore_index}, got range [{gt.min()}, {gt.max()}]')
    if pred.size and (pred.min() < 0 or pred.max() >= num_classes):
        raise ValueError(f'SegMetric: predicted labels must be in [0, {num_classes}), '
                         f'got range [{pred.min()}, {pred.max()}]')
    inter = np.bincount(gt[pred == gt], minlength=num_classes)
    return np.stack([inter,
                     np.bincount(pred, minlength=num_classes),
                     np.bincount(gt, minlength=num_classes)]).astype(np.int64)


def seg_scores(counts: np.ndarray) -> Dict[str, np.ndarray]:
    """mIoU / mAcc / allAcc from summed counts.

    Args:
        counts: (3, K) from :func:`confusion_counts`, summed over scenes.

    Returns:
        dict with per-class ``iou`` and ``acc`` (K,) (NaN where undefined) and the
        scalars ``mIoU`` (mean IoU over classes with union > 0), ``mAcc`` (mean
        recall over classes present in the ground truth) and ``allAcc`` (overall
        point accuracy).
    """
    inter, pred, target = counts.astype(np.float64)
    union = pred + target - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, inter / union, np.nan)
        acc = np.where(target > 0, inter / target, np.nan)
    total = target.sum()
    return dict(
        iou=iou,
        acc=acc,
        mIoU=float(np.nanmean(iou)) if np.any(union > 0) else float('nan'),
        mAcc=float(np.nanmean(acc)) if np.any(target > 0) else float('nan'),
        allAcc=float(inter.sum() / total) if total > 0 else float('nan'))


@METRICS.register_module()
class SegMetric(BaseMetric):
    """Semantic segmentation metric over scenes (ScanNet protocol).

    Each data sample must carry ``pred_sem_labels (N,)`` and ``gt_sem_labels
    (N,)`` over the same points. Per class c, over points with a label:
    ``IoU_c = TP / (TP + FP + FN)`` and ``Acc_c = TP / (TP + FN)``.

    - ``mIoU``: mean IoU over the classes whose union is non-empty (a class absent
      from both ground truth and prediction is undefined, not 0 or 1, and is
      left out, as Pointcept does). A class predicted but absent from the ground
      truth counts with IoU 0.
    - ``mAcc``: mean Acc over the classes present in the ground truth.
    - ``allAcc``: correctly labelled points / labelled points.

    Scores are fractions in [0, 1]. A per-class table is logged.

    Args:
        num_classes: K; default from ``dataset_meta['classes']``.
        ignore_index: ground-truth value of unlabelled points.
        class_names: names for the table; default from ``dataset_meta``.
        per_class_in_results: also return ``IoU.<class>`` entries.
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`.
    """
    default_prefix = None

    def __init__(self,
                 num_classes: Optional[int] = None,
                 ignore_index: int = -1,
                 class_names: Optional[Sequence[str]] = None,
                 per_class_in_results: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = list(class_names) if class_names is not None else None
        self.per_class_in_results = per_class_in_results

    def _names(self) -> List[str]:
        if self.class_names is not None:
            return self.class_names
        meta = self.dataset_meta or {}
        if 'classes' in meta:
            return list(meta['classes'])
        if self.num_classes is None:
            raise ValueError('SegMetric needs num_classes, class_names or '
                             "dataset_meta['classes']")
        return [str(i) for i in range(self.num_classes)]

    def _num_classes(self) -> int:
        return self.num_classes if self.num_classes is not None else len(self._names())

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Accumulate the (3, K) counts of each predicted scene."""
        k = self._num_classes()
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else lambda n: getattr(sample, n, None)
            pred, gt = get('pred_sem_labels'), get('gt_sem_labels')
            if pred is None or gt is None:
                raise KeyError('SegMetric: each data sample needs pred_sem_labels and '
                               'gt_sem_labels')
            self.results.append(confusion_counts(pred, gt, k, self.ignore_index))

    def compute_metrics(self, results: List[np.ndarray]) -> Dict[str, float]:
        scores = seg_scores(np.sum(results, axis=0))
        names = self._names()
        lines = [f'{"class":<18}{"IoU":>8}{"Acc":>8}']
        for name, iou, acc in zip(names, scores['iou'], scores['acc']):
            lines.append(f'{name:<18}{100 * iou:>8.2f}{100 * acc:>8.2f}')
        lines.append(f'{"mean":<18}{100 * scores["mIoU"]:>8.2f}{100 * scores["mAcc"]:>8.2f}')
        lines.append(f'allAcc {100 * scores["allAcc"]:.2f}')
        MMLogger.get_current_instance().info('per-class results:\n' + '\n'.join(lines))
        out = {key: scores[key] for key in ('mIoU', 'mAcc', 'allAcc')}
        if self.per_class_in_results:
            out.update({f'IoU.{n}': float(v) for n, v in zip(names, scores['iou'])})
        return out


__all__ = ['SegMetric', 'confusion_counts', 'seg_scores']
