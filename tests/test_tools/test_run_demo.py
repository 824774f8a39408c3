"""tools/run_demo.py on the tiny synthetic world: several seeds, and determinism."""
import filecmp
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=REPO)


def _run(*args, timeout=600):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=ENV, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _world(out, workers):
    _run('tools/create_data.py', 'synthetic', '--tiny', '--only', 'shapenet55,scanobjectnn',
         '--out', out, '--workers', str(workers))
    return out


def _demo(world, work_dir, *seeds):
    _run('tools/run_demo.py', '--quick', '--tiny', '--data-root', world, '--work-dir', work_dir,
         '--seeds', *map(str, seeds))
    with open(osp.join(work_dir, 'results.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def two_seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo')
    world = _world(str(root / 'world'), workers=1)
    work_dir = str(root / 'two_seeds')
    return world, work_dir, _demo(world, work_dir, 0, 1)


def test_seeds_report_per_seed_mean_std_and_paired_difference(two_seeds):
    _, work_dir, res = two_seeds
    assert res['seeds'] == [0, 1] and set(res['per_seed']) == {'0', '1'}
    for seed in ('0', '1'):
        run = res['per_seed'][seed]
        view = run['pretrain']['metrics']
        # the model and the mean-view baseline, scored on the same test views
        for key in ('loss', 'mse', 'fg_iou'):
            assert f'view/{key}' in view and f'view/baseline_{key}' in view
        for arm in ('scratch', 'tap'):
            assert 'cls/overall_acc' in run[arm]['metrics']
            assert [epoch for epoch, _ in run[arm]['val_curve']] == [1]
    summary = res['summary']
    diff = summary['oa_tap_minus_scratch']
    oa = {arm: summary[f'oa_{arm}']['values'] for arm in ('scratch', 'tap')}
    assert diff['values'] == pytest.approx([t - s for t, s in zip(oa['tap'], oa['scratch'])])
    assert diff['mean'] == pytest.approx(sum(diff['values']) / 2)
    assert diff['std'] == pytest.approx(abs(diff['values'][0] - diff['values'][1]) / 2**0.5)
    with open(osp.join(work_dir, 'results.md')) as f:
        table = f.read()
    assert '| mean ± std |' in table and 'mean view' in table
    with open(res['plot'], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert osp.isfile(res['per_seed']['0']['pretrain']['grid'])


def test_same_seed_same_world_and_same_numbers(two_seeds, tmp_path):
    world, _, res = two_seeds
    # the world: byte for byte, whatever the number of worker processes
    other = _world(str(tmp_path / 'world'), workers=2)
    cmp = filecmp.dircmp(world, other)

    def differences(c):
        diff = c.left_only + c.right_only + filecmp.cmpfiles(c.left, c.right, c.common_files,
                                                             shallow=False)[1]
        return diff + [d for sub in c.subdirs.values() for d in differences(sub)]

    assert differences(cmp) == []
    # the numbers: seed 0 alone, in a fresh process, equals seed 0 of the two-seed run
    again = _demo(world, str(tmp_path / 'again'), 0)['per_seed']['0']
    first = res['per_seed']['0']
    assert again['pretrain']['metrics'] == first['pretrain']['metrics']
    for arm in ('scratch', 'tap'):
        assert again[arm]['metrics'] == first[arm]['metrics']
        assert again[arm]['val_curve'] == first[arm]['val_curve']
