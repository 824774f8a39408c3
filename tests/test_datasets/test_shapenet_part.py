"""ShapeNetPartDataset on small files written in the benchmark's layout."""
import json
import os
import os.path as osp

import numpy as np
import pytest

from tap3d.datasets import ShapeNetPartDataset
from tap3d.datasets.io import DataFileError
from tap3d.datasets.shapenet_part import category_part_table, read_shapenetpart_txt
from tap3d.testing import expect_file_error

AIRPLANE, MUG = '02691156', '03797390'


def write_shape(root, synset, token, rows):
    path = osp.join(root, synset, token + '.txt')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(rows if isinstance(rows, str) else
                '\n'.join(' '.join(f'{v:.6f}' for v in r) for r in rows) + '\n')
    return f'shape_data/{synset}/{token}'


def make_root(tmp_path, n_points=(40, 40)):
    """airplane 'a1' (n_points[0] points, parts 0/1) and mug 'm1' (n_points[1], 36/37).

    The mug's points lie on the line t * (1, 2, 3), t in [1, 2].
    """
    root = str(tmp_path / 'shapenetcore_partanno_segmentation_benchmark_v0_normal')
    rng = np.random.default_rng(0)
    lists = {}
    rows = np.c_[rng.normal(size=(n_points[0], 3)), np.tile([0., 1., 0.], (n_points[0], 1)),
                 np.arange(n_points[0]) % 2]
    lists['train'] = [write_shape(root, AIRPLANE, 'a1', rows)]
    line = np.linspace(1, 2, n_points[1])[:, None] * [1., 2., 3.]
    rows = np.c_[line, np.tile([0., 1., 0.], (n_points[1], 1)), 36 + np.arange(n_points[1]) % 2]
    lists['val'] = [write_shape(root, MUG, 'm1', rows)]
    lists['test'] = lists['train'] + lists['val']
    with open(osp.join(root, 'synsetoffset2category.txt'), 'w') as f:
        f.write(f'Airplane\t{AIRPLANE}\nMug\t{MUG}\n')
    os.makedirs(osp.join(root, 'train_test_split'))
    for split, names in lists.items():
        with open(osp.join(root, 'train_test_split', f'shuffled_{split}_file_list.json'),
                  'w') as f:
            json.dump(names, f)
    return root


def test_trainval_items_and_resampling(tmp_path):
    root = make_root(tmp_path)
    ds = ShapeNetPartDataset(data_root=root, split='trainval', num_points=16)
    assert len(ds) == 2
    by_cat = {ds.get_data_info(i)['category']: ds.get_data_info(i) for i in range(2)}
    plane, mug = by_cat['airplane'], by_cat['mug']
    assert plane['gt_label'] == 0 and mug['gt_label'] == 11
    for info in (plane, mug):
        assert info['coord'].shape == (16, 3) and info['normal'].shape == (16, 3)
        assert info['segment'].shape == (16, ) and info['segment'].dtype == np.int64
    assert set(plane['segment']) <= {0, 1}
    # y-up file axes -> z-up: (x, y, z) <- (z, x, y), so t (1, 2, 3) -> t (3, 1, 2)
    np.testing.assert_allclose(mug['coord'], mug['coord'][:, 1:2] * [[3., 1., 2.]],
                               rtol=1e-5)
    np.testing.assert_allclose(mug['normal'][0], [0., 0., 1.])
    assert set(mug['segment']) <= {36, 37}
    assert ds.metainfo['categories'][11] == 'mug'
    assert ds.metainfo['part_ranges'][11] == (36, 2)
    assert len(ds.metainfo['classes']) == 50


def test_test_mode_sampling_is_fixed_and_pipeline_packs(tmp_path):
    from mmengine.registry import init_default_scope
    init_default_scope('tap3d')  # as the runtime config does
    root = make_root(tmp_path)
    pipeline = [dict(type='BuildFeat', keys=('coord', 'normal')),
                dict(type='PackPointInputs', input_keys=('coord', 'feat'),
                     data_keys=dict(gt_label='gt_label', segment='gt_part_labels'))]
    a = ShapeNetPartDataset(data_root=root, split='test', num_points=8, test_mode=True,
                            pipeline=pipeline)
    b = ShapeNetPartDataset(data_root=root, split='test', num_points=8, test_mode=True,
                            pipeline=pipeline)
    x, y = a[1], b[1]
    assert (x['inputs']['coord'] == y['inputs']['coord']).all()
    assert x['inputs']['feat'].shape == (8, 6)
    assert x['data_samples'].gt_part_labels.shape == (8, )
    assert int(x['data_samples'].gt_label) == 11


def test_read_reports_bad_lines(tmp_path):
    path = str(tmp_path / 'bad.txt')
    expect_file_error(read_shapenetpart_txt, path, '0 0 0 0 0 1 3\n0 0 0 0 1\n',
                      r'bad\.txt: line 2 has 5 values')
    expect_file_error(read_shapenetpart_txt, path, '0 0 0 0 0 1 3\n0 0 x 0 0 1 2\n',
                      'line 2 is not numeric')
    expect_file_error(read_shapenetpart_txt, path, '0 0 0 0 0 1 3\n0 0 0 0 0 1 50\n',
                      r'part label 50 .* not an integer in 0\.\.49')
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        read_shapenetpart_txt(str(tmp_path / 'nope.txt'))


def test_part_of_another_category_is_an_error(tmp_path):
    root = make_root(tmp_path)
    write_shape(root, MUG, 'm1', '0 0 0 0 0 1 36\n0 0 0 0 0 1 3\n')
    ds = ShapeNetPartDataset(data_root=root, split='val', num_points=4)
    with pytest.raises(DataFileError, match=r'm1\.txt: part label 3 does not belong to '
                                            r'category mug \(parts 36\.\.37\)'):
        ds.get_data_info(0)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='ShapeNetPart root not found'):
        ShapeNetPartDataset(data_root=str(tmp_path / 'none'))
    root = make_root(tmp_path)
    os.remove(osp.join(root, 'train_test_split', 'shuffled_val_file_list.json'))
    with pytest.raises(FileNotFoundError, match='shuffled_val_file_list.json'):
        ShapeNetPartDataset(data_root=root, split='trainval')
    with open(osp.join(root, 'train_test_split', 'shuffled_val_file_list.json'), 'w') as f:
        json.dump(['shape_data/99999999/x'], f)
    with pytest.raises(DataFileError, match='synset 99999999'):
        ShapeNetPartDataset(data_root=root, split='val')
    with pytest.raises(ValueError, match='split'):
        ShapeNetPartDataset(data_root=root, split='training')


def test_category_part_table():
    table = category_part_table()
    assert table.shape == (16, 50) and table.sum() == 50
    assert (table.sum(0) == 1).all()  # every part belongs to exactly one category
    assert table[10, 30:36].all()  # motorbike: 30-35


def test_short_shapes_are_padded_and_tiny_ones_refused(tmp_path, monkeypatch):
    root = make_root(tmp_path)
    warnings = []
    monkeypatch.setattr('tap3d.datasets.io.warn_once', lambda key, msg: warnings.append(msg))
    # 40 points to 64: all 40 kept, 24 duplicates, no warning (less than half)
    ds = ShapeNetPartDataset(data_root=root, split='train', num_points=64)
    info = ds.get_data_info(0)
    assert info['coord'].shape == (64, 3)
    assert len(np.unique(info['coord'], axis=0)) == 40 and not warnings
    # 40 points to 100: more than half duplicates, a warning names the file
    ShapeNetPartDataset(data_root=root, split='train', num_points=100).get_data_info(0)
    assert len(warnings) == 1 and 'a1.txt: only 40 points for 100' in warnings[0]
    # 1 point, 10 points, identical points: refused, naming the file
    for rows, match in (('0 0 0 0 1 0 0\n', 'only 1 point; at least 32'),
                        ('0 0 0 0 1 0 0\n' * 10, 'only 10 points'),
                        ('1 2 3 0 1 0 1\n' * 40, 'all 40 points coincide')):
        write_shape(root, AIRPLANE, 'a1', rows)
        with pytest.raises(DataFileError, match=match) as err:
            ds.get_data_info(0)
        assert str(err.value).startswith(osp.join(root, AIRPLANE, 'a1.txt'))
