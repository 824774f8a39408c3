import math

import numpy as np
import pytest
import torch

from tap3d.datasets.transforms import (
    BuildFeat,
    CenterShift,
    ChromaticAutoContrast,
    ChromaticJitter,
    ChromaticTranslation,
    ElasticDistortion,
    GridSample,
    NormalizeColor,
    PackPointInputs,
    PointSample,
    RandomCuboidCrop,
    RandomDropout,
    RandomFlip3D,
    RandomJitter,
    RandomRotate,
    RandomScale,
    RandomTilt,
    RenderSceneViews,
    ShufflePoints,
    SphereCrop,
)
from tap3d.geometry.boxes import rotate_boxes
from tap3d.registry import TRANSFORMS


def _scene(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    coord = rng.uniform(0, 4, (n, 3)).astype(np.float32)
    normal = rng.normal(size=(n, 3)).astype(np.float32)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return dict(coord=coord, color=rng.uniform(0, 255, (n, 3)).astype(np.float32),
                normal=normal, segment=np.arange(n, dtype=np.int64),
                instance=np.arange(n, dtype=np.int64) * 2)


def _scene_with_boxes(seed=0):
    from tap3d.datasets.synthetic.scenes import make_synthetic_scene
    s = make_synthetic_scene(4000, seed=seed, index=0)
    det = s['bbox'][:, 6]
    # walls and floor have no box: mark them as no instance
    instance = np.where(np.isin(s['nyu40'], det.astype(int)), s['instance'], -1)
    return dict(coord=s['coord'].copy(), color=s['color'].astype(np.float32),
                normal=s['normal'].copy(), instance=instance,
                gt_bboxes_3d=s['bbox'][:, :6].copy(), gt_labels_3d=np.arange(len(det))), None


def _points_in_their_boxes(r, tol=1e-4):
    """Each box is the extent of one instance: every instance's points lie in some box."""
    boxes = r['gt_bboxes_3d']
    lo, hi = boxes[:, :3] - boxes[:, 3:] / 2 - tol, boxes[:, :3] + boxes[:, 3:] / 2 + tol
    assert len(boxes) >= 1
    for inst in np.unique(r['instance'][r['instance'] >= 0]):
        pts = r['coord'][r['instance'] == inst]
        inside = [(np.all(pts >= lo[k]) and np.all(pts <= hi[k])) for k in range(len(boxes))]
        yield any(inside)


def test_everything_is_registered():
    for name in ('GridSample', 'SphereCrop', 'RandomRotate', 'RandomScale', 'RandomFlip3D',
                 'RandomJitter', 'ChromaticAutoContrast', 'ChromaticTranslation',
                 'ChromaticJitter', 'NormalizeColor', 'CenterShift', 'RandomCuboidCrop',
                 'PointSample', 'BuildFeat', 'RenderSceneViews', 'PackPointInputs',
                 'RandomTilt', 'RandomDropout', 'ElasticDistortion', 'ShufflePoints'):
        assert TRANSFORMS.get(name) is not None, name


def test_grid_sample_train_keeps_one_point_per_voxel():
    r = _scene()
    orig = r['coord'].copy()
    out = GridSample(grid_size=0.5, mode='train', return_grid_coord=True)(dict(r))
    voxels = np.floor(orig / 0.5).astype(int)
    n_vox = len(np.unique(voxels, axis=0))
    assert len(out['coord']) == n_vox
    # the same index went to every per-point key
    np.testing.assert_array_equal(out['coord'], orig[out['segment']])
    np.testing.assert_array_equal(out['instance'], out['segment'] * 2)
    assert len(np.unique(np.floor(out['coord'] / 0.5), axis=0)) == n_vox
    assert out['grid_coord'].dtype == np.int64 and out['grid_coord'].min() == 0
    np.testing.assert_array_equal(out['grid_coord'],
                                  voxels[out['segment']] - voxels.min(0))


def test_grid_sample_test_fragments_cover_every_point():
    r = _scene(500)
    out = GridSample(grid_size=1.0, mode='test')(dict(r))
    assert len(out['coord']) == 500  # the full scene stays for evaluation
    frags = out['fragment_index']
    voxels = np.floor(r['coord'] / 1.0).astype(int)
    n_vox = len(np.unique(voxels, axis=0))
    counts = np.unique(voxels, axis=0, return_counts=True)[1]
    assert len(frags) == counts.max()
    for f in frags:
        assert len(f) == n_vox and len(np.unique(voxels[f], axis=0)) == n_vox
    assert set(np.concatenate(frags).tolist()) == set(range(500))


def test_sphere_crop_keeps_the_nearest_points():
    r = _scene()
    out = SphereCrop(point_max=300, mode='center')(dict(r))
    assert len(out['coord']) == 300
    kept = set(out['segment'].tolist())
    # mode='center' crops around the point nearest the box centre
    mid = (r['coord'].min(0) + r['coord'].max(0)) / 2
    centre = r['coord'][np.argmin(((r['coord'] - mid) ** 2).sum(1))]
    d = ((r['coord'] - centre) ** 2).sum(1)
    assert max(d[list(kept)]) <= min(np.delete(d, list(kept)))
    assert SphereCrop(point_max=5000)(dict(r))['coord'].shape == (2000, 3)


def test_rotate_z_moves_points_normals_and_refits_boxes():
    r, _ = _scene_with_boxes()
    before = {k: np.array(v) for k, v in r.items()}
    angle = 0.3
    out = RandomRotate(angle_range=(angle, angle))(r)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    np.testing.assert_allclose(out['coord'], before['coord'] @ rot.T, atol=1e-5)
    np.testing.assert_allclose(out['normal'], before['normal'] @ rot.T, atol=1e-5)
    # a re-fitted box is the axis-aligned hull of the rotated box's corners
    b = before['gt_bboxes_3d'][0]
    corners = np.array([[x, y, z] for x in (-.5, .5) for y in (-.5, .5) for z in (-.5, .5)])
    corners = (b[:3] + corners * b[3:]) @ rot.T
    hull = np.concatenate([(corners.min(0) + corners.max(0)) / 2, corners.max(0) - corners.min(0)])
    np.testing.assert_allclose(out['gt_bboxes_3d'][0], hull, atol=1e-5)
    assert all(_points_in_their_boxes(out))


def test_scale_and_flip_move_boxes_with_points():
    r, _ = _scene_with_boxes(1)
    before = np.array(r['gt_bboxes_3d'])
    out = RandomScale(scale_range=(1.5, 1.5))(r)
    np.testing.assert_allclose(out['gt_bboxes_3d'], before * 1.5, rtol=1e-6)
    out = RandomFlip3D(p=1.0)(out)
    np.testing.assert_allclose(out['gt_bboxes_3d'][:, :2], -before[:, :2] * 1.5, rtol=1e-6)
    assert all(_points_in_their_boxes(out))
    r = _scene()
    out = RandomScale(scale_range=(0.5, 2.0), anisotropic=True)(r)
    np.testing.assert_allclose(np.linalg.norm(out['normal'], axis=1), 1.0, atol=1e-5)


def test_flip_does_not_write_into_the_callers_arrays():
    r = _scene()
    coord = r['coord']
    keep = coord.copy()
    RandomFlip3D(p=1.0)(r)
    np.testing.assert_array_equal(coord, keep)


def test_jitter_is_clipped():
    r = _scene()
    before = r['coord'].copy()
    out = RandomJitter(sigma=1.0, clip=0.01)(r)
    diff = np.abs(out['coord'] - before)
    assert diff.max() <= 0.01 + 1e-6 and diff.mean() > 0.005


def test_chromatic_transforms_stay_in_range():
    np.random.seed(0)
    r = _scene()
    r['color'][:] = np.clip(r['color'], 50, 100)
    out = ChromaticAutoContrast(p=1.0, blend_factor=1.0)(dict(r))
    np.testing.assert_allclose(out['color'].min(0), 0, atol=1e-3)
    np.testing.assert_allclose(out['color'].max(0), 255, atol=1e-3)
    # a shift of at most ±38 never clips colours in 50..100
    out = ChromaticTranslation(p=1.0, ratio=0.15)(dict(r, color=r["color"].copy()))
    shift = out['color'] - r['color']
    assert np.allclose(shift, shift[0], atol=1e-3) and np.abs(shift[0]).max() > 0
    out = ChromaticJitter(p=1.0, std=1.0)(dict(r, color=r['color'].copy()))
    assert out['color'].min() >= 0 and out['color'].max() <= 255
    out = ChromaticJitter(p=0.0)(dict(r, color=r['color'].copy()))
    np.testing.assert_array_equal(out['color'], r['color'])
    np.testing.assert_allclose(NormalizeColor()(dict(color=np.full((2, 3), 255.)))['color'], 1.0)
    out = NormalizeColor(mean=(109.8, 97.2, 83.8), std=256)(dict(color=np.full((1, 3), 109.8)))
    np.testing.assert_allclose(out['color'][0, 0], 0.0, atol=1e-6)


def test_center_shift():
    r, _ = _scene_with_boxes()
    r['coord'] += np.float32([10, -5, 2])
    r['gt_bboxes_3d'][:, :3] += np.float32([10, -5, 2])
    out = CenterShift(apply_z=True)(r)
    lo, hi = out['coord'].min(0), out['coord'].max(0)
    np.testing.assert_allclose((lo + hi)[:2] / 2, 0, atol=1e-5)
    assert abs(lo[2]) < 1e-6
    assert all(_points_in_their_boxes(out))
    assert out['center_shift'].shape == (3, )


def test_cuboid_crop_keeps_boxes_whose_centres_remain():
    np.random.seed(0)
    r, _ = _scene_with_boxes(2)
    n = len(r['coord'])
    out = RandomCuboidCrop(min_points=n // 3, aspect=0.5, min_crop=0.5, max_crop=0.8)(dict(r))
    assert n // 3 <= len(out['coord']) < n
    lo, hi = out['coord'].min(0), out['coord'].max(0)
    centres = out['gt_bboxes_3d'][:, :3]
    assert len(centres) >= 1 and len(centres) == len(out['gt_labels_3d'])
    # kept centres lie in the crop, which spans about the surviving points
    assert np.all(centres >= lo - 0.5) and np.all(centres <= hi + 0.5)
    # an impossible request leaves the scene alone
    same = RandomCuboidCrop(min_points=n + 1)(dict(r))
    assert len(same['coord']) == n and len(same['gt_bboxes_3d']) == len(r['gt_bboxes_3d'])


def test_point_subsample():
    r = _scene(100)
    out = PointSample(num_points=40)(dict(r))
    assert len(out['coord']) == 40 and len(np.unique(out['segment'])) == 40
    out = PointSample(num_points=250)(dict(_scene(100)))
    assert len(out['coord']) == 250 and len(out['normal']) == 250


def test_build_scene_feat():
    r = _scene()
    out = BuildFeat(keys=('coord', 'color', 'normal'))(dict(r))
    assert out['feat'].shape == (2000, 9) and out['feat'].dtype == np.float32
    np.testing.assert_array_equal(out['feat'][:, 3:6], r['color'])
    out = BuildFeat(keys=('coord', 'height'))(dict(r))
    assert out['feat'].shape == (2000, 4)
    with pytest.raises(KeyError, match='normal'):
        BuildFeat(keys=('coord', 'color', 'normal'))(dict(coord=r['coord'], color=r['color']))


def test_pack_scene_inputs_segmentation_and_fragments():
    r = _scene(300)
    r = GridSample(grid_size=1.0, mode='test', return_grid_coord=True)(r)
    r = BuildFeat(keys=('coord', 'color', 'normal'))(r)
    r.update(scene_id='scene0000_00', num_points=300)
    out = PackPointInputs()(r)
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs['coord'].dtype == torch.float32 and inputs['feat'].shape == (300, 9)
    assert sample.gt_sem_labels.dtype == torch.int64 and sample.gt_sem_labels.shape == (300, )
    assert sample.metainfo['scene_id'] == 'scene0000_00' and sample.metainfo['num_points'] == 300
    frags = inputs['fragments']
    assert len(frags) == len(r['fragment_index'])
    frag = frags[0]
    np.testing.assert_array_equal(frag['coord'].numpy(), r['coord'][frag['index'].numpy()])
    assert frag['feat'].shape[1] == 9 and frag['grid_coord'].dtype == torch.int64
    assert isinstance(frags[0:2], list) and len(frags[0:2]) == min(2, len(frags))
    covered = torch.cat([f['index'] for f in frags]).unique()
    assert covered.tolist() == list(range(300))
    with pytest.raises(IndexError):
        frags[len(frags)]
    with pytest.raises(ValueError, match="after GridSample\\(mode='test'\\)"):
        PointSample(num_points=10)(r)


def test_fragments_survive_collation_and_the_preprocessor():
    from mmengine.dataset import pseudo_collate

    from tap3d.models.data_preprocessors import PointDataPreprocessor
    packed = []
    for seed, n in ((0, 300), (1, 200)):
        r = GridSample(grid_size=1.0, mode='test')(_scene(n, seed))
        r = BuildFeat(keys=('coord', 'color', 'normal'))(r)
        r['num_points'] = n
        packed.append(PackPointInputs()(r))
    data = PointDataPreprocessor(batch_mode='offset')(pseudo_collate(packed))
    inputs = data['inputs']
    assert inputs['coord'].shape == (500, 3) and inputs['offset'].tolist() == [300, 500]
    frags = inputs['fragments']
    assert len(frags) == 2  # one fragment set per sample
    for per_sample, n in zip(frags, (300, 200)):
        first = per_sample[0]
        assert set(first) == {'coord', 'feat', 'index'}
        assert torch.cat([f['index'] for f in per_sample]).unique().tolist() == list(range(n))


def test_pack_scene_inputs_detection_and_views():
    r, _ = _scene_with_boxes()
    r['feat'] = r['coord']
    r['views'] = np.zeros((2, 8, 8, 3), np.uint8)
    r['view_rotations'] = np.eye(3)[None].repeat(2, 0)
    out = PackPointInputs(data_keys=('gt_bboxes_3d', 'gt_labels_3d'))(r)
    views = out['inputs']['views']
    assert views.shape == (2, 3, 8, 8) and views.dtype == torch.uint8
    assert out['inputs']['view_rotations'].dtype == torch.float32
    assert out['data_samples'].gt_bboxes_3d.dtype == torch.float32
    assert out['data_samples'].gt_labels_3d.dtype == torch.int64
    with pytest.raises(ValueError, match='views must be'):
        PackPointInputs()(dict(coord=r['coord'], views=np.zeros((2, 8, 8, 3), np.float32)))
    with pytest.raises(ValueError, match='unknown data_keys'):
        PackPointInputs(data_keys=('labels', ))


def test_det_pipeline_keeps_points_inside_their_boxes():
    np.random.seed(1)
    r, _ = _scene_with_boxes(3)
    for t in (CenterShift(), RandomFlip3D(p=0.5),
              RandomRotate(angle_range=(-math.pi / 36, math.pi / 36)),
              RandomScale(scale_range=(0.8, 1.2))):
        r = t(r)
    assert all(_points_in_their_boxes(r))


def test_render_scene_views_frames_the_model_points():
    from tap3d.geometry import compute_framing, pixel_indices, rotation_matrix
    np.random.seed(0)
    r, _ = _scene_with_boxes()
    r = CenterShift()(r)
    out = RenderSceneViews(num_views=3, img_size=64, obj_size=56, point_radius_px=1)(r)
    views, rots = out['views'], out['view_rotations']
    assert views.shape == (3, 64, 64, 3) and views.dtype == np.uint8
    assert rots.shape == (3, 3, 3) and rots.dtype == np.float32
    # every pose has TAP's elevation and some azimuth
    grid = torch.linspace(0, 2 * math.pi, 20001, dtype=torch.float64)
    candidates = rotation_matrix(grid, torch.full_like(grid, -math.pi / 3)).numpy()
    for rot in rots:
        assert np.abs(candidates - rot).max(axis=(1, 2)).min() < 1e-3
    assert np.abs(rots[0] - rots[1]).max() > 1e-3  # azimuths differ between views
    # the pixels the model's framing maps the points to are painted, the corners are white
    pts = torch.from_numpy(out['coord'])[None]
    rot_t = torch.from_numpy(rots)[None]
    s, b = compute_framing(pts, rot_t, img_size=64, obj_size=56)
    pix = pixel_indices(pts, rot_t, s, b)[0]  # (V, N, 2)
    assert pix.min() >= 0 and pix.max() < 64
    for v in range(3):
        painted = views[v].min(-1) < 250
        hit = painted[pix[v, :, 0].numpy(), pix[v, :, 1].numpy()]
        assert hit.mean() > 0.95
        assert not painted[0, 0] and not painted[-1, -1]
    # shading with the normals changes brightness but not coverage
    np.random.seed(0)
    shaded = RenderSceneViews(num_views=3, img_size=64, obj_size=56, shade=True)(dict(out))
    assert np.array_equal(shaded['views'].min(-1) < 255, views.min(-1) < 255)
    assert not np.array_equal(shaded['views'], views)
    with pytest.raises(KeyError, match='normals'):
        RenderSceneViews(shade=True)(dict(coord=out['coord'], color=out['color']))


def test_grid_sample_inverse_maps_every_point_to_its_voxel():
    r = _scene(800)
    full_coord = r['coord'].copy()
    out = GridSample(grid_size=0.8, mode='train', return_inverse=True)(dict(r))
    inv = out['inverse']
    assert inv.shape == (800, ) and inv.max() == len(out['coord']) - 1
    voxel = np.floor(full_coord / 0.8)
    np.testing.assert_array_equal(np.floor(out['coord'][inv] / 0.8), voxel)
    np.testing.assert_array_equal(out['origin_segment'], np.arange(800))
    # packed for full-scene evaluation
    packed = PackPointInputs(input_keys=('coord', ), data_keys=('origin_segment', 'inverse'))(out)
    assert packed['data_samples'].gt_sem_labels.shape == (800, )
    assert packed['data_samples'].inverse.shape == (800, )
    # a later crop would scramble the map: refused
    with pytest.raises(ValueError, match='return_inverse'):
        SphereCrop(point_max=3)(out)
    with pytest.raises(ValueError, match=r"become \['gt_sem_labels'\]"):
        PackPointInputs(data_keys=('segment', 'origin_segment'))


def test_tilt_refits_boxes_in_3d():
    np.random.seed(0)
    r, _ = _scene_with_boxes()
    before = np.array(r['coord'])
    out = RandomTilt(max_angle=0.2, p=1.0)(r)
    assert not np.allclose(out['coord'], before)
    # distances to the origin are kept: a rotation
    np.testing.assert_allclose(np.linalg.norm(out['coord'], axis=1),
                               np.linalg.norm(before, axis=1), rtol=1e-5)
    assert all(_points_in_their_boxes(out))
    # the re-fit equals the hull of the rotated corners
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    box = np.array([[1.0, 2.0, 3.0, 0.4, 1.0, 2.0]])
    np.testing.assert_allclose(rotate_boxes(box, rot), [[-2.0, 1.0, 3.0, 1.0, 0.4, 2.0]])


def test_dropout_and_shuffle_index_every_key():
    np.random.seed(0)
    r = _scene(1000)
    orig = r['coord'].copy()
    out = RandomDropout(dropout_ratio=0.3, p=1.0)(dict(r))
    assert len(out['coord']) == 700 and len(np.unique(out['segment'])) == 700
    np.testing.assert_array_equal(out['coord'], orig[out['segment']])
    assert len(RandomDropout(p=0.0)(dict(r))['coord']) == 1000
    out = ShufflePoints()(dict(r))
    assert sorted(out['segment'].tolist()) == list(range(1000))
    assert not np.array_equal(out['segment'], np.arange(1000))
    np.testing.assert_array_equal(out['coord'], orig[out['segment']])


def test_elastic_distortion_is_smooth_and_bounded():
    np.random.seed(0)
    r = _scene(3000)
    before = r['coord'].astype(np.float64)
    out = ElasticDistortion(distortion_params=((0.2, 0.4), ), p=1.0)(dict(r))
    shift = out['coord'] - before
    assert 0 < np.abs(shift).max() < 0.4
    # smooth: near points move alike, far points differently
    d = np.linalg.norm(before[:300, None] - before[None], axis=-1)  # (300, 3000)
    near = (d < 0.15) & (d > 0)
    far = d > 2.0
    diff = np.linalg.norm(shift[:300, None] - shift[None], axis=-1)
    assert near.sum() > 50
    assert diff[near].mean() < 0.5 * diff[far].mean()
    assert ElasticDistortion(p=0.0)(dict(r))['coord'] is r['coord']
