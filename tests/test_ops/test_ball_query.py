"""ball_query, gather_points and group_points against python-loop references."""
import pytest
import torch

from tap3d.ops import ball_query, gather_points, group_points


def loop_ball_query(query, ref, radius, k):
    """PointNet++ semantics, one query at a time in float64; empty ball -> nearest."""
    out = torch.zeros(query.shape[0], query.shape[1], k, dtype=torch.long)
    for b in range(query.shape[0]):
        for i in range(query.shape[1]):
            d2 = ((ref[b].double() - query[b, i].double())**2).sum(-1)
            inside = [j for j in range(ref.shape[1]) if d2[j] < radius**2][:k]
            if not inside:
                inside = [int(d2.argmin())]
            out[b, i] = torch.tensor(inside + [inside[0]] * (k - len(inside)))
    return out


def assert_same_ball(query, ref, radius, got, expected):
    """Equal, except where a point sits within float32 rounding of the sphere."""
    if torch.equal(got, expected):
        return
    d2 = ((query.double().unsqueeze(2) - ref.double().unsqueeze(1))**2).sum(-1)
    near_edge = ((d2 - radius**2).abs() < 1e-5).any(-1)
    mismatch = (got != expected).any(-1)
    assert not (mismatch & ~near_edge).any()


@pytest.mark.parametrize('batch,m,n,radius,k', [(1, 1, 1, 0.5, 1), (2, 20, 100, 0.3, 8),
                                                (3, 16, 64, 0.6, 32), (2, 10, 6, 1.0, 10)])
def test_ball_query_matches_loop(batch, m, n, radius, k):
    torch.manual_seed(n + k)
    query, ref = torch.rand(batch, m, 3), torch.rand(batch, n, 3)
    idx = ball_query(query, ref, radius, k)
    assert idx.shape == (batch, m, k) and idx.dtype == torch.long
    assert_same_ball(query, ref, radius, idx, loop_ball_query(query, ref, radius, k))


def test_ball_query_empty_ball_gives_nearest():
    ref = torch.tensor([[[0., 0, 0], [1, 0, 0], [5, 5, 5]]])
    query = torch.tensor([[[4., 4, 4], [0.9, 0, 0], [0.5, 0, 0]]])
    idx = ball_query(query, ref, 0.2, 4)
    assert idx[0, 0].tolist() == [2, 2, 2, 2]  # nothing within 0.2: nearest is point 2
    assert idx[0, 1].tolist() == [1, 1, 1, 1]  # point 1 inside, padded with itself
    # Equidistant from points 0 and 1, none inside: the lower index wins.
    assert idx[0, 2].tolist() == [0, 0, 0, 0]


def test_ball_query_duplicates_and_chunks():
    torch.manual_seed(3)
    base = torch.rand(1, 30, 3)
    ref = torch.cat([base, base], 1)  # every point twice
    query = base[:, :12]
    idx = ball_query(query, ref, 0.25, 16)
    assert_same_ball(query, ref, 0.25, idx, loop_ball_query(query, ref, 0.25, 16))
    assert torch.equal(idx, ball_query(query, ref, 0.25, 16, chunk_size=5))


def test_ball_query_bad_input():
    with pytest.raises(ValueError, match='radius'):
        ball_query(torch.rand(1, 2, 3), torch.rand(1, 4, 3), 0.0, 4)
    with pytest.raises(ValueError, match='N == 0'):
        ball_query(torch.rand(1, 2, 3), torch.rand(1, 0, 3), 0.1, 4)


def test_gather_and_group_points():
    torch.manual_seed(4)
    x = torch.randn(2, 10, 5, requires_grad=True)
    idx = torch.randint(0, 10, (2, 7))
    out = gather_points(x, idx)
    assert out.shape == (2, 7, 5)
    for b in range(2):
        for i in range(7):
            assert torch.equal(out[b, i], x[b, idx[b, i]])
    gidx = torch.randint(0, 10, (2, 4, 3))
    grouped = group_points(x, gidx)
    assert grouped.shape == (2, 4, 3, 5)
    for b in range(2):
        for i in range(4):
            for j in range(3):
                assert torch.equal(grouped[b, i, j], x[b, gidx[b, i, j]])
    # The gradient of a sum counts how often each point was picked.
    grouped.sum().backward()
    counts = torch.stack([torch.bincount(gidx[b].flatten(), minlength=10) for b in range(2)])
    assert torch.equal(x.grad, counts.unsqueeze(-1).expand(-1, -1, 5).float())


def test_gather_rejects_bad_index():
    with pytest.raises(ValueError, match='gather_points'):
        gather_points(torch.rand(2, 5, 3), torch.rand(2, 4))
    with pytest.raises(ValueError, match='group_points'):
        group_points(torch.rand(2, 5, 3), torch.zeros(3, 4, 2, dtype=torch.long))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_ball_query_cuda_matches_loop():
    torch.manual_seed(6)
    query, ref = torch.rand(2, 20, 3), torch.rand(2, 100, 3)
    idx = ball_query(query.cuda(), ref.cuda(), 0.3, 8).cpu()
    assert_same_ball(query, ref, 0.3, idx, loop_ball_query(query, ref, 0.3, 8))
