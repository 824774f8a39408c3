"""Few-shot folds: the reader round-trips and rejects bad pickles; the fold
generator is deterministic and follows the Point-BERT protocol."""
import importlib.util
import os
import os.path as osp
import pickle

import numpy as np
import pytest

from tap3d.datasets.io import DataFileError
from tap3d.datasets.modelnet_fewshot import ModelNetFewShotDataset, fewshot_fold_path

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    spec = importlib.util.spec_from_file_location(
        'make_fewshot_folds', osp.join(REPO, 'tools', 'misc', 'make_fewshot_folds.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_fold(root, way=3, shot=2, fold=0, queries=4, points=32):
    rng = np.random.default_rng(fold)
    data = {
        'train': [(rng.normal(size=(points, 6)).astype(np.float32), k, 10 + k)
                  for k in range(way) for _ in range(shot)],
        'test': [(rng.normal(size=(points, 6)).astype(np.float32), k, 10 + k)
                 for k in range(way) for _ in range(queries)],
    }
    path = fewshot_fold_path(root, way, shot, fold)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return data


def test_reader_round_trip(tmp_path):
    data = _write_fold(str(tmp_path))
    ds = ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=0, split='test',
                                use_normals=True)
    assert len(ds) == 12
    assert ds.metainfo['classes'] == ('cup', 'curtain', 'desk')  # ModelNet40 ids 10..12
    item = ds.get_data_info(5)
    points, label, original = data['test'][5]
    assert item['gt_label'] == label and item['original_label'] == original
    np.testing.assert_array_equal(item['coord'], points[:, [2, 0, 1]])
    np.testing.assert_array_equal(item['normal'], points[:, [5, 3, 4]])
    assert len(ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=0)) == 6


@pytest.mark.parametrize('payload,match', [
    ({'train': []}, "'train' and 'test'"),
    ({'train': [(np.zeros((4, 6)), 0)], 'test': []}, r'train\[0\] must be'),
    ({'train': [(np.zeros((4, 2)), 0, 0)], 'test': []}, 'shape'),
    ({'train': [], 'test': [(np.full((4, 6), np.nan), 0, 0)]}, 'NaN'),
    ({'train': [(np.random.default_rng(0).normal(size=(40, 6)), 7, 0)], 'test': []},
     'outside'),
    # tiny and degenerate clouds (docs/reliability.md)
    ({'train': [(np.ones((1, 6)), 0, 0)], 'test': []}, r'train\[0\]: only 1 point;'),
    ({'train': [], 'test': [(np.ones((64, 6)), 0, 0)]}, r'test\[0\]: all 64 points coincide'),
])
def test_malformed_folds_name_the_file(tmp_path, payload, match):
    path = fewshot_fold_path(str(tmp_path), 3, 2, 1)
    os.makedirs(osp.dirname(path))
    with open(path, 'wb') as f:
        pickle.dump(payload, f)
    with pytest.raises(DataFileError, match=match) as err:
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=1)
    assert path in str(err.value)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ('touch pwned',))


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = fewshot_fold_path(str(tmp_path), 3, 2, 4)
    os.makedirs(osp.dirname(path))
    with open(path, 'wb') as f:
        pickle.dump({'train': [_RunsCode()], 'test': []}, f)
    with pytest.raises(DataFileError, match=r'refused to unpickle posix\.system') as err:
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=4)
    assert path in str(err.value) and not osp.exists(tmp_path / 'pwned')


def test_corrupt_and_missing_pickles(tmp_path):
    path = fewshot_fold_path(str(tmp_path), 3, 2, 2)
    os.makedirs(osp.dirname(path))
    with open(path, 'wb') as f:
        f.write(b'not a pickle')
    with pytest.raises(DataFileError, match='cannot unpickle'):
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=2)
    with pytest.raises(FileNotFoundError, match='make_fewshot_folds'):
        ModelNetFewShotDataset(str(tmp_path), way=3, shot=2, fold=3)


def _modelnet(root, classes=6, train=4, test=3, points=40):
    rng = np.random.default_rng(0)
    names = [f'cls{k}' for k in range(classes)]
    os.makedirs(root)
    with open(osp.join(root, 'modelnet40_shape_names.txt'), 'w') as f:
        f.write('\n'.join(names))
    for split, n in (('train', train), ('test', test)):
        ids = []
        for name in names:
            os.makedirs(osp.join(root, name), exist_ok=True)
            for i in range(n):
                sid = f'{name}_{i + (500 if split == "test" else 1):04d}'
                np.savetxt(osp.join(root, name, sid + '.txt'), rng.normal(size=(points, 6)),
                           fmt='%.5f', delimiter=',')
                ids.append(sid)
        with open(osp.join(root, f'modelnet40_{split}.txt'), 'w') as f:
            f.write('\n'.join(ids))


def test_fold_generation_is_deterministic_and_follows_the_protocol(tmp_path):
    tool = _tool()
    src = str(tmp_path / 'mn')
    _modelnet(src)
    kwargs = dict(ways=(3, ), shots=(2, ), num_folds=3, num_query=3, num_points=32,
                  verbose=False)
    paths_a = tool.make_folds(src, str(tmp_path / 'a'), **kwargs)
    paths_b = tool.make_folds(src, str(tmp_path / 'b'), **kwargs)
    assert [osp.relpath(p, str(tmp_path / 'a')) for p in paths_a] == [
        osp.join('3way_2shot', f'{k}.pkl') for k in range(3)]
    folds = []
    for pa, pb in zip(paths_a, paths_b):
        with open(pa, 'rb') as fa, open(pb, 'rb') as fb:
            a, b = pickle.load(fa), pickle.load(fb)
        for split in ('train', 'test'):
            assert [x[1:] for x in a[split]] == [x[1:] for x in b[split]]
            for x, y in zip(a[split], b[split]):
                np.testing.assert_array_equal(x[0], y[0])
        assert len(a['train']) == 3 * 2 and len(a['test']) == 3 * 3
        assert a['train'][0][0].shape == (32, 6)
        labels = [x[1] for x in a['train']]
        assert sorted(set(labels)) == [0, 1, 2]
        # One original class per label, the same in train and test.
        pairs = {(x[1], x[2]) for x in a['train'] + a['test']}
        assert len(pairs) == 3
        folds.append(sorted(pairs))
    assert len({tuple(f) for f in folds}) > 1  # folds differ from each other
    ds = ModelNetFewShotDataset(str(tmp_path / 'a'), way=3, shot=2, fold=1, split='test')
    assert len(ds) == 9
    with pytest.raises(ValueError, match='needed'):
        tool.make_folds(src, str(tmp_path / 'c'), ways=(3, ), shots=(5, ), num_folds=1,
                        num_query=3, num_points=10, verbose=False)
