import math

import numpy as np
import pytest
import torch

from tap3d.datasets.transforms import (
    AddHeight,
    BuildFeat,
    NormalizePoints,
    PackPointInputs,
    PointSample,
    RandomJitter,
    RandomRotate,
    RandomScale,
    RandomScaleTranslate,
    ShufflePoints,
    farthest_point_sample,
)
from tap3d.registry import TRANSFORMS


def _sample(n=50, seed=0):
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(n, 3)).astype(np.float32)
    normals = pts / np.linalg.norm(pts, axis=1, keepdims=True)
    return dict(coord=pts, normal=normals.astype(np.float32),
                segment=np.arange(n), instance=np.arange(n) * 2)


def _assert_aligned(res, src):
    # each surviving point still carries its own labels and normal
    ids = res['segment']
    np.testing.assert_array_equal(res['instance'], ids * 2)
    np.testing.assert_allclose(res['normal'], src['normal'][ids])


@pytest.mark.parametrize('method', ['random', 'fps', 'first'])
def test_point_sample_keeps_per_point_keys_aligned(method):
    src = _sample()
    res = PointSample(20, method)(dict(src))
    assert res['coord'].shape == (20, 3)
    np.testing.assert_allclose(res['coord'], src['coord'][res['segment']])
    _assert_aligned(res, src)
    if method == 'first':
        np.testing.assert_array_equal(res['segment'], np.arange(20))
    else:
        assert len(np.unique(res['segment'])) == 20  # without replacement


def test_point_sample_pads_when_too_few_and_is_seeded():
    src = _sample(10)
    res = PointSample(16)(dict(src))
    assert res['coord'].shape == (16, 3)
    assert set(res['segment'][:10]) == set(range(10))
    np.random.seed(3)
    a = PointSample(5)(dict(_sample()))['segment']
    np.random.seed(3)
    b = PointSample(5)(dict(_sample()))['segment']
    np.testing.assert_array_equal(a, b)


def test_point_sample_warns_when_padding_is_large(monkeypatch):
    warnings = []
    monkeypatch.setattr('tap3d.datasets.io.warn_once', lambda key, msg: warnings.append(msg))
    PointSample(16)(dict(_sample(10), file='a.ply'))  # 6 of 16 duplicates: quiet
    assert warnings == []
    res = PointSample(64)(dict(_sample(10), file='a.ply'))
    assert res['coord'].shape == (64, 3)
    assert warnings == ['a.ply: only 10 points for 64; padded by duplicating random points '
                        '(54 duplicates)']


def test_fps_spreads_points():
    # two tight clusters: fps with 2 picks must take one from each
    pts = np.concatenate([np.zeros((10, 3)), np.ones((10, 3))]) + 1e-3 * np.arange(20)[:, None]
    idx = farthest_point_sample(pts, 2)
    assert (idx < 10).sum() == 1 and (idx >= 10).sum() == 1


def test_shuffle_permutes_all_keys():
    src = _sample()
    res = ShufflePoints()(dict(src))
    assert sorted(res['segment']) == list(range(50))
    assert not np.array_equal(res['segment'], np.arange(50))
    _assert_aligned(res, src)


def test_mismatched_per_point_key_raises():
    src = _sample()
    src['color'] = np.zeros((7, 3))
    with pytest.raises(ValueError, match='color'):
        ShufflePoints()(src)


def test_random_scale_iso_and_aniso():
    src = _sample()
    res = RandomScale((2.0, 2.0))(dict(src))
    np.testing.assert_allclose(res['coord'], 2 * src['coord'], rtol=1e-6)
    np.random.seed(0)
    res = RandomScale((0.5, 1.5), anisotropic=True)(dict(src))
    ratio = res['coord'] / src['coord']
    assert np.ptp(ratio.mean(0)) > 1e-3  # different factors per axis
    np.testing.assert_allclose(np.linalg.norm(res['normal'], axis=1), 1, rtol=1e-5)


def test_scale_translate_ranges():
    src = dict(coord=np.ones((4, 3), np.float32))
    for seed in range(20):
        np.random.seed(seed)
        res = RandomScaleTranslate()(dict(src))['coord'][0]
        assert np.all(res > 2 / 3 - 0.2 - 1e-6) and np.all(res < 1.5 + 0.2 + 1e-6)


def test_rotate_up_keeps_height_and_camera_coordinates():
    src = _sample()
    rots = np.stack([np.eye(3), np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])]).astype(np.float32)
    src['view_rotations'] = rots
    np.random.seed(1)
    res = RandomRotate(math.pi)(dict(src))
    np.testing.assert_allclose(res['coord'][:, 2], src['coord'][:, 2], atol=1e-6)
    assert not np.allclose(res['coord'], src['coord'])
    # every point keeps its camera coordinates, so stored photographs stay valid
    for v in range(2):
        np.testing.assert_allclose(res['coord'] @ res['view_rotations'][v].T,
                                   src['coord'] @ rots[v].T, atol=1e-5)
    np.testing.assert_allclose((res['normal'] * res['coord']).sum(1),
                               (src['normal'] * src['coord']).sum(1), atol=1e-5)


def test_jitter_is_clipped():
    src = dict(coord=np.zeros((100, 3), np.float32))
    res = RandomJitter(sigma=1.0, clip=0.05)(src)
    assert np.abs(res['coord']).max() <= 0.05 + 1e-7
    assert np.abs(res['coord']).max() > 0


def test_normalize_points():
    res = NormalizePoints()(dict(coord=np.random.rand(30, 3).astype(np.float32) * 5 + 3))
    np.testing.assert_allclose(res['coord'].mean(0), 0, atol=1e-5)
    assert abs(np.linalg.norm(res['coord'], axis=1).max() - 1) < 1e-5


def test_height_and_feats():
    pts = np.array([[0, 0, -1], [1, 0, 0.5], [0, 1, 2]], np.float32)
    res = BuildFeat()(dict(coord=pts))
    np.testing.assert_allclose(res['feat'], np.c_[pts, [0, 1.5, 3]])
    # AddHeight before a subsample keeps heights attached to their points
    res = AddHeight()(dict(coord=pts.copy()))
    res = ShufflePoints()(res)
    np.testing.assert_allclose(res['height'][:, 0], res['coord'][:, 2] + 1)
    res = BuildFeat(('coord', 'height', 'normal'))(dict(coord=pts, normal=pts))
    assert res['feat'].shape == (3, 7)
    with pytest.raises(KeyError, match='color'):
        BuildFeat(('color',))(dict(coord=pts))
    with pytest.raises(ValueError, match='unknown keys'):
        BuildFeat(('xyz',))


def test_pack_point_inputs():
    views = np.random.randint(0, 255, (2, 8, 6, 3), dtype=np.uint8)
    results = dict(coord=np.zeros((5, 3)), feat=np.zeros((5, 4), np.float32), views=views,
                   view_rotations=np.eye(3)[None].repeat(2, 0), gt_label=3,
                   segment=np.arange(5), sample_idx=7, file='a.ply', unrelated=1)
    packed = TRANSFORMS.build(dict(type='PackPointInputs'))(results)
    inp, ds = packed['inputs'], packed['data_samples']
    assert inp['coord'].dtype == torch.float32 and inp['coord'].shape == (5, 3)
    assert inp['views'].dtype == torch.uint8 and inp['views'].shape == (2, 3, 8, 6)
    assert torch.equal(inp['views'][1, 2], torch.from_numpy(views[1, :, :, 2]))
    assert inp['view_rotations'].shape == (2, 3, 3)
    assert ds.gt_label.tolist() == [3] and ds.gt_label.dtype == torch.int64
    assert ds.gt_sem_labels.tolist() == [0, 1, 2, 3, 4]
    assert ds.metainfo['sample_idx'] == 7 and ds.metainfo['file'] == 'a.ply'
    assert 'unrelated' not in ds.metainfo
    with pytest.raises(ValueError, match='views'):
        PackPointInputs()(dict(coord=np.zeros((1, 3)), views=np.zeros((2, 3, 8, 8))))


def test_registered():
    for name in ['PointSample', 'RandomScale', 'RandomScaleTranslate', 'RandomRotate',
                 'RandomJitter', 'NormalizePoints', 'AddHeight', 'BuildFeat', 'ShufflePoints',
                 'PackPointInputs']:
        assert TRANSFORMS.get(name) is not None, name


def test_point_sample_fps_start_is_deterministic():
    src = _sample(60)
    np.random.seed(0)
    a = PointSample(12, 'fps', fps_start=0)(dict(src))['segment']
    np.random.seed(1)
    b = PointSample(12, 'fps', fps_start=0)(dict(src))['segment']
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, farthest_point_sample(src['coord'], 12, start=0))
    assert a[0] == 0
    with pytest.raises(ValueError, match='fps_start'):
        PointSample(12, 'random', fps_start=0)
    with pytest.raises(ValueError, match='beyond'):
        PointSample(12, 'fps', fps_start=99)(dict(src))


def test_point_sample_with_replacement_draws_duplicates():
    src = _sample(40)
    np.random.seed(0)
    res = PointSample(40, 'random', replace=True)(dict(src))
    assert res['coord'].shape == (40, 3)
    assert len(np.unique(res['segment'])) < 40  # 40 draws from 40 almost surely repeat
    _assert_aligned(res, src)
    with pytest.raises(ValueError, match='replace'):
        PointSample(10, 'fps', replace=True)


def test_random_scale_can_leave_normals_alone():
    src = _sample()
    np.random.seed(0)
    moved = RandomScale((0.5, 1.5), anisotropic=True)(dict(src))
    np.random.seed(0)
    kept = RandomScale((0.5, 1.5), anisotropic=True, scale_normal=False)(dict(src))
    np.testing.assert_array_equal(kept['coord'], moved['coord'])
    np.testing.assert_array_equal(kept['normal'], src['normal'])
    assert not np.allclose(moved['normal'], src['normal'])
