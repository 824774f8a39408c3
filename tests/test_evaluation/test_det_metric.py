import math

import numpy as np
import pytest
import torch

from tap3d.evaluation.metrics.det_metric import DetMetric, voc_ap
from tap3d.geometry.boxes import axis_aligned_iou_3d_np


def _sample(pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels):
    return dict(pred_bboxes_3d=torch.tensor(pred_boxes, dtype=torch.float32).reshape(-1, 6),
                pred_scores_3d=torch.tensor(pred_scores, dtype=torch.float32),
                pred_labels_3d=torch.tensor(pred_labels),
                gt_bboxes_3d=torch.tensor(gt_boxes, dtype=torch.float32).reshape(-1, 6),
                gt_labels_3d=torch.tensor(gt_labels))


def _run(samples, classes=('a', 'b', 'c')):
    metric = DetMetric(classes=classes)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


GT = [[0, 0, 0, 1, 1, 1], [3, 0, 0, 2, 1, 1]]


def test_perfect_predictions_give_ap_one():
    m = _run([_sample(GT, [0.9, 0.8], [0, 1], GT, [0, 1]),
              _sample(GT[:1], [0.7], [0], GT[:1], [0])])
    assert m['mAP_0.25'] == pytest.approx(1.0) and m['mAP_0.50'] == pytest.approx(1.0)
    assert m['AR_0.25'] == pytest.approx(1.0)
    assert m['a_AP_0.50'] == pytest.approx(1.0)


def test_shifted_box_lies_between_thresholds():
    # Shift by 0.5 along x: IoU = 0.5 / 1.5 = 1/3, between 0.25 and 0.5.
    shifted = [[0.5, 0, 0, 1, 1, 1]]
    assert axis_aligned_iou_3d_np(np.array(shifted), np.array(GT[:1]))[0, 0] == pytest.approx(1 / 3)
    m = _run([_sample(shifted, [0.9], [0], GT[:1], [0])])
    assert m['a_AP_0.25'] == pytest.approx(1.0)
    assert m['a_AP_0.50'] == pytest.approx(0.0)
    assert m['AR_0.50'] == pytest.approx(0.0)


def test_duplicates_are_false_positives():
    # Two objects; the duplicate of object 1 ranks second, object 2 third.
    boxes = [GT[0], GT[0], GT[1]]
    m = _run([_sample(boxes, [0.9, 0.8, 0.7], [0, 0, 0], GT, [0, 0])])
    # Precision/recall: (1, .5), (.5, .5), (2/3, 1) -> interpolated AP = .5*1 + .5*2/3.
    assert m['a_AP_0.25'] == pytest.approx(0.5 + 0.5 * 2 / 3)
    # Ranked last the duplicate does not lower AP, but it is still not a hit.
    m = _run([_sample(boxes, [0.9, 0.1, 0.7], [0, 0, 0], GT, [0, 0])])
    assert m['a_AP_0.25'] == pytest.approx(1.0)


def test_class_without_ground_truth_is_excluded():
    # Class 'c' is predicted but absent from the ground truth: nan, not in the mean.
    m = _run([_sample(GT + [[9, 9, 9, 1, 1, 1]], [0.9, 0.8, 0.95], [0, 1, 2], GT, [0, 1])])
    assert math.isnan(m['c_AP_0.25'])
    assert m['mAP_0.25'] == pytest.approx(1.0)
    # A missed class counts as zero.
    m = _run([_sample(GT[:1], [0.9], [0], GT, [0, 1])])
    assert m['b_AP_0.25'] == 0.0 and m['mAP_0.25'] == pytest.approx(0.5)


def test_voc_ap_is_area_not_eleven_point():
    # One hit at recall 0.5 then nothing: area = 0.5 (11-point would give 6/11).
    assert voc_ap(np.array([0.5, 0.5]), np.array([1.0, 0.5])) == pytest.approx(0.5)


def test_reads_data_elements():
    from mmengine.structures import BaseDataElement
    metric = DetMetric(classes=('a', 'b'))
    metric.process({}, [BaseDataElement(**_sample(GT, [0.9, 0.8], [0, 1], GT, [0, 1]))])
    out = metric.compute_metrics(metric.results)
    assert out['mAP_0.50'] == pytest.approx(1.0)
    with pytest.raises(KeyError, match='pred_bboxes_3d'):
        metric.process({}, [dict(gt_bboxes_3d=torch.zeros(0, 6))])
