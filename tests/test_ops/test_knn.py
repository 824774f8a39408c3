"""knn, knn_offset and three_nn against brute-force float64 references."""
import pytest
import torch

from tap3d.ops import knn, knn_offset, three_nn


def brute_dist2(query, ref):
    """(B, M, 3), (B, N, 3) -> (B, M, N) float64 squared distances by loops over axes."""
    q, r = query.double(), ref.double()
    return ((q.unsqueeze(2) - r.unsqueeze(1))**2).sum(-1)


def check_knn_result(query, ref, k, dist2, idx):
    """Shape, exact distances of the returned indices, ascending order, distinct
    indices, and the same sorted distances as a brute-force sort."""
    batch, m, _ = query.shape
    n = ref.shape[1]
    assert dist2.shape == idx.shape == (batch, m, k)
    full = brute_dist2(query, ref)
    # The returned distance is the true distance of the returned index.
    torch.testing.assert_close(dist2.double(), full.gather(-1, idx), rtol=1e-5, atol=1e-6)
    kk = min(k, n)
    assert (dist2[..., 1:kk] >= dist2[..., :kk - 1]).all()
    expected = full.sort(-1).values[..., :kk]
    torch.testing.assert_close(dist2[..., :kk].double(), expected, rtol=1e-5, atol=1e-6)
    for row in idx[..., :kk].reshape(-1, kk):
        assert len(set(row.tolist())) == kk
    if k > n:
        assert (idx[..., n:] == idx[..., :1]).all()
        assert (dist2[..., n:] == dist2[..., :1]).all()


@pytest.mark.parametrize('batch,m,n,k', [(1, 1, 1, 1), (2, 50, 200, 16), (3, 17, 40, 40),
                                         (2, 30, 5, 8), (1, 64, 300, 24),
                                         (2, 33, 301, 8)])
def test_knn_matches_brute_force(batch, m, n, k):
    torch.manual_seed(batch * 100 + n)
    query, ref = torch.randn(batch, m, 3), torch.randn(batch, n, 3)
    check_knn_result(query, ref, k, *knn(query, ref, k))


def test_knn_chunking_is_invisible():
    torch.manual_seed(0)
    query, ref = torch.rand(2, 45, 3), torch.rand(2, 80, 3)
    d_full, i_full = knn(query, ref, 6)
    d_chunk, i_chunk = knn(query, ref, 6, chunk_size=7)
    assert torch.equal(d_full, d_chunk) and torch.equal(i_full, i_chunk)


def test_knn_large_coordinates_and_self_query():
    # Scene-scale coordinates: a point queried against its own cloud is its
    # own nearest neighbour at distance exactly 0.
    torch.manual_seed(1)
    ref = torch.rand(1, 500, 3) * 20 + 1000
    dist2, idx = knn(ref, ref, 4)
    assert (dist2[..., 0] == 0).all()
    assert torch.equal(idx[0, :, 0], torch.arange(500))
    check_knn_result(ref, ref, 4, dist2, idx)


def test_knn_ties_and_duplicates():
    # Duplicated integer grid: equal distances everywhere.
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.)] * 3, indexing='ij'), -1).view(1, -1, 3)
    ref = torch.cat([grid, grid], 1)
    query = grid[:, :9] + 0.5
    dist2, idx = knn(query, ref, 10)
    check_knn_result(query, ref, 10, dist2, idx)
    # The duplicate of the nearest point is returned too, at the same distance.
    dist2, idx = knn(grid, ref, 2)
    assert (dist2 == 0).all()
    assert ((idx[..., 0] - idx[..., 1]).abs() == 64).all()


def test_knn_float64_and_empty_query():
    q, r = torch.rand(2, 10, 3, dtype=torch.float64), torch.rand(2, 20, 3, dtype=torch.float64)
    dist2, idx = knn(q, r, 3)
    assert dist2.dtype == torch.float64
    check_knn_result(q, r, 3, dist2, idx)
    dist2, idx = knn(torch.rand(2, 0, 3), r.float(), 3)
    assert dist2.shape == idx.shape == (2, 0, 3)


def test_knn_bad_input():
    with pytest.raises(ValueError, match='knn: `ref` has batch size'):
        knn(torch.rand(2, 5, 3), torch.rand(3, 5, 3), 2)
    with pytest.raises(ValueError, match='no neighbour'):
        knn(torch.rand(1, 5, 3), torch.rand(1, 0, 3), 2)
    with pytest.raises(ValueError, match='`k`'):
        knn(torch.rand(1, 5, 3), torch.rand(1, 5, 3), 0)


def test_knn_offset_stays_within_samples():
    torch.manual_seed(2)
    sizes_q, sizes_r = [5, 0, 12, 3], [20, 4, 2, 9]
    query = torch.rand(sum(sizes_q), 3)
    ref = torch.rand(sum(sizes_r), 3)
    q_off = torch.tensor(sizes_q).cumsum(0)
    r_off = torch.tensor(sizes_r).cumsum(0)
    k = 4
    dist2, idx = knn_offset(query, q_off, ref, r_off, k)
    assert dist2.shape == idx.shape == (sum(sizes_q), k)
    q_start = r_start = 0
    for nq, nr in zip(sizes_q, sizes_r):
        rows = slice(q_start, q_start + nq)
        # Every neighbour belongs to the query's own sample ...
        assert ((idx[rows] >= r_start) & (idx[rows] < r_start + nr)).all()
        # ... and matches a per-sample brute force (padding when nr < k).
        if nq:
            check_knn_result(query[None, rows], ref[None, r_start:r_start + nr], k,
                             dist2[None, rows], idx[None, rows] - r_start)
        q_start += nq
        r_start += nr


def test_knn_offset_bad_input():
    with pytest.raises(ValueError, match='no reference points'):
        knn_offset(torch.rand(4, 3), torch.tensor([2, 4]), torch.rand(3, 3),
                   torch.tensor([3, 3]), 2)
    with pytest.raises(ValueError, match='ends at 3 but there are 4 points'):
        knn_offset(torch.rand(4, 3), torch.tensor([1, 3]), torch.rand(3, 3),
                   torch.tensor([1, 3]), 2)
    with pytest.raises(ValueError, match='non-decreasing'):
        knn_offset(torch.rand(4, 3), torch.tensor([3, 1, 4]), torch.rand(3, 3),
                   torch.tensor([1, 2, 3]), 2)


@pytest.mark.parametrize('m', [1, 2, 3, 50])
def test_three_nn(m):
    torch.manual_seed(m)
    unknown, known = torch.rand(2, 30, 3), torch.rand(2, m, 3)
    dist2, idx = three_nn(unknown, known)
    assert dist2.shape == idx.shape == (2, 30, 3)
    real = min(m, 3)
    check_knn_result(unknown, known, real, dist2[..., :real].contiguous(),
                     idx[..., :real].contiguous())
    assert torch.isinf(dist2[..., real:]).all()
    assert (idx < m).all()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_knn_cuda_matches_cpu():
    q, r = torch.rand(2, 100, 3), torch.rand(2, 300, 3)
    d_cpu, _ = knn(q, r, 8)
    d_gpu, i_gpu = knn(q.cuda(), r.cuda(), 8)
    torch.testing.assert_close(d_gpu.cpu(), d_cpu)
    check_knn_result(q, r, 8, d_gpu.cpu(), i_gpu.cpu())


def test_two_stage_selection_is_exercised():
    # The brute-force cases above with N = 200, 300, 301 (padded) and 500
    # (padded) go through the grouped two-stage selection; N < 4k (e.g. the
    # k > N cases) takes the single top-k.
    from tap3d.ops.neighbors import _group_size
    assert _group_size(200, 16) > 1 and _group_size(300, 24) > 1
    assert 301 % _group_size(301, 8) and 500 % _group_size(500, 4)
    assert _group_size(40, 40) == 1 and _group_size(5, 5) == 1


def test_knn_ignores_autocast():
    # Under mixed precision the distance matmul must not drop to bfloat16/half.
    torch.manual_seed(5)
    query, ref = torch.rand(2, 40, 3) * 10, torch.rand(2, 200, 3) * 10
    expected = knn(query, ref, 8)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        got = knn(query, ref, 8)
    assert got[0].dtype == torch.float32
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])
