"""3D detection metric: per-class VOC average precision at 3D IoU thresholds.

The protocol of VoteNet / 3DETR on ScanNet (DATA.md):

- predictions of a class are sorted by score over the whole split; each is a
  true positive if its best-overlapping, not yet matched ground-truth box of
  that class in the same scene has IoU >= the threshold; a second detection of
  an already matched box (a duplicate) is a false positive;
- AP is the area under the interpolated precision-recall curve (precision made
  monotone from the right, summed over the recall steps), not the 11-point
  version;
- recall of a class is its final recall (all predictions kept); AR is the mean
  of those over classes.

Classes that have no ground-truth box in the evaluated split have undefined
recall; they are left out of mAP and AR and shown as ``nan`` in the table.
(The 3DETR evaluator counts such a class as AP 0 when it was predicted; with
every class present in a full ScanNet val split both agree.)
"""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from tap3d.geometry.boxes import axis_aligned_iou_3d_np
from tap3d.registry import METRICS

__all__ = ['DetMetric', 'voc_ap', 'eval_class_ap']


def voc_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """Area under the interpolated precision-recall curve (VOC 2010+ style).

    rec, prec: ``(P,)`` recall and precision after each ranked prediction.
    """
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def eval_class_ap(scene_ids: np.ndarray, boxes: np.ndarray, scores: np.ndarray,
                  gts: Dict[int, np.ndarray], iou_thr: float):
    """AP and final recall of one class.

    Args:
        scene_ids: ``(P,)`` scene of each prediction of this class.
        boxes: ``(P, 6)`` predicted boxes; scores: ``(P,)``.
        gts: ``scene_id -> (G, 6)`` ground-truth boxes of this class.
        iou_thr: IoU threshold.

    Returns:
        ``(ap, recall)``; both nan when there is no ground truth.
    """
    npos = sum(len(g) for g in gts.values())
    if npos == 0:
        return float('nan'), float('nan')
    if len(scores) == 0:
        return 0.0, 0.0
    order = np.argsort(-scores, kind='stable')
    rank_scenes = scene_ids[order]
    tp_ranked = np.zeros(len(order))
    # Greedy matching only interacts within a scene, so each scene is matched on
    # its own, in the global ranking order.
    for scene in np.unique(scene_ids):
        g = gts.get(int(scene))
        if g is None or len(g) == 0:
            continue
        ranks = np.flatnonzero(rank_scenes == scene)
        ious = axis_aligned_iou_3d_np(boxes[order[ranks]], g)
        best, best_iou = ious.argmax(1), ious.max(1)
        used = np.zeros(len(g), bool)
        for r, j, v in zip(ranks, best, best_iou):
            if v >= iou_thr and not used[j]:
                used[j] = True
                tp_ranked[r] = 1
    tp = np.cumsum(tp_ranked)
    fp = np.cumsum(1 - tp_ranked)
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return voc_ap(rec, prec), float(rec[-1])


def _np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _field(sample: dict, key: str):
    if key in sample:
        return sample[key]
    for sub in ('gt_instances_3d', 'pred_instances_3d'):
        inner = sample.get(sub)
        if isinstance(inner, dict):
            short = key.replace('gt_', '').replace('pred_', '')
            if short in inner:
                return inner[short]
    raise KeyError(f'det_metric: data sample has no {key!r} (keys: {sorted(sample)})')


@METRICS.register_module()
class DetMetric(BaseMetric):
    """Per-class AP and recall at 3D IoU thresholds, with mAP and AR.

    Reads ``pred_bboxes_3d (K, 6)``, ``pred_scores_3d (K,)``, ``pred_labels_3d (K,)``
    and ``gt_bboxes_3d (G, 6)``, ``gt_labels_3d (G,)`` from each data sample.

    Args:
        iou_thrs: IoU thresholds (0.25, 0.5).
        classes: class names; default ``dataset_meta['classes']``, else indices.

    Metrics: ``mAP_0.25``, ``AR_0.25``, ``mAP_0.50``, ``AR_0.50`` and per class
    ``{name}_AP_0.25`` etc.; a per-class table is logged.
    """
    default_prefix = 'det'

    def __init__(self, iou_thrs: Sequence[float] = (0.25, 0.5),
                 classes: Optional[Sequence[str]] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_thrs = tuple(iou_thrs)
        self._classes = list(classes) if classes is not None else None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            if not isinstance(s, dict):
                s = s.to_dict()
            self.results.append(dict(
                pred_bboxes=_np(_field(s, 'pred_bboxes_3d')).reshape(-1, 6).astype(np.float32),
                pred_scores=_np(_field(s, 'pred_scores_3d')).reshape(-1).astype(np.float32),
                pred_labels=_np(_field(s, 'pred_labels_3d')).reshape(-1).astype(np.int64),
                gt_bboxes=_np(_field(s, 'gt_bboxes_3d')).reshape(-1, 6).astype(np.float32),
                gt_labels=_np(_field(s, 'gt_labels_3d')).reshape(-1).astype(np.int64)))

    def class_names(self, num: int) -> List[str]:
        classes = self._classes
        if classes is None and self.dataset_meta:
            classes = self.dataset_meta.get('classes')
        if classes is None:
            return [str(i) for i in range(num)]
        return list(classes)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        scene_ids = np.concatenate([np.full(len(r['pred_scores']), i)
                                    for i, r in enumerate(results)] + [np.zeros(0, int)])
        boxes = np.concatenate([r['pred_bboxes'] for r in results] + [np.zeros((0, 6))])
        scores = np.concatenate([r['pred_scores'] for r in results] + [np.zeros(0)])
        labels = np.concatenate([r['pred_labels'] for r in results] + [np.zeros(0, int)])
        gts = defaultdict(dict)
        max_label = int(labels.max()) if labels.size else -1
        for scene, r in enumerate(results):
            for c in np.unique(r['gt_labels']):
                gts[int(c)][scene] = r['gt_bboxes'][r['gt_labels'] == c]
            if r['gt_labels'].size:
                max_label = max(max_label, int(r['gt_labels'].max()))
        names = self.class_names(max_label + 1)
        num = max(len(names), max_label + 1)
        names = names + [str(i) for i in range(len(names), num)]
        metrics = {}
        table = {}
        for thr in self.iou_thrs:
            aps, recs = [], []
            for c in range(num):
                m = labels == c
                ap, rec = eval_class_ap(scene_ids[m], boxes[m], scores[m], gts.get(c, {}), thr)
                table.setdefault(names[c], []).extend([ap, rec])
                metrics[f'{names[c]}_AP_{thr:.2f}'] = ap
                if not np.isnan(ap):
                    aps.append(ap)
                    recs.append(rec)
            metrics[f'mAP_{thr:.2f}'] = float(np.mean(aps)) if aps else 0.0
            metrics[f'AR_{thr:.2f}'] = float(np.mean(recs)) if recs else 0.0
        self._log_table(table, metrics)
        return metrics

    def _log_table(self, table: dict, metrics: dict) -> None:
        head = ''.join(f'  AP@{t:.2f}  AR@{t:.2f}' for t in self.iou_thrs)
        width = max([len(n) for n in table] + [8])
        lines = [f'{"class":<{width}}{head}']
        for name, vals in table.items():
            lines.append(f'{name:<{width}}' + ''.join(f'{v * 100:9.2f}' for v in vals))
        lines.append(f'{"overall":<{width}}' + ''.join(
            f'{metrics[f"mAP_{t:.2f}"] * 100:9.2f}{metrics[f"AR_{t:.2f}"] * 100:9.2f}'
            for t in self.iou_thrs))
        MMLogger.get_current_instance().info('3D detection results:\n' + '\n'.join(lines))
