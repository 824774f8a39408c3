"""ModelNet40 readers: resampled txt and h5 forms round-trip; bad files name themselves."""
import os
import os.path as osp

import h5py
import numpy as np
import pytest

from tap3d.datasets.io import DataFileError
from tap3d.datasets.modelnet40 import ModelNet40Dataset, read_modelnet_txt
from tap3d.testing import expect_file_error

CLASSES = ['airplane', 'night_stand', 'cup']


def _resampled(root, per_class=(3, 2), points=50, seed=0):
    rng = np.random.default_rng(seed)
    root = osp.join(root, 'modelnet40_normal_resampled')
    os.makedirs(root)
    with open(osp.join(root, 'modelnet40_shape_names.txt'), 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')
    arrays = {}
    for split, n in zip(('train', 'test'), per_class):
        ids = []
        for cls in CLASSES:
            os.makedirs(osp.join(root, cls), exist_ok=True)
            for k in range(n):
                sid = f'{cls}_{k + 1 + (100 if split == "test" else 0):04d}'
                arr = rng.normal(size=(points, 6)).astype(np.float32)
                np.savetxt(osp.join(root, cls, sid + '.txt'), arr, fmt='%.6f', delimiter=',')
                arrays[sid] = np.loadtxt(osp.join(root, cls, sid + '.txt'), delimiter=',')
                ids.append(sid)
        with open(osp.join(root, f'modelnet40_{split}.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    return root, arrays


def test_resampled_round_trip(tmp_path):
    root, arrays = _resampled(str(tmp_path))
    ds = ModelNet40Dataset(root, split='train', num_points=20, use_normals=True)
    assert ds.form == 'resampled' and len(ds) == 9
    assert ds.metainfo['classes'] == tuple(CLASSES)
    labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
    assert labels == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # night_stand parsed despite its '_'
    item = ds.get_data_info(4)
    ref = arrays['night_stand_0002']
    np.testing.assert_allclose(item['coord'], ref[:20, [2, 0, 1]], atol=1e-6)
    np.testing.assert_allclose(item['normal'], ref[:20, [5, 3, 4]], atol=1e-6)
    # The parent folder works too, and the test split is separate.
    assert len(ModelNet40Dataset(str(tmp_path), split='test')) == 6


def test_h5_round_trip(tmp_path):
    root = osp.join(str(tmp_path), 'modelnet40_ply_hdf5_2048')
    os.makedirs(root)
    rng = np.random.default_rng(1)
    chunks = []
    for i, n in enumerate((3, 2)):
        data = rng.normal(size=(n, 2048, 3)).astype(np.float32)
        label = rng.integers(0, 40, size=(n, 1)).astype(np.uint8)
        with h5py.File(osp.join(root, f'ply_data_train{i}.h5'), 'w') as f:
            f['data'], f['label'] = data, label
        chunks.append((data, label))
    ds = ModelNet40Dataset(str(tmp_path), split='train', form='h5')
    assert ds.form == 'h5' and len(ds) == 5 and len(ds.metainfo['classes']) == 40
    item = ds.get_data_info(3)  # first sample of the second file
    # num_points (default 1024) holds in the h5 form too: the first 1024 of 2048 points
    np.testing.assert_array_equal(item['coord'], chunks[1][0][0][:1024, [2, 0, 1]])
    assert item['gt_label'] == int(chunks[1][1][0, 0])
    every = ModelNet40Dataset(str(tmp_path), split='train', form='h5', num_points=None)
    np.testing.assert_array_equal(every.get_data_info(3)['coord'],
                                  chunks[1][0][0][:, [2, 0, 1]])
    few = ModelNet40Dataset(str(tmp_path), split='train', form='h5', num_points=100)
    np.testing.assert_array_equal(few.get_data_info(0)['coord'],
                                  chunks[0][0][0][:100, [2, 0, 1]])
    # an item is a copy: a pipeline working in place leaves the dataset intact
    few.get_data_info(0)['coord'][:] = 0
    assert few.get_data_info(0)['coord'].any()


def test_bad_txt_line_names_file_and_line(tmp_path):
    path = str(tmp_path / 'a.txt')
    expect_file_error(read_modelnet_txt, path, '0,0,0,0,0,1\n1,2,3\n', r'a\.txt: line 2 has 3')
    expect_file_error(read_modelnet_txt, path, '0,0,0,0,0,x\n', 'line 1 is not numeric')
    expect_file_error(read_modelnet_txt, path, '0,0,0,0,0,1\nnan,0,0,0,0,1\n', 'NaN')
    expect_file_error(read_modelnet_txt, path, '', 'holds no points')
    with open(path, 'w') as f:
        f.write('0,0,0,0,0,1\n1,2,3,4,5,6\n7,8,9,1,2,3\n')
    np.testing.assert_array_equal(read_modelnet_txt(path, num_points=2)[:, 0], [0, 1])


def test_unknown_class_in_split_file(tmp_path):
    root, _ = _resampled(str(tmp_path), per_class=(1, 1), points=5)
    with open(osp.join(root, 'modelnet40_train.txt'), 'a') as f:
        f.write('dragon_0001\n')
    with pytest.raises(DataFileError, match="modelnet40_train.txt: id 'dragon_0001'"):
        ModelNet40Dataset(root, split='train')


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='no ModelNet40 data'):
        ModelNet40Dataset(str(tmp_path), split='train')


def _h5_root(tmp_path, data):
    root = osp.join(str(tmp_path), 'modelnet40_ply_hdf5_2048')
    os.makedirs(root, exist_ok=True)
    path = osp.join(root, 'ply_data_train0.h5')
    with h5py.File(path, 'w') as f:
        f['data'], f['label'] = data, np.zeros((len(data), 1), np.uint8)
    return path


@pytest.mark.parametrize('data, match', [
    (np.zeros((0, 2048, 3), np.float32), 'holds no samples'),
    (np.random.default_rng(0).normal(size=(2, 10, 3)).astype(np.float32),
     'every sample: only 10 points; at least 32 are needed'),
    (np.ones((2, 1024, 3), np.float32), 'sample 0: all 1024 points coincide'),
])
def test_tiny_and_degenerate_h5_name_the_file(tmp_path, data, match):
    path = _h5_root(tmp_path, data)
    with pytest.raises(DataFileError, match=match) as err:
        ModelNet40Dataset(str(tmp_path), split='train', form='h5')
    assert str(err.value).startswith(path)


def _write_txt(root, sid, arr):
    np.savetxt(osp.join(root, sid.rsplit('_', 1)[0], sid + '.txt'), arr, fmt='%.6f',
               delimiter=',')


def test_tiny_and_degenerate_txt(tmp_path, monkeypatch):
    root, _ = _resampled(str(tmp_path), per_class=(1, 1), points=50)
    ds = ModelNet40Dataset(root, split='train', num_points=40)
    assert ds.get_data_info(0)['coord'].shape == (40, 3)
    # fewer lines than num_points but more than half: padded silently
    warnings = []
    monkeypatch.setattr('tap3d.datasets.io.warn_once', lambda key, msg: warnings.append(msg))
    padded = ModelNet40Dataset(root, split='train', num_points=64).get_data_info(0)
    assert padded['coord'].shape == (64, 3) and not warnings
    # all 50 original points are kept; the 14 others repeat some of them
    assert len(np.unique(padded['coord'], axis=0)) == 50
    # more than half duplicates: padded, with a warning naming the file
    ModelNet40Dataset(root, split='train', num_points=200).get_data_info(0)
    assert len(warnings) == 1 and 'airplane_0001.txt: only 50 points for 200' in warnings[0]
    # a 10-point file, a 1-point file and identical points are refused, named
    rng = np.random.default_rng(0)
    for arr, match in ((rng.normal(size=(10, 6)), 'only 10 points; at least 32'),
                       (rng.normal(size=(1, 6)), 'only 1 point;'),
                       (np.tile(rng.normal(size=(1, 6)), (50, 1)), 'all 40 points coincide')):
        _write_txt(root, 'airplane_0001', arr)
        with pytest.raises(DataFileError, match=match) as err:
            ds.get_data_info(0)
        assert 'airplane_0001.txt: ' in str(err.value)
    # a smaller num_points accepts smaller clouds: asking for 8 points reads 8
    _write_txt(root, 'airplane_0001', rng.normal(size=(10, 6)))
    assert ModelNet40Dataset(root, split='train', num_points=8).get_data_info(0)[
        'coord'].shape == (8, 3)
