"""furthest_point_sample against the reference loop and a numpy brute force."""
import numpy as np
import pytest
import torch

from tap3d.ops import furthest_point_sample, naive_furthest_point_sample


def numpy_fps(xyz: np.ndarray, m: int) -> np.ndarray:
    """Textbook FPS from index 0 in float64; first maximum wins ties."""
    chosen = [0]
    mind = np.full(len(xyz), np.inf)
    for _ in range(m - 1):
        mind = np.minimum(mind, ((xyz - xyz[chosen[-1]])**2).sum(-1))
        chosen.append(int(np.argmax(mind)))
    return np.array(chosen)


@pytest.mark.parametrize('batch,n,m', [(1, 1, 1), (3, 100, 37), (2, 500, 150), (4, 64, 64),
                                       (2, 7, 7), (1, 2049, 50)])
def test_fps_matches_reference_loop(batch, n, m):
    torch.manual_seed(n + m)
    xyz = torch.randn(batch, n, 3)
    idx = furthest_point_sample(xyz, m)
    assert idx.shape == (batch, m) and idx.dtype == torch.long
    assert torch.equal(idx, naive_furthest_point_sample(xyz, m))
    assert (idx[:, 0] == 0).all()
    # N >= M: every chosen point is distinct.
    for row in idx:
        assert len(set(row.tolist())) == m


def test_fps_matches_float64_numpy():
    rng = np.random.default_rng(0)
    xyz = rng.random((2, 300, 3))
    idx = furthest_point_sample(torch.from_numpy(xyz), 120)
    for b in range(2):
        np.testing.assert_array_equal(idx[b].numpy(), numpy_fps(xyz[b], 120))


def test_fps_ties_and_duplicates():
    # Integer grid with every point present twice: many exactly equal distances.
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.)] * 3, indexing='ij'), -1).view(-1, 3)
    xyz = torch.cat([grid, grid])[torch.randperm(128, generator=torch.Generator().manual_seed(1))]
    xyz = xyz.unsqueeze(0).repeat(2, 1, 1)
    idx = furthest_point_sample(xyz, 64)
    assert torch.equal(idx, naive_furthest_point_sample(xyz, 64))
    np.testing.assert_array_equal(idx[0].numpy(), numpy_fps(xyz[0].double().numpy(), 64))
    # 64 distinct locations exist, and FPS reaches all of them before repeating one.
    assert len({tuple(p) for p in xyz[0, idx[0]].tolist()}) == 64


def test_fps_more_samples_than_points_repeats_first():
    xyz = torch.rand(2, 5, 3)
    idx = furthest_point_sample(xyz, 8)
    assert torch.equal(idx, naive_furthest_point_sample(xyz, 8))
    assert sorted(idx[0, :5].tolist()) == [0, 1, 2, 3, 4]
    assert (idx[:, 5:] == 0).all()


def test_fps_zero_samples_and_half_input():
    assert furthest_point_sample(torch.rand(2, 10, 3), 0).shape == (2, 0)
    xyz = torch.rand(2, 50, 3)
    half = xyz.half()
    assert torch.equal(furthest_point_sample(half, 20),
                       naive_furthest_point_sample(half.float(), 20))


@pytest.mark.parametrize('bad', [torch.rand(10, 3), torch.rand(2, 10, 2),
                                 torch.randint(0, 5, (2, 10, 3))])
def test_fps_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match='furthest_point_sample'):
        furthest_point_sample(bad, 4)


def test_fps_rejects_empty_cloud():
    with pytest.raises(ValueError, match='empty'):
        furthest_point_sample(torch.rand(1, 0, 3), 4)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_fps_cuda_matches_cpu():
    xyz = torch.rand(4, 1024, 3)
    assert torch.equal(furthest_point_sample(xyz.cuda(), 256).cpu(),
                       furthest_point_sample(xyz, 256))
