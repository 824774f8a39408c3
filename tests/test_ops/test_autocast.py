"""Index-producing ops keep float32 distances under bf16 autocast.

Mixed precision must not change which points are sampled or grouped: every op
that ranks distances gives under ``torch.autocast('cpu', dtype=torch.bfloat16)``
exactly what it gives in float32. Scene-scale coordinates (a few metres, 2 mm
apart) make a bf16 distance reorder neighbours, so a lapse would show.
"""
import torch

from tap3d import ops
from tap3d.models.backbones.dgcnn import knn_indices


def _cloud(batch, n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, n, 3, generator=g) * 5 + 100


def _same_under_autocast(fn):
    expected = fn()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        got = fn()
    for e, g in zip(expected if isinstance(expected, tuple) else (expected, ),
                    got if isinstance(got, tuple) else (got, )):
        assert g.dtype == e.dtype
        assert torch.equal(g, e)


def test_sampling_and_neighbour_ops_ignore_autocast():
    xyz, query = _cloud(2, 300, 0), _cloud(2, 40, 1)
    _same_under_autocast(lambda: ops.furthest_point_sample(xyz, 64))
    _same_under_autocast(lambda: ops.naive_furthest_point_sample(xyz, 64))
    _same_under_autocast(lambda: ops.knn(query, xyz, 16))
    _same_under_autocast(lambda: ops.three_nn(query, xyz))
    _same_under_autocast(lambda: ops.ball_query(query, xyz, 0.6, 16))
    offset = torch.tensor([300, 600])
    _same_under_autocast(lambda: ops.knn_offset(query.reshape(-1, 3), torch.tensor([40, 80]),
                                                xyz.reshape(-1, 3), offset, 8))


def test_dgcnn_feature_knn_ignores_autocast():
    # the later DGCNN graphs are built on features: the Gram matmul must stay float32
    feats = _cloud(2, 200, 2).repeat(1, 1, 8) + torch.randn(2, 200, 24) * 0.01
    idx = knn_indices(feats, 10)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert torch.equal(knn_indices(feats, 10), idx)
    # (in bf16 the same matmul reorders neighbours: the test would notice)
    lossy = knn_indices(feats.bfloat16(), 10)
    assert not torch.equal(lossy, idx)
