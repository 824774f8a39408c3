"""SegMetric against hand-computed scores (ignore label, absent classes)."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from tap3d.evaluation.metrics.seg_metric import SegMetric, confusion_counts, seg_scores


def _evaluate(metric, scenes):
    for pred, gt in scenes:
        metric.process(None, [dict(pred_sem_labels=torch.tensor(pred),
                                   gt_sem_labels=torch.tensor(gt))])
    return metric.evaluate(len(scenes))


def test_hand_computed_scores_with_ignore_and_absent_class():
    # 4 classes; the two -1 points are ignored (whatever was predicted there);
    # class 3 appears in neither ground truth nor (kept) predictions -> excluded.
    gt = [0, 0, 1, 1, 2, -1, -1, 0]
    pred = [0, 1, 1, 1, 1, 3, 0, 0]
    metric = SegMetric(num_classes=4)
    res = _evaluate(metric, [(pred, gt)])
    # class 0: TP 2, union 3; class 1: TP 2, union 4; class 2: TP 0, union 1
    assert res['mIoU'] == pytest.approx((2 / 3 + 2 / 4 + 0) / 3)
    assert res['mAcc'] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert res['allAcc'] == pytest.approx(4 / 6)


def test_predicted_but_absent_class_counts_as_zero_and_scenes_accumulate():
    scenes = [([0, 0, 1], [0, 0, 1]), ([2, 1], [1, 1])]
    res = _evaluate(SegMetric(num_classes=3), scenes)
    # summed: class 0 IoU 1, class 1 TP 2 / union 3, class 2 predicted only -> IoU 0
    assert res['mIoU'] == pytest.approx((1 + 2 / 3 + 0) / 3)
    # class 2 is absent from the ground truth, so mAcc averages classes 0 and 1
    assert res['mAcc'] == pytest.approx((1 + 2 / 3) / 2)
    assert res['allAcc'] == pytest.approx(4 / 5)


def test_counts_and_scores_directly():
    counts = confusion_counts(np.array([1, 1, 0]), np.array([1, 0, -1]), 3)
    np.testing.assert_array_equal(counts, [[0, 1, 0], [0, 2, 0], [1, 1, 0]])
    scores = seg_scores(counts)
    assert math.isnan(scores['iou'][2]) and math.isnan(scores['acc'][2])
    assert scores['mIoU'] == pytest.approx(0.25)


def test_class_names_from_dataset_meta_and_data_elements():
    metric = SegMetric(per_class_in_results=True)
    metric.dataset_meta = dict(classes=('wall', 'floor'))
    sample = BaseDataElement(pred_sem_labels=torch.tensor([0, 1]),
                             gt_sem_labels=torch.tensor([0, 0]))
    metric.process(None, [sample.to_dict()])
    res = metric.evaluate(1)
    assert res['IoU.wall'] == pytest.approx(0.5) and res['IoU.floor'] == pytest.approx(0.0)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match='points'):
        confusion_counts(np.zeros(3), np.zeros(2), 2)
    with pytest.raises(ValueError, match='ground-truth labels'):
        confusion_counts(np.zeros(2), np.array([0, 5]), 2)
