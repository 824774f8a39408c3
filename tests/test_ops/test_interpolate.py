"""three_interpolate and three_nn_interpolate against a numpy reference."""
import numpy as np
import pytest
import torch

from tap3d.ops import three_interpolate, three_nn, three_nn_interpolate


def numpy_fp(unknown, known, feats, eps=1e-8):
    """Inverse-Euclidean-distance three-NN interpolation, one point at a time."""
    out = np.zeros((unknown.shape[0], unknown.shape[1], feats.shape[-1]))
    for b in range(unknown.shape[0]):
        for i in range(unknown.shape[1]):
            d = np.sqrt(((known[b] - unknown[b, i])**2).sum(-1))
            nn = np.argsort(d, kind='stable')[:3]
            w = 1.0 / (d[nn] + eps)
            out[b, i] = (w[:, None] * feats[b, nn]).sum(0) / w.sum()
    return out


@pytest.mark.parametrize('m', [1, 2, 3, 40])
def test_three_nn_interpolate_matches_numpy(m):
    rng = np.random.default_rng(m)
    unknown, known = rng.random((2, 25, 3)), rng.random((2, m, 3))
    feats = rng.standard_normal((2, m, 6))
    out = three_nn_interpolate(torch.from_numpy(unknown).float(), torch.from_numpy(known).float(),
                               torch.from_numpy(feats).float())
    assert out.shape == (2, 25, 6)
    np.testing.assert_allclose(out.numpy(), numpy_fp(unknown, known, feats), rtol=1e-4, atol=1e-5)


def test_known_points_keep_their_features():
    # FP layers upsample onto a superset of the known points: those must come back unchanged.
    torch.manual_seed(0)
    unknown = torch.rand(2, 64, 3) * 5
    known = unknown[:, ::4]
    feats = torch.randn(2, 16, 8)
    out = three_nn_interpolate(unknown, known, feats)
    torch.testing.assert_close(out[:, ::4], feats, rtol=1e-5, atol=1e-5)


def test_three_interpolate_weights_and_gradient():
    torch.manual_seed(1)
    feats = torch.randn(1, 5, 4, requires_grad=True)
    idx = torch.tensor([[[0, 1, 2], [4, 4, 3]]])
    weight = torch.tensor([[[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]])
    out = three_interpolate(feats, idx, weight)
    expected = torch.stack([0.5 * feats[0, 0] + 0.25 * feats[0, 1] + 0.25 * feats[0, 2],
                            0.5 * feats[0, 4] + 0.5 * feats[0, 3]])
    torch.testing.assert_close(out[0], expected)
    out.sum().backward()
    torch.testing.assert_close(feats.grad[0, :, 0], torch.tensor([0.5, 0.25, 0.25, 0.5, 0.5]))


def test_interpolate_with_ties():
    # An unknown point equidistant from four known points on an axis-aligned square.
    known = torch.tensor([[[1., 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]]])
    feats = torch.ones(1, 4, 2)
    out = three_nn_interpolate(torch.zeros(1, 1, 3), known, feats)
    torch.testing.assert_close(out, torch.ones(1, 1, 2))
    dist2, _ = three_nn(torch.zeros(1, 1, 3), known)
    torch.testing.assert_close(dist2, torch.ones(1, 1, 3))


def test_three_interpolate_bad_weight():
    with pytest.raises(ValueError, match='weight'):
        three_interpolate(torch.rand(1, 5, 2), torch.zeros(1, 3, 3, dtype=torch.long),
                          torch.rand(1, 3, 2))
