import os
import os.path as osp

import numpy as np
import pytest
import torch

from tap3d.datasets import ScanNetSegDataset
from tap3d.datasets.io import DataFileError
from tap3d.datasets.scannet_constants import SEG_CLASSES


def _scene_arrays(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return dict(coord=rng.uniform(0, 3, (n, 3)).astype(np.float32),
                color=rng.integers(0, 256, (n, 3)).astype(np.uint8),
                normal=np.tile(np.float32([0, 0, 1]), (n, 1)),
                segment20=(np.arange(n) % 21 - 1).astype(np.int64),
                instance=(np.arange(n) % 4 - 1).astype(np.int64))


def _write_npy(root, split, scene_id, arrays):
    d = osp.join(root, split, scene_id)
    os.makedirs(d, exist_ok=True)
    for k, v in arrays.items():
        np.save(osp.join(d, f'{k}.npy'), v)
    return d


def test_pointcept_folders(tmp_path):
    root = str(tmp_path)
    a = _scene_arrays()
    _write_npy(root, 'train', 'scene0001_00', a)
    _write_npy(root, 'train', 'scene0000_00', _scene_arrays(30, 1))
    ds = ScanNetSegDataset(root, 'train')
    assert len(ds) == 2 and ds.metainfo['classes'] == SEG_CLASSES
    assert ds.metainfo['ignore_index'] == -1
    s = ds[1]  # sorted: scene0001_00 second
    assert s['scene_id'] == 'scene0001_00' and s['num_points'] == 40
    np.testing.assert_array_equal(s['coord'], a['coord'])
    assert s['color'].dtype == np.float32 and s['color'].max() > 1
    np.testing.assert_array_equal(s['segment'], a['segment20'])
    assert s['segment'].dtype == np.int64 and s['segment'].min() == -1
    np.testing.assert_array_equal(s['instance'], a['instance'])


def test_test_split_without_labels(tmp_path):
    a = _scene_arrays()
    del a['segment20'], a['instance']
    _write_npy(str(tmp_path), 'test', 'scene0707_00', a)
    s = ScanNetSegDataset(str(tmp_path), 'test')[0]
    assert np.all(s['segment'] == -1) and np.all(s['instance'] == -1)


def test_pth_form(tmp_path):
    root = str(tmp_path)
    os.makedirs(osp.join(root, 'val'))
    a = _scene_arrays()
    torch.save(dict(coord=a['coord'], color=a['color'].astype(np.float64), normal=a['normal'],
                    semantic_gt20=a['segment20'], instance_gt=a['instance']),
               osp.join(root, 'val', 'scene0011_00.pth'))
    ds = ScanNetSegDataset(root, 'val')
    s = ds[0]
    assert s['data_format'] == 'pth' and s['scene_id'] == 'scene0011_00'
    np.testing.assert_array_equal(s['segment'], a['segment20'])
    np.testing.assert_allclose(s['color'], a['color'])
    assert s['normal'].shape == (40, 3)
    # a non-dict file is refused with the file's name
    torch.save(torch.zeros(3), osp.join(root, 'val', 'scene0012_00.pth'))
    with pytest.raises(DataFileError, match='scene0012_00.pth: expected a dict'):
        ScanNetSegDataset(root, 'val')[1]


@pytest.mark.parametrize('broken, message', [
    (dict(segment20=np.zeros(39, np.int64)), r'segment has shape \(39,\) but the scene has 40'),
    (dict(normal=np.zeros((40, 2), np.float32)), r'normal.npy: expected normal of shape'),
    (dict(coord=np.full((40, 3), np.nan, np.float32)), 'coord.npy: holds NaN'),
    (dict(segment20=np.full(40, 25)), r'segment labels must lie in -1..19'),
    (dict(coord=np.zeros((0, 3), np.float32)), 'the scene has no points'),
    (dict(coord=np.ones((40, 3), np.float32)), 'all 40 points coincide'),
])
def test_clear_errors(tmp_path, broken, message):
    a = _scene_arrays()
    a.update(broken)
    d = _write_npy(str(tmp_path), 'train', 'scene0000_00', a)
    with pytest.raises(DataFileError, match=message) as info:
        ScanNetSegDataset(str(tmp_path), 'train')[0]
    assert d in str(info.value)


def test_tiny_scenes_are_refused_unless_allowed(tmp_path):
    d = _write_npy(str(tmp_path), 'train', 'scene0000_00', _scene_arrays(10))
    with pytest.raises(DataFileError, match='only 10 points; at least 32') as info:
        ScanNetSegDataset(str(tmp_path), 'train')[0]
    assert str(info.value).startswith(d)
    assert ScanNetSegDataset(str(tmp_path), 'train', min_points=8)[0]['num_points'] == 10


def test_missing_labels_and_folders(tmp_path):
    with pytest.raises(DataFileError, match='split folder not found'):
        ScanNetSegDataset(str(tmp_path), 'train')
    os.makedirs(tmp_path / 'train')
    with pytest.raises(DataFileError, match='no scenes found'):
        ScanNetSegDataset(str(tmp_path), 'train')
    a = _scene_arrays()
    del a['segment20']
    _write_npy(str(tmp_path), 'train', 'scene0000_00', a)
    with pytest.raises(DataFileError, match='segment20.npy: no semantic labels'):
        ScanNetSegDataset(str(tmp_path), 'train')[0]


def test_reads_synthetic_scenes_with_the_ptv2_pipeline(tmp_path):
    from mmengine.registry import init_default_scope

    from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
    init_default_scope('tap3d')  # as the runtime config does
    root = str(tmp_path / 'syn')
    write_synthetic_scenes(root, 1, 1, points_per_scene=3000, seed=0)
    pipeline = [dict(type='CenterShift', apply_z=True),
                dict(type='GridSample', grid_size=0.05, mode='train'),
                dict(type='SphereCrop', point_max=800, mode='random'),
                dict(type='CenterShift', apply_z=False),
                dict(type='NormalizeColor'),
                dict(type='BuildFeat', keys=('coord', 'color', 'normal')),
                dict(type='PackPointInputs')]
    out = ScanNetSegDataset(root, 'train', pipeline=pipeline)[0]
    assert out['inputs']['feat'].shape == (800, 9)
    labels = out['data_samples'].gt_sem_labels
    assert labels.shape == (800, ) and labels.dtype == torch.int64
    assert out['data_samples'].metainfo['scene_id'] == 'scene0000_00'


def test_several_splits(tmp_path):
    root = str(tmp_path)
    _write_npy(root, 'train', 'scene0000_00', _scene_arrays())
    _write_npy(root, 'val', 'scene0100_00', _scene_arrays(35))
    ds = ScanNetSegDataset(root, ['train', 'val'])
    assert [ds[i]['scene_id'] for i in range(2)] == ['scene0000_00', 'scene0100_00']
    assert ds[1]['split'] == 'val' and ds[1]['num_points'] == 35
