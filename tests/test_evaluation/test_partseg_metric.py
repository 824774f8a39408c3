"""PartSegMetric on hand-made shapes whose scores are worked out by hand."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from tap3d.datasets.shapenet_part import SHAPENETPART_CATEGORIES, SHAPENETPART_PART_RANGES
from tap3d.evaluation.metrics import PartSegMetric
from tap3d.evaluation.metrics.partseg_metric import shape_part_iou

AIRPLANE, BAG, MUG = 0, 1, 11  # parts 0-3, 4-5, 36-37


def sample(category, gt, pred):
    s = BaseDataElement()
    s.gt_label = torch.tensor([category])
    s.gt_part_labels = torch.tensor(gt)
    s.pred_part_labels = torch.tensor(pred)
    return s


def test_shape_iou_by_hand():
    # mug: part 36 -> I 2, U 3; part 37 -> I 3, U 4
    assert shape_part_iou([36, 36, 37, 37, 37, 37], [36, 36, 36, 37, 37, 37],
                          [36, 37]) == pytest.approx((2 / 3 + 3 / 4) / 2)


def test_part_absent_from_prediction_and_ground_truth_counts_one():
    # airplane parts 2 and 3 appear nowhere: IoU 1 each; part 0: 1/2, part 1: 2/3
    assert shape_part_iou([0, 1, 1, 1], [0, 0, 1, 1], range(4)) == pytest.approx(
        (1 / 2 + 2 / 3 + 1 + 1) / 4)
    assert shape_part_iou([0, 0], [0, 0], range(4)) == 1.0


def test_prediction_outside_the_category_is_wrong():
    # bag (parts 4, 5): the point predicted as airplane part 0 misses part 4
    assert shape_part_iou([4, 0, 5, 5], [4, 4, 5, 5], [4, 5]) == pytest.approx(0.75)
    # all points predicted outside: every present part scores 0, absent ones 1
    assert shape_part_iou([9, 9, 9], [4, 4, 4], [4, 5]) == pytest.approx(0.5)


def test_metric_reports_instance_and_category_means():
    metric = PartSegMetric()
    metric.dataset_meta = dict(categories=SHAPENETPART_CATEGORIES,
                               part_ranges=SHAPENETPART_PART_RANGES)
    metric.process(None, [
        sample(MUG, [36, 36, 36, 37, 37, 37], [36, 36, 37, 37, 37, 37]),  # 17/24
        sample(AIRPLANE, [0, 0, 1, 1], [0, 1, 1, 1]),                      # 19/24
        sample(BAG, [4, 4, 5, 5], [4, 0, 5, 5]),                           # 18/24
        sample(AIRPLANE, [0, 1, 1], [0, 1, 1]),                            # 1
    ])
    res = metric.evaluate(4)
    assert res['mIoU_I'] == pytest.approx(100 * (17 + 19 + 18 + 24) / 96)
    airplane = (19 / 24 + 1) / 2
    assert res['IoU.airplane'] == pytest.approx(100 * airplane)
    assert res['IoU.bag'] == pytest.approx(75.0)
    assert res['IoU.mug'] == pytest.approx(100 * 17 / 24)
    assert res['mIoU_C'] == pytest.approx(100 * (airplane + 0.75 + 17 / 24) / 3)
    assert math.isnan(res['IoU.table'])  # no table in this set
    # keys in the paper's Table 3 column order
    assert [k[4:] for k in res if k.startswith('IoU.')] == [
        'airplane', 'bag', 'cap', 'car', 'chair', 'earphone', 'guitar', 'knife', 'lamp',
        'laptop', 'motorbike', 'mug', 'pistol', 'rocket', 'skateboard', 'table']


def test_metric_defaults_to_shapenetpart_without_dataset_meta():
    metric = PartSegMetric()
    metric.process(None, [sample(MUG, np.array([36, 37]), np.array([37, 37]))])
    res = metric.evaluate(1)
    assert res['mIoU_I'] == pytest.approx(100 * (0 + 1 / 2) / 2)


def test_metric_needs_predictions_and_categories():
    metric = PartSegMetric()
    s = sample(MUG, [36], [36])
    del s.gt_label
    with pytest.raises(KeyError, match='gt_label'):
        metric.process(None, [s])
    with pytest.raises(ValueError, match='points'):
        shape_part_iou([1, 2], [1], [1])
