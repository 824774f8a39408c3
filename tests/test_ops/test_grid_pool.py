"""Offset utilities and grid_pool / grid_unpool against python-loop references."""
import importlib.util
from collections import defaultdict

import pytest
import torch

from tap3d.ops import batch_to_offset, grid_pool, grid_unpool, offset_to_batch

HAS_SCATTER = importlib.util.find_spec('torch_scatter') is not None
BACKENDS = ['torch',
            pytest.param('torch_scatter',
                         marks=pytest.mark.skipif(not HAS_SCATTER, reason='needs torch-scatter'))]


def test_offset_batch_round_trip():
    offset = torch.tensor([3, 3, 7, 8])
    batch = offset_to_batch(offset)
    assert batch.tolist() == [0, 0, 0, 2, 2, 2, 2, 3]
    assert torch.equal(batch_to_offset(batch, batch_size=4), offset)
    assert batch_to_offset(torch.tensor([0, 0, 1]), batch_size=3).tolist() == [2, 3, 3]
    assert batch_to_offset(torch.tensor([0, 1, 1])).tolist() == [1, 3]


def test_offset_bad_input():
    with pytest.raises(ValueError, match='non-decreasing'):
        offset_to_batch(torch.tensor([4, 2]))
    with pytest.raises(ValueError, match='sorted'):
        batch_to_offset(torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match='batch_size'):
        batch_to_offset(torch.tensor([0, 3]), batch_size=2)


def make_scene(sizes, seed):
    g = torch.Generator().manual_seed(seed)
    # Samples overlap in space, so any cross-sample merge would show up.
    coord = torch.rand(sum(sizes), 3, generator=g) * 2.0
    coord[:7] = coord[0]  # duplicate points in the first sample
    feat = torch.randn(sum(sizes), 5, generator=g)
    return coord, feat, torch.tensor(sizes).cumsum(0)


def loop_grid_pool(coord, feat, offset, grid_size):
    """Per-sample dict of voxel -> point ids, voxels relative to the sample's min."""
    pools, start = [], 0
    for end in offset.tolist():
        c = coord[start:end].double()
        groups = defaultdict(list)
        if end > start:
            lo = c.min(0).values
            for j in range(end - start):
                voxel = tuple(torch.floor((c[j] - lo) / grid_size).long().tolist())
                groups[voxel].append(start + j)
        pools.append(groups)
        start = end
    return pools


@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('sizes,grid_size', [([40, 1, 25, 60], 0.5), ([13], 0.3), ([30, 30], 5.0),
                                            ([12, 0, 9], 0.5)])
def test_grid_pool_matches_loop(backend, sizes, grid_size):
    coord, feat, offset = make_scene(sizes, seed=len(sizes))
    p_coord, p_feat, p_offset, cluster = grid_pool(coord, feat, offset, grid_size, backend=backend)
    reference = loop_grid_pool(coord, feat, offset, grid_size)
    assert p_offset.tolist() == torch.tensor([len(g) for g in reference]).cumsum(0).tolist()
    assert p_coord.shape == (int(p_offset[-1]), 3) and p_feat.shape == (int(p_offset[-1]), 5)
    batch = offset_to_batch(offset)
    pooled_batch = offset_to_batch(p_offset).tolist()
    unpooled = grid_unpool(p_feat, cluster)
    cluster_list = cluster.tolist()
    seen = set()
    for b, groups in enumerate(reference):
        for members in groups.values():
            ids = torch.tensor(members)
            # One cluster per (sample, voxel), owned by that sample in pooled_offset ...
            c = cluster_list[members[0]]
            assert all(cluster_list[j] == c for j in members) and c not in seen
            seen.add(c)
            assert pooled_batch[c] == b and (batch[ids] == b).all()
            assert torch.allclose(p_coord[c], coord[ids].mean(0), atol=1e-6)
            feat_max = feat[ids].max(0).values
            assert torch.equal(p_feat[c], feat_max)
            # Round trip: every member gets its own cluster's max.
            assert torch.equal(unpooled[ids], feat_max.expand(len(members), -1))
    # Every cluster id was matched to exactly one (sample, voxel): nothing merged.
    assert seen == set(range(p_coord.shape[0]))


@pytest.mark.parametrize('backend', BACKENDS)
def test_grid_pool_gradients(backend):
    coord, feat, offset = make_scene([20, 15], seed=5)
    coord.requires_grad_(True)
    feat.requires_grad_(True)
    p_coord, p_feat, _, cluster = grid_pool(coord, feat, offset, 0.7, backend=backend)
    (p_coord.sum() + p_feat.sum()).backward()
    # Mean: each point gets 1 / its cluster's size; max: only one winner per cluster and channel.
    sizes = torch.bincount(cluster).float()
    torch.testing.assert_close(coord.grad, (1.0 / sizes[cluster]).unsqueeze(-1).expand(-1, 3))
    assert torch.equal(feat.grad.sum(0), torch.full((5,), float(sizes.numel())))


@pytest.mark.skipif(not HAS_SCATTER, reason='needs torch-scatter')
def test_grid_pool_backends_agree():
    coord, feat, offset = make_scene([50, 3, 70], seed=7)
    a = grid_pool(coord, feat, offset, 0.4, backend='torch_scatter')
    b = grid_pool(coord, feat, offset, 0.4, backend='torch')
    auto = grid_pool(coord, feat, offset, 0.4)
    torch.testing.assert_close(a[0], b[0])
    for x, y, z in zip(a, b, auto):
        assert torch.equal(x, z)
    for x, y in zip(a[1:], b[1:]):
        assert torch.equal(x, y)


def test_grid_pool_with_start_and_bad_input():
    coord = torch.tensor([[0.1, 0.1, 0.1], [0.9, 0.1, 0.1], [0.1, 0.1, 0.1]])
    feat = torch.arange(3.).unsqueeze(-1)
    offset = torch.tensor([2, 3])
    # Origin at -0.5: 0.1 and 0.9 fall in voxels 1 and 2 (with the min origin, both in 0).
    start = torch.full((2, 3), -0.5)
    _, _, p_offset, cluster = grid_pool(coord, feat, offset, 1.0, start=start)
    assert p_offset.tolist() == [2, 3] and cluster.tolist() == [0, 1, 2]
    _, _, p_offset, cluster = grid_pool(coord, feat, offset, 1.0)
    assert p_offset.tolist() == [1, 2] and cluster.tolist() == [0, 0, 1]
    with pytest.raises(ValueError, match='below'):
        grid_pool(coord, feat, offset, 1.0, start=torch.ones(2, 3))
    with pytest.raises(ValueError, match='ends at 2 but there are 3 points'):
        grid_pool(coord, feat, torch.tensor([1, 2]), 1.0)
    with pytest.raises(ValueError, match='backend'):
        grid_pool(coord, feat, offset, 1.0, backend='cuda')


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('backend', BACKENDS)
def test_grid_pool_cuda_matches_cpu(backend):
    coord, feat, offset = make_scene([40, 25], seed=9)
    cpu = grid_pool(coord, feat, offset, 0.5, backend=backend)
    gpu = grid_pool(coord.cuda(), feat.cuda(), offset.cuda(), 0.5, backend=backend)
    torch.testing.assert_close(gpu[0].cpu(), cpu[0])
    for x, y in zip(gpu[1:], cpu[1:]):
        assert torch.equal(x.cpu(), y)
