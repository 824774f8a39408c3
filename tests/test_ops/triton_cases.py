"""Interpreter cases of the Triton point ops (run by ``test_triton_ops.py``).

Triton's interpreter runs the kernels on CPU tensors, but only when
``TRITON_INTERPRET=1`` is set before ``triton`` is imported, so
``test_triton_ops.py`` runs this file in a fresh ``python -m pytest`` process
with that environment; run directly without it, every case skips. The
interpreter is slow (~10 ms per loop step), so sizes stay small; N still
crosses the kernels' block sizes (64 for kNN and ball query, 4096 for FPS).
"""
import os

import numpy as np
import pytest
import torch

from tap3d import ops
from tap3d.ops import triton as tt
from tap3d.ops.triton import dispatch


@pytest.fixture(autouse=True)
def _interpreter():
    if os.environ.get('TRITON_INTERPRET') != '1':
        pytest.skip('needs TRITON_INTERPRET=1 before triton is imported '
                    '(tests/test_ops/test_triton_ops.py runs this file so)')
    pytest.importorskip('triton', reason='triton is not installed')


def exact_sqdist(query, ref):
    """(B, M, 3), (B, N, 3) -> (B, M, N): the kernels' rounding, ``(dx² + dy²) + dz²``."""
    diff = ref.unsqueeze(1) - query.unsqueeze(2)
    return diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1] + diff[..., 2] * diff[..., 2]


def lex_knn(query, ref, k):
    """Brute force in the working dtype: ascending (distance, index), k > N repeats slot 0."""
    dtype = torch.float64 if ref.dtype == torch.float64 else torch.float32
    d = exact_sqdist(query.to(dtype), ref.to(dtype))
    dist, idx = d.sort(dim=-1, stable=True)  # stable: equal distances stay in index order
    kk = min(k, ref.shape[1])
    dist, idx = dist[..., :kk], idx[..., :kk]
    if k > kk:
        dist = torch.cat([dist, dist[..., :1].expand(-1, -1, k - kk)], -1)
        idx = torch.cat([idx, idx[..., :1].expand(-1, -1, k - kk)], -1)
    return dist, idx


def loop_ball_query(query, ref, radius, k):
    """PointNet++ semantics in the working dtype; an empty ball gives the nearest point."""
    dtype = torch.float64 if ref.dtype == torch.float64 else torch.float32
    d = exact_sqdist(query.to(dtype), ref.to(dtype))
    r2 = torch.tensor(radius * radius, dtype=dtype)
    out = torch.zeros(d.shape[:2] + (k, ), dtype=torch.long)
    for b in range(d.shape[0]):
        for i in range(d.shape[1]):
            inside = (d[b, i] < r2).nonzero().flatten().tolist()[:k]
            if not inside:
                inside = [int(d[b, i].argmin())]  # argmin: the first minimum
            out[b, i] = torch.tensor(inside + [inside[0]] * (k - len(inside)))
    return out


def assert_same_neighbours(got, expected, tol=1e-5):
    """Same sorted distances; same index sets wherever the k-th place is not a near tie."""
    (gd, gi), (ed, ei) = got, expected
    torch.testing.assert_close(gd, ed, rtol=tol, atol=tol)
    for a, b, d in zip(gi.reshape(-1, gi.shape[-1]), ei.reshape(-1, ei.shape[-1]),
                       gd.reshape(-1, gd.shape[-1])):
        ties = (d[1:] - d[:-1]).abs() < tol
        if not ties.any():
            assert torch.equal(a, b)


def grid_cloud(batch=2, copies=2, seed=1):
    """A 4x4x4 integer grid, every point ``copies`` times, shuffled: exact ties everywhere."""
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.)] * 3, indexing='ij'), -1).view(-1, 3)
    pts = torch.cat([grid] * copies)
    perm = torch.randperm(len(pts), generator=torch.Generator().manual_seed(seed))
    return pts[perm].unsqueeze(0).repeat(batch, 1, 1)


# ------------------------------------------------------------------ FPS


@pytest.mark.parametrize('batch,n,m', [(3, 100, 37), (2, 77, 77), (1, 1, 1), (1, 1, 3),
                                       (2, 7, 12), (1, 4100, 12)])
def test_fps_identical_to_torch(batch, n, m):
    # (1, 4100, 12): more points than one block (4096) of the kernel's loop
    torch.manual_seed(n + m)
    xyz = torch.randn(batch, n, 3)
    got = tt.furthest_point_sample(xyz, m)
    assert got.shape == (batch, m) and got.dtype == torch.long
    assert torch.equal(got, ops.furthest_point_sample(xyz, m))
    assert torch.equal(got, ops.naive_furthest_point_sample(xyz, m))


def test_fps_ties_duplicates_and_repeats():
    xyz = grid_cloud()
    got = tt.furthest_point_sample(xyz, 70)  # 64 distinct places, then repeats of index 0
    assert torch.equal(got, ops.furthest_point_sample(xyz, 70))
    assert (got[:, 64:] == 0).all()


def test_fps_float64_and_half():
    rng = np.random.default_rng(0)
    xyz = torch.from_numpy(rng.random((2, 90, 3)))
    assert torch.equal(tt.furthest_point_sample(xyz, 40), ops.furthest_point_sample(xyz, 40))
    # Points 1 and 2 differ from point 0 by 1e-12: equal in float32, not in float64.
    tiny = torch.ones(1, 3, 3, dtype=torch.float64)
    tiny[0, 1, 0], tiny[0, 2, 0] = 1 + 1e-12, 1 + 2e-12
    assert tt.furthest_point_sample(tiny, 2).tolist() == [[0, 2]]
    assert tt.furthest_point_sample(tiny.float(), 2).tolist() == [[0, 0]]
    half = torch.rand(2, 50, 3).half()
    assert torch.equal(tt.furthest_point_sample(half, 20),
                       ops.naive_furthest_point_sample(half.float(), 20))


def test_fps_empty_batches():
    assert tt.furthest_point_sample(torch.rand(0, 10, 3), 4).shape == (0, 4)
    assert tt.furthest_point_sample(torch.rand(2, 10, 3), 0).shape == (2, 0)


# ------------------------------------------------------------------ kNN


@pytest.mark.parametrize('batch,m,n,k', [(2, 20, 100, 8), (1, 1, 1, 1), (2, 9, 5, 8),
                                         (1, 24, 131, 24), (2, 17, 40, 40), (1, 8, 70, 1)])
def test_knn_matches_brute_force_and_torch(batch, m, n, k):
    torch.manual_seed(batch * 100 + n + k)
    query, ref = torch.randn(batch, m, 3), torch.randn(batch, n, 3)
    dist, idx = tt.knn(query, ref, k)
    assert dist.shape == idx.shape == (batch, m, k)
    assert dist.dtype == torch.float32 and idx.dtype == torch.long
    e_dist, e_idx = lex_knn(query, ref, k)
    assert torch.equal(dist, e_dist) and torch.equal(idx, e_idx)
    # The torch op centres the clouds before its exact distances: equal up to rounding.
    assert_same_neighbours((dist, idx), ops.knn(query, ref, k))


def test_knn_ties_in_index_order():
    ref = grid_cloud(batch=1)
    query = torch.cat([ref[:, :6], ref[:, :6] + 0.5], 1)
    dist, idx = tt.knn(query, ref, 10)
    e_dist, e_idx = lex_knn(query, ref, 10)
    assert torch.equal(dist, e_dist) and torch.equal(idx, e_idx)
    # the torch op returns the same distances; its order among ties is its own
    t_dist, t_idx = ops.knn(query, ref, 10)
    assert torch.equal(dist, t_dist)
    assert (exact_sqdist(query, ref).gather(-1, t_idx) == t_dist).all()


def test_knn_float64_half_and_empty():
    q = torch.rand(2, 10, 3, dtype=torch.float64)
    r = torch.rand(2, 90, 3, dtype=torch.float64)
    dist, idx = tt.knn(q, r, 5)
    assert dist.dtype == torch.float64
    e = lex_knn(q, r, 5)
    assert torch.equal(dist, e[0]) and torch.equal(idx, e[1])
    assert_same_neighbours((dist, idx), ops.knn(q, r, 5), tol=1e-12)
    dist, idx = tt.knn(q.half(), r.half(), 4)
    assert dist.dtype == torch.float32
    assert torch.equal(idx, lex_knn(q.half().float(), r.half().float(), 4)[1])
    for shape_q, shape_r in (((2, 0, 3), (2, 7, 3)), ((0, 4, 3), (0, 7, 3))):
        dist, idx = tt.knn(torch.rand(shape_q), torch.rand(shape_r), 3)
        assert dist.shape == idx.shape == shape_q[:2] + (3, )


def test_knn_offset_matches_torch_per_sample():
    torch.manual_seed(2)
    sizes_q, sizes_r = [5, 0, 12, 3, 9], [20, 4, 2, 9, 70]
    query, ref = torch.rand(sum(sizes_q), 3), torch.rand(sum(sizes_r), 3)
    q_off, r_off = torch.tensor(sizes_q).cumsum(0), torch.tensor(sizes_r).cumsum(0)
    dist, idx = tt.knn_offset(query, q_off, ref, r_off, 4)
    assert dist.shape == idx.shape == (sum(sizes_q), 4)
    q0 = r0 = 0
    for nq, nr in zip(sizes_q, sizes_r):
        if nq:
            e_dist, e_idx = lex_knn(query[None, q0:q0 + nq], ref[None, r0:r0 + nr], 4)
            assert torch.equal(dist[q0:q0 + nq], e_dist[0])
            assert torch.equal(idx[q0:q0 + nq], e_idx[0] + r0)
        q0, r0 = q0 + nq, r0 + nr
    assert_same_neighbours((dist, idx), ops.knn_offset(query, q_off, ref, r_off, 4))
    empty = tt.knn_offset(torch.rand(0, 3), torch.tensor([0]), ref[:3], torch.tensor([3]), 2)
    assert empty[0].shape == empty[1].shape == (0, 2)


# ------------------------------------------------------------------ ball query


@pytest.mark.parametrize('batch,m,n,radius,k', [(2, 20, 100, 0.3, 8), (1, 1, 1, 0.5, 1),
                                                (3, 16, 64, 0.6, 32), (2, 10, 6, 1.0, 10),
                                                (1, 21, 150, 0.9, 5), (2, 12, 130, 0.05, 4)])
def test_ball_query_matches_loop_and_torch(batch, m, n, radius, k):
    # (1, 21, 150, 0.9, 5): full balls in the first block stop the scan early;
    # (2, 12, 130, 0.05, 4): mostly empty balls, the nearest point over all blocks.
    torch.manual_seed(n + k)
    query, ref = torch.rand(batch, m, 3), torch.rand(batch, n, 3)
    idx = tt.ball_query(query, ref, radius, k)
    assert idx.shape == (batch, m, k) and idx.dtype == torch.long
    assert torch.equal(idx, loop_ball_query(query, ref, radius, k))
    expected = ops.ball_query(query, ref, radius, k)
    if not torch.equal(idx, expected):  # the torch op's matmul distances round differently
        near_edge = ((exact_sqdist(query, ref).double() - radius**2).abs() < 1e-5).any(-1)
        assert not ((idx != expected).any(-1) & ~near_edge).any()


def test_ball_query_ties_empty_balls_and_empty_batches():
    ref = grid_cloud(batch=1)
    query = torch.tensor([[[1.5, 1.5, 1.5], [10., 10, 10], [0, 0, 0]]])
    idx = tt.ball_query(query, ref, 0.9, 6)
    assert torch.equal(idx, loop_ball_query(query, ref, 0.9, 6))
    assert torch.equal(idx, ops.ball_query(query, ref, 0.9, 6))
    # far away: every slot holds the nearest grid point's first copy
    far = exact_sqdist(query, ref)[0, 1]
    assert (idx[0, 1] == int(far.argmin())).all()
    q64 = torch.rand(1, 5, 3, dtype=torch.float64)
    r64 = torch.rand(1, 80, 3, dtype=torch.float64)
    assert torch.equal(tt.ball_query(q64, r64, 0.4, 7), loop_ball_query(q64, r64, 0.4, 7))
    assert tt.ball_query(torch.rand(2, 0, 3), torch.rand(2, 5, 3), 0.5, 3).shape == (2, 0, 3)
    assert tt.ball_query(torch.rand(0, 4, 3), torch.rand(0, 5, 3), 0.5, 3).shape == (0, 4, 3)


# ------------------------------------------------------------------ dispatch


def test_public_ops_route_to_the_kernels(monkeypatch):
    calls = []
    for name in ('furthest_point_sample', 'knn', 'knn_offset', 'ball_query'):
        fn = getattr(tt, name)
        monkeypatch.setattr(tt, name, lambda *a, _fn=fn, _n=name, **kw: calls.append(_n)
                            or _fn(*a, **kw))
    torch.manual_seed(3)
    xyz, q = torch.rand(2, 40, 3), torch.rand(2, 6, 3)
    expected = (ops.furthest_point_sample(xyz, 9), ops.knn(q, xyz, 4), ops.three_nn(q, xyz),
                ops.ball_query(q, xyz, 0.3, 5),
                ops.knn_offset(xyz[0], torch.tensor([40]), xyz[1], torch.tensor([40]), 3))
    assert calls == []
    monkeypatch.setenv(dispatch.ENV, 'interpret')
    got = (ops.furthest_point_sample(xyz, 9), ops.knn(q, xyz, 4), ops.three_nn(q, xyz),
           ops.ball_query(q, xyz, 0.3, 5),
           ops.knn_offset(xyz[0], torch.tensor([40]), xyz[1], torch.tensor([40]), 3))
    assert calls == ['furthest_point_sample', 'knn', 'knn', 'ball_query', 'knn_offset']
    assert torch.equal(got[0], expected[0]) and torch.equal(got[3], expected[3])
    for g, e in zip(got[1:3] + got[4:], expected[1:3] + expected[4:]):
        assert_same_neighbours(g, e)
    # argument checks still come first, with the torch ops' messages
    with pytest.raises(ValueError, match='furthest_point_sample'):
        ops.furthest_point_sample(torch.rand(10, 3), 4)
    with pytest.raises(ValueError, match='no reference points'):
        ops.knn_offset(torch.rand(4, 3), torch.tensor([2, 4]), torch.rand(3, 3),
                       torch.tensor([3, 3]), 2)


def test_a_backbone_through_the_interpreted_kernels(monkeypatch):
    # PointMLP (FPS + kNN in every stage) gives the same features either way.
    from tap3d.models.backbones import PointMLP
    torch.manual_seed(0)
    model = PointMLP(in_channels=3, embed_dim=8, k_neighbors=(4, 4, 4, 4)).eval()
    inputs = dict(coord=torch.rand(2, 64, 3))
    inputs['feat'] = inputs['coord']
    with torch.no_grad():
        expected = model(inputs)['feats']
        monkeypatch.setenv(dispatch.ENV, 'interpret')
        got = model(inputs)['feats']
    torch.testing.assert_close(got, expected)
