"""Conversions between the offset (Pointcept) form and padded batches."""
import torch


def offset_to_lengths(offset):
    """Offsets (B,) with ``offset[i]`` = end index of sample i -> lengths (B,)."""
    offset = offset.long()
    return torch.diff(offset, prepend=offset.new_zeros(1))


def offset_to_padded(offset, *tensors, pad_value=0.0):
    """Scatter offset-form tensors into a zero-padded batch.

    Args:
        offset (Tensor): (B,) cumulative end indices.
        *tensors (Tensor): each (ΣM, C_i), rows of all samples concatenated.
        pad_value (float): value written into padded rows.

    Returns:
        tuple: the padded tensors, each (B, M_max, C_i), followed by the mask
        (B, M_max) bool, True = valid row.
    """
    lengths = offset_to_lengths(offset)
    if (lengths < 0).any():
        raise ValueError(f'offset must be non-decreasing, got {offset.tolist()}')
    B = lengths.numel()
    total = int(offset[-1]) if B else 0
    for t in tensors:
        if t.shape[0] != total:
            raise ValueError(
                f'offset ends at {total} but a tensor has {t.shape[0]} rows')
    m_max = int(lengths.max()) if B else 0
    device = offset.device
    batch_idx = torch.repeat_interleave(torch.arange(B, device=device), lengths)
    starts = offset.long() - lengths
    pos = torch.arange(total, device=device) - starts[batch_idx]
    mask = torch.zeros(B, m_max, dtype=torch.bool, device=device)
    mask[batch_idx, pos] = True
    out = []
    for t in tensors:
        padded = t.new_full((B, m_max) + tuple(t.shape[1:]), pad_value)
        padded[batch_idx, pos] = t
        out.append(padded)
    return (*out, mask)


def padded_to_offset(mask, *tensors):
    """Inverse of :func:`offset_to_padded`.

    Args:
        mask (Tensor): (B, M) bool, True = valid row.
        *tensors (Tensor): each (B, M, C_i).

    Returns:
        tuple: the tensors in offset form (ΣM, C_i), then offset (B,) long.
    """
    offset = mask.long().sum(1).cumsum(0)
    return (*[t[mask] for t in tensors], offset)
