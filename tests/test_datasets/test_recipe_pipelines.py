"""The recipe pipelines compute the height feature where the TAP authors' code does.

- ShapeNet55 pre-training: the height of the loaded (unit-sphere) cloud, BEFORE the
  random scaling (their dataset concatenates ``points_norm[:, z] - min``).
- ScanObjectNN fine-tuning: openpoints' ``PointCloudCenterAndNormalize`` stores the
  height AFTER the random scaling and BEFORE centring / normalisation, in the units of
  the file, on all 2048 points; FPS to 1200 and a random 1024 come afterwards. The
  test points are FPS from the file's first point.
"""
import os.path as osp

import numpy as np
from mmengine.config import Config
from mmengine.dataset import Compose

from tap3d.datasets.transforms import farthest_point_sample
from tap3d.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
register_all_modules()


def _pipeline(name, key):
    """The config's pipeline without its packing step, so the results dict is visible."""
    steps = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets', name))[key]
    assert steps[-1]['type'] == 'PackPointInputs'
    return Compose([dict(s) for s in steps[:-1]])


def _cloud(n, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    coord = rng.normal(size=(n, 3)) * np.array([1.0, 0.6, 0.4]) * scale
    return coord.astype(np.float32)


def test_shapenet55_height_is_taken_before_the_random_scaling():
    coord = _cloud(512)
    coord = coord - coord.mean(0)
    coord /= np.linalg.norm(coord, axis=1).max()  # as ShapeNet55Dataset loads it
    np.random.seed(0)
    factor = np.random.uniform(0.9, 1.1, 3)  # RandomScale's draw
    np.random.seed(0)
    out = _pipeline('shapenet55_tap.py', 'train_pipeline')(dict(coord=coord.copy()))
    height = out['feat'][:, 3]
    np.testing.assert_allclose(height, coord[:, 2] - coord[:, 2].min(), atol=1e-6)
    # not the height of the scaled cloud, nor of the re-normalised one
    scaled = coord[:, 2] * factor[2]
    assert np.abs(height - (scaled - scaled.min())).max() > 1e-3
    final = out['feat'][:, 2]
    assert np.abs(height - (final - final.min())).max() > 1e-3
    np.testing.assert_allclose(out['feat'][:, :3], out['coord'])


def test_scanobjectnn_height_is_scaled_but_not_normalised():
    coord = _cloud(2048, seed=1, scale=7.0)  # file units far from the unit sphere
    segment = np.arange(2048)  # rides along to tell which points survive
    np.random.seed(3)
    factor = np.random.uniform(0.9, 1.1, 3)
    np.random.seed(3)
    out = _pipeline('scanobjectnn_pb_t50_rs.py', 'train_pipeline')(
        dict(coord=coord.copy(), segment=segment))
    assert out['feat'].shape == (1024, 4)
    kept = out['segment']
    assert len(np.unique(kept)) == 1024
    # the floor is the lowest of all 2048 scaled points, not of the 1024 kept
    z = coord[:, 2] * factor[2]
    np.testing.assert_allclose(out['feat'][:, 3], z[kept] - z.min(), rtol=1e-5, atol=1e-5)
    # the xyz channels are centred in the unit sphere (over the 2048 points)
    assert np.linalg.norm(out['feat'][:, :3], axis=1).max() <= 1 + 1e-5
    assert out['feat'][:, 3].max() > 5  # the height kept the file's units


def test_scanobjectnn_test_points_are_fps_from_the_first_point():
    coord = _cloud(2048, seed=2, scale=3.0)
    pipe = _pipeline('scanobjectnn_pb_t50_rs.py', 'test_pipeline')
    out = pipe(dict(coord=coord.copy(), segment=np.arange(2048)))
    expected = farthest_point_sample(coord, 1024, start=0)
    np.testing.assert_array_equal(out['segment'], expected)
    z = coord[expected, 2]
    np.testing.assert_allclose(out['feat'][:, 3], z - z.min(), rtol=1e-5, atol=1e-5)
    # deterministic: a second run (other RNG state) gives the same input
    np.random.seed(123)
    again = pipe(dict(coord=coord.copy(), segment=np.arange(2048)))
    np.testing.assert_array_equal(again['feat'], out['feat'])
