import os
import os.path as osp

import numpy as np
import pytest

from tap3d.datasets.scannet_constants import DET_NYU40_IDS, SEG_NYU40_IDS
from tap3d.datasets.synthetic.scenes import make_synthetic_scene, write_synthetic_scenes

N = 3000


def test_scene_arrays_are_consistent():
    s = make_synthetic_scene(N, seed=3, index=1)
    assert s['coord'].shape == (N, 3) and s['coord'].dtype == np.float32
    assert s['color'].dtype == np.uint8 and s['normal'].shape == (N, 3)
    np.testing.assert_allclose(np.linalg.norm(s['normal'], axis=1), 1.0, atol=1e-5)
    # labels agree between the NYU40 ids and the 20-class index
    assert np.all(np.asarray(SEG_NYU40_IDS)[s['segment20']] == s['nyu40'])
    assert {0, 1} <= set(np.unique(s['segment20']))  # walls and floor are always there
    # a room is z-up with its floor near z = 0 and its walls higher than the furniture
    floor = s['coord'][s['segment20'] == 1]
    assert abs(float(np.median(floor[:, 2]))) < 0.02
    # every box is the extent of its instance's points, and only detection classes have one
    assert len(s['bbox']) >= 1
    assert set(s['bbox'][:, 6].astype(int)) <= set(DET_NYU40_IDS)
    for inst in np.unique(s['instance']):
        pts = s['coord'][s['instance'] == inst]
        nyu = np.unique(s['nyu40'][s['instance'] == inst])
        assert len(nyu) == 1
        if nyu[0] in DET_NYU40_IDS:
            centre = (pts.min(0) + pts.max(0)) / 2
            match = np.abs(s['bbox'][:, :3] - centre).max(1) < 1e-5
            assert match.sum() == 1
            np.testing.assert_allclose(s['bbox'][match, 3:6][0], pts.max(0) - pts.min(0), atol=1e-5)


def test_deterministic_and_seed_dependent():
    a = make_synthetic_scene(N, seed=0, index=2)
    b = make_synthetic_scene(N, seed=0, index=2)
    c = make_synthetic_scene(N, seed=1, index=2)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a['coord'], c['coord'])


def test_objects_do_not_overlap_heavily():
    s = make_synthetic_scene(20000, seed=0, index=5)
    boxes = s['bbox']
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            lo = np.maximum(boxes[i, :3] - boxes[i, 3:6] / 2, boxes[j, :3] - boxes[j, 3:6] / 2)
            hi = np.minimum(boxes[i, :3] + boxes[i, 3:6] / 2, boxes[j, :3] + boxes[j, 3:6] / 2)
            inter = np.prod(np.clip(hi - lo, 0, None))
            smaller = min(np.prod(boxes[i, 3:6]), np.prod(boxes[j, 3:6]))
            assert inter <= 0.35 * smaller


def test_too_few_points_is_an_error():
    with pytest.raises(ValueError, match='at least'):
        make_synthetic_scene(100)


def test_write_both_layouts_and_resume(tmp_path):
    root = str(tmp_path / 'scannet')
    write_synthetic_scenes(root, num_train=2, num_val=1, points_per_scene=N, seed=0)
    with open(osp.join(root, 'meta_data', 'scannetv2_train.txt')) as f:
        assert f.read().split() == ['scene0000_00', 'scene0001_00']
    with open(osp.join(root, 'meta_data', 'scannetv2_val.txt')) as f:
        assert f.read().split() == ['scene0002_00']
    det = osp.join(root, 'scannet_train_detection_data')
    vert = np.load(osp.join(det, 'scene0002_00_vert.npy'))
    bbox = np.load(osp.join(det, 'scene0002_00_bbox.npy'))
    ins = np.load(osp.join(det, 'scene0002_00_ins_label.npy'))
    sem = np.load(osp.join(det, 'scene0002_00_sem_label.npy'))
    assert vert.shape == (N, 6) and bbox.shape[1] == 7 and ins.shape == sem.shape == (N, )
    assert vert[:, 3:].max() > 1.0  # rgb in 0..255
    seg = osp.join(root, 'val', 'scene0002_00')
    coord = np.load(osp.join(seg, 'coord.npy'))
    assert coord.dtype == np.float32 and np.load(osp.join(seg, 'color.npy')).dtype == np.uint8
    assert np.load(osp.join(seg, 'normal.npy')).dtype == np.float32
    segment = np.load(osp.join(seg, 'segment20.npy'))
    instance = np.load(osp.join(seg, 'instance.npy'))
    assert segment.dtype == np.int64 and instance.dtype == np.int64
    # the two layouts describe the same points
    np.testing.assert_array_equal(vert[:, :3], coord)
    np.testing.assert_array_equal(ins, instance + 1)
    np.testing.assert_array_equal(np.asarray(SEG_NYU40_IDS)[segment], sem)
    # no temporary files are left behind
    assert not [f for f in os.listdir(det) if f.endswith('.tmp')]

    # a second call skips complete scenes; a missing file is written again
    before = os.path.getmtime(osp.join(seg, 'coord.npy'))
    os.remove(osp.join(det, 'scene0001_00_bbox.npy'))
    write_synthetic_scenes(root, num_train=2, num_val=1, points_per_scene=N, seed=0)
    assert os.path.getmtime(osp.join(seg, 'coord.npy')) == before
    assert osp.isfile(osp.join(det, 'scene0001_00_bbox.npy'))
    # scene i is the same whatever the number of scenes written
    np.testing.assert_array_equal(
        np.load(osp.join(det, 'scene0001_00_vert.npy'))[:, :3],
        make_synthetic_scene(N, 0, 1)['coord'])


def test_many_layouts_are_valid_and_cover_every_class():
    seen = set()
    for index in range(60):
        s = make_synthetic_scene(600, seed=0, index=index)
        assert s['coord'].shape == (600, 3) and np.isfinite(s['coord']).all()
        assert len(s['bbox']) >= 1 and np.all(s['bbox'][:, 3:6] > 0)
        seen |= set(s['bbox'][:, 6].astype(int).tolist())
    assert seen == set(DET_NYU40_IDS)
