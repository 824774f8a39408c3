"""ScanObjectNN reader: the three variants round-trip, malformed files name themselves."""
import os.path as osp

import h5py
import numpy as np
import pytest

from tap3d.datasets.io import DataFileError
from tap3d.datasets.scanobjectnn import ScanObjectNNDataset, scanobjectnn_file


def _write(path, data, label, **extra):
    import os
    os.makedirs(osp.dirname(path), exist_ok=True)
    with h5py.File(path, 'w') as f:
        if data is not None:
            f['data'] = data
        if label is not None:
            f['label'] = label
        for k, v in extra.items():
            f[k] = v


@pytest.fixture
def root(tmp_path):
    rng = np.random.default_rng(0)
    for variant in ('obj_bg', 'obj_only', 'pb_t50_rs'):
        for split in ('train', 'test'):
            path = scanobjectnn_file(str(tmp_path), variant, split)
            if osp.exists(path):
                continue
            n = 6 if split == 'train' else 4
            _write(path, rng.normal(size=(n, 2048, 3)).astype(np.float32),
                   (np.arange(n) % 15).astype(np.uint8),
                   mask=np.zeros((n, 2048), np.int64))
    return str(tmp_path)


def test_file_layout(tmp_path):
    r = str(tmp_path)
    assert scanobjectnn_file(r, 'obj_bg', 'train').endswith('main_split/training_objectdataset.h5')
    assert scanobjectnn_file(r, 'OBJ_ONLY', 'test').endswith(
        'main_split_nobg/test_objectdataset.h5')
    assert scanobjectnn_file(r, 'pb_t50_rs', 'test').endswith(
        'main_split/test_objectdataset_augmentedrot_scale75.h5')
    with pytest.raises(ValueError, match='variant'):
        scanobjectnn_file(r, 'hardest', 'train')


def test_round_trip_and_axes(root):
    path = scanobjectnn_file(root, 'pb_t50_rs', 'train')
    with h5py.File(path, 'r') as f:
        data, label = f['data'][()], f['label'][()]
    ds = ScanObjectNNDataset(root, variant='pb_t50_rs', split='train')
    assert len(ds) == 6 and len(ds.metainfo['classes']) == 15
    item = ds.get_data_info(3)
    assert item['gt_label'] == int(label[3])
    np.testing.assert_array_equal(item['coord'], data[3][:, [2, 0, 1]])
    raw = ScanObjectNNDataset(root, variant='pb_t50_rs', split='train', to_zup=False)
    np.testing.assert_array_equal(raw.get_data_info(3)['coord'], data[3])
    assert len(ScanObjectNNDataset(root, variant='obj_only', split='test')) == 4


def _clouds(n, p=32):
    """n random (p, 3) clouds: valid points, whatever the test is about."""
    return np.random.default_rng(n).normal(size=(n, p, 3)).astype(np.float32)


def test_h5_files_subfolder_is_accepted(tmp_path):
    path = osp.join(str(tmp_path), 'h5_files', 'main_split', 'test_objectdataset.h5')
    _write(path, _clouds(2), np.array([0, 1]))
    assert len(ScanObjectNNDataset(str(tmp_path), variant='obj_bg', split='test')) == 2


def test_pipeline_packs_a_sample(root):
    from mmengine.registry import init_default_scope
    init_default_scope('tap3d')  # as the runtime config does
    ds = ScanObjectNNDataset(root, variant='obj_bg', split='train', pipeline=[
        dict(type='PointSample', num_points=64),
        dict(type='NormalizePoints'),
        dict(type='BuildFeat', keys=('coord', 'height')),
        dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
    ])
    out = ds[1]
    assert out['inputs']['coord'].shape == (64, 3)
    assert out['inputs']['feat'].shape == (64, 4)
    assert int(out['data_samples'].gt_label) == 1


@pytest.mark.parametrize('data,label,match', [
    (None, np.zeros(2, np.int64), 'lacks keys'),
    (np.zeros((2, 16), np.float32), np.zeros(2, np.int64), 'must be'),
    (np.zeros((2, 16, 3), np.float32), np.zeros(3, np.int64), '2 samples'),
    (np.full((2, 16, 3), np.nan, np.float32), np.zeros(2, np.int64), 'NaN'),
    (_clouds(2), np.array([0, 15]), r'\[0, 15\)'),
    (np.zeros((2, 16, 3), np.float32), np.array([0.5, 1.0]), 'non-integer'),
    # tiny and degenerate inputs (docs/reliability.md)
    (np.zeros((0, 2048, 3), np.float32), np.zeros(0, np.int64), 'holds no samples'),
    (_clouds(2, p=10), np.zeros(2, np.int64), 'every sample: only 10 points; at least 32'),
    (_clouds(2, p=1), np.zeros(2, np.int64), 'only 1 point;'),
    (np.concatenate([_clouds(1, 1024), np.ones((1, 1024, 3), np.float32)]),
     np.zeros(2, np.int64), 'sample 1: all 1024 points coincide'),
])
def test_malformed_files_raise_naming_the_file(tmp_path, data, label, match):
    path = scanobjectnn_file(str(tmp_path), 'obj_bg', 'test')
    _write(path, data, label)
    with pytest.raises(DataFileError, match=match) as err:
        ScanObjectNNDataset(str(tmp_path), variant='obj_bg', split='test')
    assert path in str(err.value)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='training_objectdataset.h5'):
        ScanObjectNNDataset(str(tmp_path), variant='obj_bg', split='train')


def test_min_points_is_configurable(tmp_path):
    path = scanobjectnn_file(str(tmp_path), 'obj_bg', 'test')
    _write(path, _clouds(2, p=10), np.array([0, 1]))
    ds = ScanObjectNNDataset(str(tmp_path), variant='obj_bg', split='test', min_points=8)
    assert ds.get_data_info(0)['coord'].shape == (10, 3)
