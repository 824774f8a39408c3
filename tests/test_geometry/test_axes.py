import numpy as np
import pytest
import torch

from tap3d.geometry import SHAPENET_TO_ZUP, normalize_to_unit_sphere, shapenet_to_zup


def test_shapenet_to_zup_moves_y_up_to_z_up():
    assert SHAPENET_TO_ZUP == (2, 0, 1)
    y_up = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, 0.0]], dtype=np.float32)
    z_up = shapenet_to_zup(y_up)
    np.testing.assert_array_equal(z_up, [[3.0, 1.0, 2.0], [0.0, 0.0, 5.0]])
    # the former up axis (y) is now the gravity axis (z, index 2)
    assert z_up[1, 2] == 5.0
    t = shapenet_to_zup(torch.from_numpy(y_up))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_array_equal(t.numpy(), z_up)
    with pytest.raises(ValueError, match='coordinates'):
        shapenet_to_zup(np.zeros((4, 6)))


@pytest.mark.parametrize('backend', ['numpy', 'torch'])
def test_normalize_to_unit_sphere(backend):
    rng = np.random.default_rng(0)
    points = rng.normal(size=(2, 300, 3)) * [3.0, 1.0, 0.5] + [10.0, -4.0, 2.0]
    if backend == 'torch':
        points = torch.from_numpy(points)
    out, centroid, scale = normalize_to_unit_sphere(points)
    assert type(out) is type(points) and centroid.shape == (2, 1, 3) and scale.shape == (2, 1, 1)
    out = np.asarray(out)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1).max(axis=1), 1.0)
    np.testing.assert_allclose(out * np.asarray(scale) + np.asarray(centroid), np.asarray(points))


def test_normalize_coincident_points_does_not_divide_by_zero():
    out, _, scale = normalize_to_unit_sphere(np.ones((5, 3)))
    assert np.all(out == 0) and np.all(scale == 1)
    with pytest.raises(ValueError, match='empty'):
        normalize_to_unit_sphere(np.zeros((0, 3)))
