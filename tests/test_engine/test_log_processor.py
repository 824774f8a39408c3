"""Validation and test metrics reach the log and scalars.json exactly as computed."""
import glob
import json
import os.path as osp

from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.runner import Runner

from tap3d.registry import METRICS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CFG = osp.join(REPO, 'tests', 'fixtures', 'toy_cls_config.py')


@METRICS.register_module(force=True)
class CountingLossMetric(BaseMetric):
    """Returns loss = 1, 2, 3, ... on successive evaluations: any smoothing shows."""

    default_prefix = 'toy'

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.extend(0.0 for _ in data_samples)

    def compute_metrics(self, results):
        self.calls += 1
        return dict(loss=float(self.calls), other=10.0 * self.calls)


def test_val_and_test_metrics_are_not_smoothed(tmp_path):
    cfg = Config.fromfile(TOY_CFG)
    assert cfg.log_processor.type == 'ExactEvalLogProcessor'  # the default runtime's
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.update(max_epochs=3, val_interval=1)
    cfg.val_evaluator = dict(type='CountingLossMetric')
    cfg.test_evaluator = dict(type='CountingLossMetric')
    cfg.default_hooks.checkpoint.update(save_best='toy/loss', rule='greater')
    cfg.visualizer.name = f'exact_log_{osp.basename(str(tmp_path))}'
    runner = Runner.from_cfg(cfg)
    runner.train()
    runner.test()
    runner.test()

    (scalars, ) = glob.glob(osp.join(str(tmp_path), '*', 'vis_data', 'scalars.json'))
    with open(scalars) as f:
        rows = [json.loads(line) for line in f]
    val = [(r['step'], r['toy/loss'], r['toy/other']) for r in rows if 'toy/loss' in r]
    # mmengine's LogProcessor would log 1.0, 1.5, 2.0 (the running mean of 'loss' keys)
    assert val == [(1, 1.0, 10.0), (2, 2.0, 20.0), (3, 3.0, 30.0)]
    (log_file, ) = glob.glob(osp.join(str(tmp_path), '*', '*.log'))
    with open(log_file) as f:
        log = f.read()
    assert 'Epoch(val) [3][2/2]    toy/loss: 3.0000  toy/other: 30.0000' in log
    assert 'best checkpoint with 3.0000 toy/loss at 3 epoch' in log
    tests = [line for line in log.splitlines() if 'Epoch(test)' in line and 'toy/' in line]
    assert len(tests) == 2
    assert 'toy/loss: 1.0000' in tests[0] and 'toy/loss: 2.0000' in tests[1]
    # the training log still smooths its losses over the window
    assert runner.log_processor.window_size == 50
