import math

import pytest
import torch

from tap3d.geometry import (
    fixed_view_angles,
    fixed_view_rotations,
    random_view_rotations,
    rodrigues,
    rotation_matrix,
)


def _assert_rotations(rot, atol=1e-5):
    eye = torch.eye(3, dtype=rot.dtype).expand_as(rot)
    torch.testing.assert_close(rot @ rot.transpose(-1, -2), eye, atol=atol, rtol=0)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(rot.shape[:-2], dtype=rot.dtype),
                               atol=atol, rtol=0)


def test_rodrigues_matches_known_rotation():
    # 90 degrees about z sends x to y
    rot = rodrigues(math.pi / 2, torch.tensor([0.0, 0.0, 2.0]))
    torch.testing.assert_close(rot @ torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]),
                               atol=1e-6, rtol=0)
    # the axis itself is fixed, whatever the angle
    axis = torch.tensor([1.0, 2.0, -0.5])
    rot = rodrigues(torch.tensor(0.7), axis)
    torch.testing.assert_close(rot @ axis, axis, atol=1e-6, rtol=0)
    _assert_rotations(rot)


def test_rodrigues_rejects_zero_axis():
    with pytest.raises(ValueError, match='non-zero'):
        rodrigues(0.3, torch.zeros(3))


def test_rotation_matrix_is_the_product_of_the_two_rodrigues_turns():
    theta, phi = torch.tensor(0.4), torch.tensor(-0.9)
    a2 = torch.stack([torch.sin(theta), -torch.cos(theta), torch.tensor(0.0)])
    expected = rodrigues(-theta, torch.tensor([0.0, 0.0, 1.0])) @ rodrigues(-phi, a2)
    torch.testing.assert_close(rotation_matrix(theta, phi), expected)


def test_rotation_matrix_broadcasts_and_is_orthonormal():
    theta = torch.linspace(0, 2 * math.pi, 7)[:, None]
    phi = torch.linspace(-1.5, 1.5, 5)[None, :]
    rot = rotation_matrix(theta, phi)
    assert rot.shape == (7, 5, 3, 3)
    _assert_rotations(rot)


def test_fixed_views_follow_the_formula():
    rot = fixed_view_rotations()
    assert rot.shape == (12, 3, 3) and rot.dtype == torch.float32
    _assert_rotations(rot)
    theta, phi = fixed_view_angles()
    torch.testing.assert_close(theta, 2 * math.pi * torch.arange(12) / 12)
    assert torch.all(phi == -math.pi / 3)
    torch.testing.assert_close(rot, rotation_matrix(theta, phi), atol=1e-6, rtol=0)
    # theta = 0: R is a turn of +60 degrees about -y; the optical direction
    # (third row) points up 30 degrees towards +x, the third column does not
    r = math.sqrt(3) / 2
    torch.testing.assert_close(rot[0], torch.tensor([[0.5, 0, -r], [0, 1, 0], [r, 0, 0.5]]),
                               atol=1e-6, rtol=0)
    # every view: direction (cos t * sqrt(3)/2, sin t * sqrt(3)/2, 1/2)
    expected = torch.stack([r * torch.cos(theta), r * torch.sin(theta), torch.full_like(theta, .5)],
                           dim=-1)
    torch.testing.assert_close(rot[:, 2, :], expected, atol=1e-6, rtol=0)


def test_random_views_are_reproducible_and_in_range():
    g1 = torch.Generator().manual_seed(3)
    g2 = torch.Generator().manual_seed(3)
    r1, r2 = random_view_rotations(64, generator=g1), random_view_rotations(64, generator=g2)
    assert r1.shape == (64, 3, 3)
    torch.testing.assert_close(r1, r2)
    _assert_rotations(r1)
    # D = (-sin(phi) cos(theta), -sin(phi) sin(theta), cos(phi)): phi counts
    # from the zenith, so cameras cover the whole upper hemisphere
    d = r1[:, 2, :]
    assert d[:, 2].min() >= -1e-6 and d[:, 2].min() < 0.3 and d[:, 2].max() > 0.9
    assert d[:, 0].min() < -0.5 < 0.5 < d[:, 0].max()
    assert d[:, 1].min() < -0.5 < 0.5 < d[:, 1].max()
