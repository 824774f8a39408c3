"""converted_test_speed.py: its data file, its upstream checkpoint and its log reading.

The full measurement runs tools/test.py on the paper-sized PointMLP (minutes on a
CPU); these checks cover the pieces it is built from, quickly.
"""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def speed():
    path = osp.join(REPO, 'tools', 'analysis', 'converted_test_speed.py')
    spec = importlib.util.spec_from_file_location('converted_test_speed', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pb_t50_rs_file_reads_as_the_real_variant(speed, tmp_path):
    from tap3d.datasets import ScanObjectNNDataset
    speed.write_pb_t50_rs(str(tmp_path), samples=5, points=64)
    ds = ScanObjectNNDataset(data_root=str(tmp_path), variant='pb_t50_rs', split='test',
                             pipeline=[], test_mode=True)
    assert len(ds) == 5
    item = ds[3]
    assert item['coord'].shape == (64, 3)
    assert 0 <= item['gt_label'] < 15


def test_authors_state_dict_has_the_upstream_layout(speed):
    with open(speed.LAYOUTS) as f:
        layout = json.load(f)['layouts'][speed.LAYOUT]
    sd = speed.authors_state_dict(layout)
    assert list(sd) == list(layout)
    assert all(list(sd[k].shape) == list(v) for k, v in layout.items())
    var = [v for k, v in sd.items() if k.endswith('running_var')]
    assert var and all(float(v.min()) >= 1.0 for v in var)


LOG = """\
01:38:00 INFO Epoch(test) [1/5]    eta: 0:01:40  time: 30.0000  data_time: 2.0000
01:38:20 INFO Epoch(test) [2/5]    eta: 0:01:00  time: 20.0000  data_time: 0.0100
01:38:42 INFO Epoch(test) [3/5]    eta: 0:00:40  time: 22.0000  data_time: 0.0100
01:39:00 INFO Epoch(test) [4/5]    eta: 0:00:20  time: 18.0000  data_time: 0.0200
01:39:05 INFO Epoch(test) [5/5]    eta: 0:00:00  time: 5.0000  data_time: 0.0100
01:39:05 INFO Epoch(test) [5/5]    cls/overall_acc: 6.6667
"""


def test_speed_from_the_log_skips_the_first_and_the_partial_batch(speed):
    rows = speed.parse_test_log(LOG)
    assert [r['iter'] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]['time'] == 30.0 and rows[0]['data_time'] == 2.0
    # 4 full batches of 64 in 270 samples: iterations 2-4 are timed (median 20 s)
    out = speed.samples_per_second(rows, batch_size=64, samples=270)
    assert out['timed_iters'] == 3
    assert np.isclose(out['median_iter_s'], 20.0)
    assert np.isclose(out['samples_per_s'], 64 / 20.0)
    with pytest.raises(ValueError, match='2 full batches'):
        speed.samples_per_second(rows[:1], batch_size=64, samples=270)
