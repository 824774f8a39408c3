"""Triton kernels of the point ops; launched only through :mod:`.ops`.

Each kernel reads ``(…, 3)`` float coordinates (any float type, computed in
float32, or in float64 when ``FP64``) and computes squared distances as
``dx*dx + dy*dy``, then ``+ dz*dz``, from the coordinates themselves, with
every product and sum rounded on its own (kernels are launched with
``enable_fp_fusion=False``): the same rounding as the torch ops' exact
distances, so the CPU and GPU results agree bit for bit.

Pairs ``(distance, index)`` are compared lexicographically wherever a choice
is made: among equal distances the lower index wins.
"""
import triton
import triton.language as tl

__all__ = ['fps_kernel', 'knn_kernel', 'ball_query_kernel']


@triton.jit
def _sqdist(qx, qy, qz, rx, ry, rz):
    """Squared distance with the torch ops' rounding: ``(dx² + dy²) + dz²``."""
    dx = rx - qx
    dy = ry - qy
    dz = rz - qz
    d = dx * dx + dy * dy
    return d + dz * dz


@triton.jit
def fps_kernel(xyz_ptr, mind_ptr, out_ptr, N, M, BLOCK_N: tl.constexpr, FP64: tl.constexpr):
    """Furthest point sampling of one cloud per program.

    ``xyz``: (B, N, 3) contiguous; ``mind``: (B, N) scratch, the running
    distance to the chosen set; ``out``: (B, M) int64. The whole M-step loop
    runs here, over blocks of ``BLOCK_N`` points.
    """
    acc = tl.float64 if FP64 else tl.float32
    b = tl.program_id(0).to(tl.int64)
    pts = xyz_ptr + b * N * 3
    mind = mind_ptr + b * N
    out = out_ptr + b * M
    offs = tl.arange(0, BLOCK_N)
    tl.store(out, tl.zeros((), tl.int64))
    last = tl.zeros((), tl.int32)
    for i in range(1, M):
        cx = tl.load(pts + last * 3).to(acc)
        cy = tl.load(pts + last * 3 + 1).to(acc)
        cz = tl.load(pts + last * 3 + 2).to(acc)
        best_d = tl.full((), -1.0, acc)
        best_i = tl.zeros((), tl.int32)
        for start in range(0, N, BLOCK_N):
            o = start + offs
            valid = o < N
            x = tl.load(pts + o * 3, mask=valid, other=0.0).to(acc)
            y = tl.load(pts + o * 3 + 1, mask=valid, other=0.0).to(acc)
            z = tl.load(pts + o * 3 + 2, mask=valid, other=0.0).to(acc)
            d = _sqdist(cx, cy, cz, x, y, z)
            # The scratch holds garbage before the first step: start from +inf.
            prev = tl.load(mind + o, mask=valid & (i > 1), other=float('inf')).to(acc)
            new = tl.minimum(prev, d)
            tl.store(mind + o, new, mask=valid)
            # Padding holds -1: real distances are >= 0, so it never wins.
            new = tl.where(valid, new, -1.0)
            blk_d = tl.max(new, 0)
            blk_i = tl.min(tl.where(new == blk_d, o, N), 0)
            # Strictly greater: an earlier block keeps a tie (the lower index).
            better = blk_d > best_d
            best_i = tl.where(better, blk_i, best_i)
            best_d = tl.where(better, blk_d, best_d)
        tl.store(out + i, best_i.to(tl.int64))
        last = best_i
        # The next step reads the scratch written by other threads of this program.
        tl.debug_barrier()


@triton.jit
def _lex_less(d, i, wd, wi):
    """``(d, i) < (wd, wi)`` in lexicographic order."""
    return (d < wd) | ((d == wd) & (i < wi))


@triton.jit
def _worst(td, ti, slots, KP: tl.constexpr):
    """Largest ``(distance, index)`` pair of each row and its slot: (BQ, KP) -> 3 x (BQ,)."""
    wd = tl.max(td, 1)
    wi = tl.max(tl.where(td == wd[:, None], ti, -1), 1)
    wpos = tl.min(tl.where((td == wd[:, None]) & (ti == wi[:, None]), slots[None, :], KP), 1)
    return wd, wi, wpos


@triton.jit
def knn_kernel(q_ptr, r_ptr, q_off_ptr, r_off_ptr, dist_ptr, idx_ptr, M, N, K, NUM_SAMPLES,
               OFFSETS: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_N: tl.constexpr,
               KP: tl.constexpr, FP64: tl.constexpr):
    """The K nearest reference points of ``BLOCK_Q`` queries per program.

    Batched form (``OFFSETS`` false): query (B, M, 3), ref (B, N, 3), grid
    (ceil(M / BLOCK_Q), B); indices are local to the cloud. Offset form:
    query (M, 3), ref (N, 3) concatenated samples with end offsets
    ``q_off``/``r_off`` (``NUM_SAMPLES`` each), grid (ceil(M / BLOCK_Q), 1);
    indices point into the concatenated ref. Outputs: ``dist``/``idx``
    (…, K), ascending by (distance, index); a row whose cloud has ``n < K``
    points repeats its nearest neighbour in slots ``n..K-1``.

    Each row keeps its best ``min(K, n)`` pairs seen so far in ``KP``
    register slots (unsorted, with the worst one tracked); a block of
    reference points only costs its distances unless one of them beats a
    row's worst pair.
    """
    acc = tl.float64 if FP64 else tl.float32
    INF: tl.constexpr = float('inf')
    pid = tl.program_id(0)
    rows = pid * BLOCK_Q + tl.arange(0, BLOCK_Q)
    row_ok = rows < M
    slots = tl.arange(0, KP)
    if OFFSETS:
        # Sample of each row: the number of sample ends at or before it.
        sample = tl.zeros((BLOCK_Q, ), tl.int32)
        for s in range(0, NUM_SAMPLES):
            sample += (tl.load(q_off_ptr + s) <= rows).to(tl.int32)
        sample = tl.minimum(sample, NUM_SAMPLES - 1)
        r_lo = tl.load(r_off_ptr + sample - 1, mask=row_ok & (sample > 0), other=0).to(tl.int32)
        r_hi = tl.load(r_off_ptr + sample, mask=row_ok, other=0).to(tl.int32)
        q_base = q_ptr
        out_row = rows.to(tl.int64) * K
        lo = tl.min(tl.where(row_ok, r_lo, N), 0)
        hi = tl.max(tl.where(row_ok, r_hi, 0), 0)
        ref = r_ptr
    else:
        b = tl.program_id(1).to(tl.int64)
        q_base = q_ptr + b * M * 3
        ref = r_ptr + b * N * 3
        r_lo = tl.zeros((BLOCK_Q, ), tl.int32)
        r_hi = tl.full((BLOCK_Q, ), N, tl.int32)
        out_row = (b * M + rows.to(tl.int64)) * K
        lo = 0
        hi = N
    qx = tl.load(q_base + rows.to(tl.int64) * 3, mask=row_ok, other=0.0).to(acc)
    qy = tl.load(q_base + rows.to(tl.int64) * 3 + 1, mask=row_ok, other=0.0).to(acc)
    qz = tl.load(q_base + rows.to(tl.int64) * 3 + 2, mask=row_ok, other=0.0).to(acc)
    keff = tl.minimum(r_hi - r_lo, K)  # (BLOCK_Q,)
    active = slots[None, :] < keff[:, None]  # (BLOCK_Q, KP)
    # Empty active slots: (+inf, N + slot), worse than any real pair; inactive
    # slots: (-inf, -1), never the worst, so never replaced.
    td = tl.where(active, INF, -INF).to(acc)
    ti = tl.where(active, N + slots[None, :], -1)
    wd, wi, wpos = _worst(td, ti, slots, KP)
    for start in range(lo, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        rx = tl.load(ref + cols.to(tl.int64) * 3, mask=cols < hi, other=0.0).to(acc)
        ry = tl.load(ref + cols.to(tl.int64) * 3 + 1, mask=cols < hi, other=0.0).to(acc)
        rz = tl.load(ref + cols.to(tl.int64) * 3 + 2, mask=cols < hi, other=0.0).to(acc)
        d = _sqdist(qx[:, None], qy[:, None], qz[:, None], rx[None, :], ry[None, :], rz[None, :])
        inside = (cols[None, :] >= r_lo[:, None]) & (cols[None, :] < r_hi[:, None])
        cand = inside & row_ok[:, None] & _lex_less(d, cols[None, :], wd[:, None], wi[:, None])
        num = tl.sum(cand.to(tl.int32))
        # Insert the best candidate of each row until no candidate beats its worst pair:
        # at most min(K, BLOCK_N) rounds, usually none once the rows have filled up.
        while num > 0:
            cd = tl.min(tl.where(cand, d, INF), 1)
            ci = tl.min(tl.where(cand & (d == cd[:, None]), cols[None, :], N + KP), 1)
            has = tl.max(cand.to(tl.int32), 1) > 0
            hit = has[:, None] & (slots[None, :] == wpos[:, None])
            td = tl.where(hit, cd[:, None], td)
            ti = tl.where(hit, ci[:, None], ti)
            wd, wi, wpos = _worst(td, ti, slots, KP)
            cand = cand & (cols[None, :] != ci[:, None])
            cand = cand & _lex_less(d, cols[None, :], wd[:, None], wi[:, None])
            num = tl.sum(cand.to(tl.int32))
    # Write the pairs in ascending order; slots beyond a row's neighbours repeat the first.
    first_d = tl.min(tl.where(active, td, INF), 1)
    first_i = tl.min(tl.where(active & (td == first_d[:, None]), ti, N + KP), 1)
    taken = ~active
    for j in range(0, K):
        md = tl.min(tl.where(taken, INF, td), 1)
        mi = tl.min(tl.where(~taken & (td == md[:, None]), ti, N + KP), 1)
        taken = taken | ((td == md[:, None]) & (ti == mi[:, None]))
        real = j < keff
        tl.store(dist_ptr + out_row + j, tl.where(real, md, first_d), mask=row_ok)
        tl.store(idx_ptr + out_row + j, tl.where(real, mi, first_i).to(tl.int64), mask=row_ok)


@triton.jit
def ball_query_kernel(q_ptr, r_ptr, idx_ptr, M, N, K, r2: tl.float64, BLOCK_Q: tl.constexpr,
                      BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, FP64: tl.constexpr):
    """PointNet++ ball query for ``BLOCK_Q`` queries per program, grid (ceil(M / BLOCK_Q), B).

    query (B, M, 3), ref (B, N, 3), ``idx`` (B, M, K) int64. Slot ``j`` of a
    row holds the ``j``-th reference point (in index order) with squared
    distance ``< r2``; missing slots repeat the first one; an empty ball
    repeats the nearest point (lowest index among ties). The scan stops
    once every row of the block has ``K`` points.
    """
    acc = tl.float64 if FP64 else tl.float32
    INF: tl.constexpr = float('inf')
    radius2 = tl.cast(r2, acc)
    b = tl.program_id(1).to(tl.int64)
    rows = tl.program_id(0) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    row_ok = rows < M
    q_base = q_ptr + b * M * 3
    ref = r_ptr + b * N * 3
    out_row = (b * M + rows.to(tl.int64)) * K
    qx = tl.load(q_base + rows.to(tl.int64) * 3, mask=row_ok, other=0.0).to(acc)
    qy = tl.load(q_base + rows.to(tl.int64) * 3 + 1, mask=row_ok, other=0.0).to(acc)
    qz = tl.load(q_base + rows.to(tl.int64) * 3 + 2, mask=row_ok, other=0.0).to(acc)
    # Rows past M count as full so that they never hold the scan open.
    count = tl.where(row_ok, 0, K)
    first = tl.full((BLOCK_Q, ), -1, tl.int32)
    near_d = tl.full((BLOCK_Q, ), INF, acc)
    near_i = tl.zeros((BLOCK_Q, ), tl.int32)
    start = tl.zeros((), tl.int32)
    while (start < N) & (tl.min(count, 0) < K):
        cols = start + tl.arange(0, BLOCK_N)
        col_ok = cols < N
        rx = tl.load(ref + cols.to(tl.int64) * 3, mask=col_ok, other=0.0).to(acc)
        ry = tl.load(ref + cols.to(tl.int64) * 3 + 1, mask=col_ok, other=0.0).to(acc)
        rz = tl.load(ref + cols.to(tl.int64) * 3 + 2, mask=col_ok, other=0.0).to(acc)
        d = _sqdist(qx[:, None], qy[:, None], qz[:, None], rx[None, :], ry[None, :], rz[None, :])
        d = tl.where(col_ok[None, :], d, INF)
        # The nearest point so far, for empty balls (an earlier block keeps a tie).
        blk_d = tl.min(d, 1)
        blk_i = tl.min(tl.where(d == blk_d[:, None], cols[None, :], N), 1)
        closer = blk_d < near_d
        near_i = tl.where(closer, blk_i, near_i)
        near_d = tl.where(closer, blk_d, near_d)
        inside = col_ok[None, :] & (d < radius2)
        # Slot of each inside point: the row's count so far plus its rank in this block.
        slot = count[:, None] + tl.cumsum(inside.to(tl.int32), 1) - 1
        keep = inside & (slot < K) & row_ok[:, None]
        tl.store(idx_ptr + out_row[:, None] + slot,
                 tl.broadcast_to(cols[None, :].to(tl.int64), (BLOCK_Q, BLOCK_N)), mask=keep)
        blk_first = tl.min(tl.where(inside, cols[None, :], N), 1)
        first = tl.where((first < 0) & (blk_first < N), blk_first, first)
        count += tl.sum(inside.to(tl.int32), 1)
        start += BLOCK_N
    fill = tl.where(first >= 0, first, near_i).to(tl.int64)
    filled = tl.minimum(count, K)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        pad = row_ok[:, None] & (ks[None, :] < K) & (ks[None, :] >= filled[:, None])
        tl.store(idx_ptr + out_row[:, None] + ks[None, :],
                 tl.broadcast_to(fill[:, None], (BLOCK_Q, BLOCK_K)), mask=pad)
