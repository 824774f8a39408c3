"""ClsMetric: OA / mAcc on hand-made cases and the per-class table in the log."""
import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.structures import BaseDataElement

from tap3d.evaluation.metrics.accuracy import ClsMetric, classification_accuracy
from tap3d.registry import METRICS


def test_hand_made_accuracy():
    gt = np.array([0, 0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 0, 1, 1, 0, 2])
    res = classification_accuracy(pred, gt, 4)
    assert res['overall_acc'] == pytest.approx(100 * 5 / 7)
    # class 0: 3/4, class 1: 1/2, class 2: 1/1; class 3 absent -> not averaged
    assert res['mean_acc'] == pytest.approx(100 * (0.75 + 0.5 + 1.0) / 3)
    assert np.isnan(res['class_acc'][3])
    assert res['class_count'].tolist() == [4, 2, 1, 0]


def test_metric_process_and_table(capsys):
    MMLogger.get_instance('test_accuracy_metric')
    metric = METRICS.build(dict(type='Accuracy'))
    assert isinstance(metric, ClsMetric)
    metric.dataset_meta = dict(classes=('chair', 'table', 'lamp'))
    samples = []
    for gt, pred in [(0, 0), (0, 1), (1, 1), (2, 2), (2, 2)]:
        s = BaseDataElement(gt_label=torch.tensor([gt]), pred_label=torch.tensor(pred))
        samples.append(s.to_dict() if gt % 2 else s)  # both dicts and data elements work
    metric.process({}, samples)
    out = metric.evaluate(size=5)
    assert out['cls/overall_acc'] == pytest.approx(80.0)
    assert out['cls/mean_acc'] == pytest.approx(100 * (0.5 + 1 + 1) / 3)
    logged = capsys.readouterr().out
    assert 'chair' in logged and '50.00' in logged and 'lamp' in logged


def test_missing_prediction_raises():
    metric = ClsMetric()
    with pytest.raises(KeyError, match='pred_label'):
        metric.process({}, [dict(gt_label=torch.tensor([0]))])
