"""Classification metric: overall accuracy (OA) and mean class accuracy (mAcc)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log

from tap3d.registry import METRICS

__all__ = ['ClsMetric', 'classification_accuracy', 'format_class_table']


def _to_int(value) -> int:
    if isinstance(value, torch.Tensor):
        return int(value.reshape(-1)[0].item())
    return int(np.asarray(value).reshape(-1)[0])


def classification_accuracy(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> dict:
    """OA, mAcc and per-class accuracy.

    Args:
        pred: (S,) predicted labels.
        gt: (S,) true labels in [0, num_classes).
        num_classes: K.

    Returns:
        ``{'overall_acc': float, 'mean_acc': float, 'class_acc': (K,) array (NaN for
        classes absent from gt), 'class_count': (K,) array}``; accuracies in percent.
        mAcc averages only the classes that occur in ``gt``.
    """
    pred, gt = np.asarray(pred).reshape(-1), np.asarray(gt).reshape(-1)
    if pred.shape != gt.shape:
        raise ValueError(f'{len(pred)} predictions for {len(gt)} labels')
    if len(gt) == 0:
        raise ValueError('no samples to evaluate')
    count = np.bincount(gt, minlength=num_classes)[:num_classes]
    correct = np.bincount(gt[pred == gt], minlength=num_classes)[:num_classes]
    with np.errstate(invalid='ignore', divide='ignore'):
        class_acc = np.where(count > 0, 100.0 * correct / np.maximum(count, 1), np.nan)
    return dict(overall_acc=100.0 * float((pred == gt).mean()),
                mean_acc=float(np.nanmean(class_acc)),
                class_acc=class_acc, class_count=count)


def format_class_table(class_names: Sequence[str], class_acc: np.ndarray,
                       class_count: np.ndarray) -> str:
    """A plain-text table: one row per class with its sample count and accuracy."""
    width = max([len('class')] + [len(n) for n in class_names])
    lines = [f"{'class':<{width}}  {'count':>6}  {'acc (%)':>8}", '-' * (width + 18)]
    for name, acc, n in zip(class_names, class_acc, class_count):
        acc_s = '-' if np.isnan(acc) else f'{acc:.2f}'
        lines.append(f'{name:<{width}}  {int(n):>6}  {acc_s:>8}')
    return '\n'.join(lines)


@METRICS.register_module()
@METRICS.register_module(name='Accuracy')
class ClsMetric(BaseMetric):
    """OA and mAcc over a classification dataset, with a per-class table in the log.

    Reads ``pred_label`` and ``gt_label`` of each predicted data sample. Voting,
    when enabled, happens in the model (``test_cfg.voting``), so the metric sees
    the voted predictions.

    Args:
        num_classes: K; defaults to the length of ``dataset_meta['classes']``.
        print_table: log the per-class table with ``MMLogger``.
        collect_device, prefix: as in :class:`mmengine.evaluator.BaseMetric`.

    Results: ``{prefix}/overall_acc`` and ``{prefix}/mean_acc`` in percent.
    """

    default_prefix = 'cls'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 print_table: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self.print_table = print_table

    def process(self, data_batch, data_samples: Sequence) -> None:
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else (
                lambda k, s=sample: getattr(s, k, None))
            pred, gt = get('pred_label'), get('gt_label')
            if pred is None or gt is None:
                raise KeyError('ClsMetric needs pred_label and gt_label in every data sample')
            self.results.append((_to_int(pred), _to_int(gt)))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        arr = np.asarray(results, dtype=np.int64).reshape(-1, 2)
        names = list((self.dataset_meta or {}).get('classes', []))
        num_classes = self.num_classes or len(names) or int(arr.max()) + 1
        if len(names) != num_classes:
            names = [f'class_{k}' for k in range(num_classes)]
        res = classification_accuracy(arr[:, 0], arr[:, 1], num_classes)
        if self.print_table:
            table = format_class_table(names, res['class_acc'], res['class_count'])
            print_log('\nPer-class accuracy:\n' + table + f"\nOA {res['overall_acc']:.2f}  "
                      f"mAcc {res['mean_acc']:.2f}", logger=MMLogger.get_current_instance())
        return dict(overall_acc=res['overall_acc'], mean_acc=res['mean_acc'])
