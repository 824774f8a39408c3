import json
import os
import os.path as osp

import numpy as np
import pytest

from tap3d.datasets.io import read_h5
from tap3d.datasets.synthetic import shapes
from tap3d.datasets.synthetic.objects import (
    ZUP_TO_YUP,
    write_synthetic_modelnet40,
    write_synthetic_scanobjectnn,
    write_synthetic_shapenetpart,
)
from tap3d.geometry import SHAPENET_TO_ZUP


def test_axis_conventions_are_inverse():
    p = np.random.rand(5, 3)
    np.testing.assert_array_equal(p[:, list(ZUP_TO_YUP)][:, list(SHAPENET_TO_ZUP)], p)


def test_fifteen_object_categories_are_distinct_meshes():
    assert len(shapes.CATEGORIES) == 15
    rng = np.random.default_rng(0)
    extents = []
    for cat in shapes.CATEGORIES:
        mesh = shapes.make_shape(cat, rng)
        assert len(mesh.faces) > 0 and np.isfinite(mesh.vertices).all()
        assert mesh.area > 0
        extents.append(tuple(np.round(mesh.extents, 2)))
    assert len(set(extents)) == 15
    with pytest.raises(KeyError, match='unknown shape category'):
        shapes.make_shape('teapot', rng)


@pytest.mark.parametrize('category', shapes.PART_CATEGORIES)
def test_part_shapes_use_their_category_range(category):
    mesh, parts = shapes.make_part_shape(category, np.random.default_rng(1))
    first, count = shapes.PART_RANGES[category]
    assert len(parts) == len(mesh.faces)
    assert parts.min() >= first and parts.max() < first + count
    assert len(np.unique(parts)) >= 2


def test_part_ranges_cover_fifty_parts():
    ids = sorted(i for f, c in shapes.PART_RANGES.values() for i in range(f, f + c))
    assert ids == list(range(50))


def test_sample_surface_is_area_weighted():
    import trimesh
    # a 10x1 slab: almost all samples land on the two large faces
    mesh = trimesh.creation.box(extents=(10, 10, .01))
    pts, normals, face = shapes.sample_surface(mesh.vertices, mesh.faces, 2000,
                                               np.random.default_rng(0))
    assert pts.shape == (2000, 3) and pts.dtype == np.float32
    assert (np.abs(normals[:, 2]) > .99).mean() > .99
    assert np.abs(pts).max() <= 5 + 1e-6


def test_scanobjectnn_files(tmp_path):
    root = str(tmp_path)
    counts = write_synthetic_scanobjectnn(root, num_train=2, num_test=1, pb_variants=2,
                                          progress=False)
    assert counts == {'training': 30, 'test': 15}
    for folder, suffix, n in (('main_split_nobg', '', 30), ('main_split', '', 30),
                              ('main_split', '_augmentedrot_scale75', 60)):
        arr = read_h5(osp.join(root, folder, f'training_objectdataset{suffix}.h5'),
                      ['data', 'label', 'mask'])
        assert arr['data'].shape == (n, 2048, 3) and arr['data'].dtype == np.float32
        assert arr['label'].shape == (n,) and sorted(set(arr['label'])) == list(range(15))
        assert arr['mask'].shape == (n, 2048)
        assert np.isfinite(arr['data']).all()
        bg = (arr['mask'] == -1).mean()
        assert (bg == 0) if folder == 'main_split_nobg' else (0.15 < bg < 0.6)
    # OBJ_BG: the background floor lies at the bottom along y (the files are y-up)
    arr = read_h5(osp.join(root, 'main_split', 'training_objectdataset.h5'), ['data', 'mask'])
    y, mask = arr['data'][0][:, 1], arr['mask'][0]
    assert np.median(y[mask == -1]) < np.median(y[mask == 1])
    from tap3d.datasets import ScanObjectNNDataset
    ds = ScanObjectNNDataset(data_root=root, variant='pb_t50_rs', split='test')
    assert len(ds) == 30 and ds[0]['coord'].shape == (2048, 3)
    # a second call finds the files complete and leaves them alone
    before = os.path.getmtime(osp.join(root, 'main_split', 'test_objectdataset.h5'))
    write_synthetic_scanobjectnn(root, num_train=2, num_test=1, pb_variants=2, progress=False)
    assert os.path.getmtime(osp.join(root, 'main_split', 'test_objectdataset.h5')) == before


def test_modelnet40_both_forms(tmp_path):
    root = str(tmp_path)
    counts = write_synthetic_modelnet40(root, num_train=1, num_test=1, txt_points=2048,
                                        progress=False)
    assert counts == {'train': 40, 'test': 40}
    txt_root = osp.join(root, 'modelnet40_normal_resampled')
    names = open(osp.join(txt_root, 'modelnet40_shape_names.txt')).read().split()
    assert names == list(shapes.MODELNET40_CLASSES)
    ids = open(osp.join(txt_root, 'modelnet40_test.txt')).read().split()
    assert ids[0] == 'airplane_0002' and len(ids) == 40
    table = np.loadtxt(osp.join(txt_root, 'airplane', 'airplane_0002.txt'), delimiter=',')
    assert table.shape == (2048, 6)
    np.testing.assert_allclose(np.linalg.norm(table[:, 3:], axis=1), 1, atol=1e-4)
    h5 = read_h5(osp.join(root, 'modelnet40_ply_hdf5_2048', 'ply_data_test0.h5'),
                 ['data', 'label', 'normal'])
    assert h5['data'].shape == (40, 2048, 3) and h5['label'].shape == (40, 1)
    assert h5['label'][:, 0].tolist() == list(range(40))
    np.testing.assert_allclose(h5['data'][0], table[:2048, :3], atol=1e-5)
    from tap3d.datasets import ModelNet40Dataset
    for form in ('resampled', 'h5'):
        ds = ModelNet40Dataset(data_root=root, split='train', form=form)
        assert len(ds) == 40 and ds[39]['gt_label'] == 39


def test_shapenetpart_layout(tmp_path):
    root = str(tmp_path)
    counts = write_synthetic_shapenetpart(root, num_train=1, num_val=1, num_test=1,
                                          num_points=500, progress=False)
    assert counts == {'train': 16, 'val': 16, 'test': 16}
    base = osp.join(root, 'shapenetcore_partanno_segmentation_benchmark_v0_normal')
    cats = dict(line.split() for line in open(osp.join(base, 'synsetoffset2category.txt')))
    assert cats['Mug'] == '03797390' and len(cats) == 16
    seen = set()
    for split in ('train', 'val', 'test'):
        items = json.load(open(osp.join(base, 'train_test_split',
                                        f'shuffled_{split}_file_list.json')))
        assert len(items) == 16
        for item in items:
            prefix, synset, token = item.split('/')
            assert prefix == 'shape_data' and token not in seen
            seen.add(token)
            table = np.loadtxt(osp.join(base, synset, token + '.txt'))
            assert table.shape == (500, 7)
            cat = {v: k.lower() for k, v in cats.items()}[synset]
            first, count = shapes.PART_RANGES[cat]
            parts = table[:, 6]
            assert np.all(parts == np.round(parts))
            assert parts.min() >= first and parts.max() < first + count


def test_shapenetpart_mug_handle_is_off_axis(tmp_path):
    # the handle (part 37) sticks out sideways from the body (part 36): geometry matches labels
    write_synthetic_shapenetpart(str(tmp_path), num_train=1, num_val=0, num_test=0,
                                 num_points=2000, progress=False)
    base = osp.join(str(tmp_path), 'shapenetcore_partanno_segmentation_benchmark_v0_normal')
    (token,) = os.listdir(osp.join(base, '03797390'))
    table = np.loadtxt(osp.join(base, '03797390', token))
    zup = table[:, :3][:, list(SHAPENET_TO_ZUP)]
    body, handle = zup[table[:, 6] == 36], zup[table[:, 6] == 37]
    assert len(handle) > 20
    axis = body[:, :2].mean(0)
    r_body = np.linalg.norm(body[:, :2] - axis, axis=1).max()
    assert np.median(np.linalg.norm(handle[:, :2] - axis, axis=1)) > r_body
