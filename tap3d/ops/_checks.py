"""Input checks shared by the point ops: one clear error per misuse."""
from typing import Optional

import torch
from torch import Tensor


def check_points(name: str, arg: str, x: Tensor, batch: Optional[int] = None) -> None:
    """Raise ``ValueError`` unless ``x`` is a floating ``(B, N, 3)`` tensor.

    Args:
        name: the op's name, quoted in the message.
        arg: the argument's name, quoted in the message.
        x: the tensor to check, expected ``(B, N, 3)``.
        batch: the batch size ``B`` it must have, if already known.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f'{name}: `{arg}` must be a torch.Tensor, got {type(x).__name__}')
    if x.dim() != 3 or x.shape[-1] != 3:
        raise ValueError(f'{name}: `{arg}` must have shape (B, N, 3), got {tuple(x.shape)}')
    if not x.is_floating_point():
        raise ValueError(f'{name}: `{arg}` must be a floating tensor, got {x.dtype}')
    if batch is not None and x.shape[0] != batch:
        raise ValueError(
            f'{name}: `{arg}` has batch size {x.shape[0]}, expected {batch}')


def check_offset(name: str, arg: str, offset: Tensor, total: Optional[int] = None) -> None:
    """Raise ``ValueError`` unless ``offset`` is a valid ``(B,)`` end-index vector.

    ``offset[i]`` is the end index of sample ``i`` in the concatenated points
    (Pointcept's convention), so it must be non-decreasing, non-negative and,
    when ``total`` is given, end at ``total``.
    """
    if not isinstance(offset, Tensor):
        raise TypeError(f'{name}: `{arg}` must be a torch.Tensor, got {type(offset).__name__}')
    if offset.dim() != 1 or offset.numel() == 0:
        raise ValueError(f'{name}: `{arg}` must have shape (B,) with B >= 1, '
                         f'got {tuple(offset.shape)}')
    if offset.is_floating_point() or offset.dtype == torch.bool:
        raise ValueError(f'{name}: `{arg}` must be an integer tensor, got {offset.dtype}')
    # One host sync: offsets are tiny and validating them catches silent misuse.
    values = offset.tolist()
    prev = 0
    for i, v in enumerate(values):
        if v < prev:
            raise ValueError(
                f'{name}: `{arg}` must be non-decreasing end indices starting >= 0, '
                f'got {values} (entry {i})')
        prev = v
    if total is not None and values[-1] != total:
        raise ValueError(
            f'{name}: `{arg}` ends at {values[-1]} but there are {total} points')


def working_dtype(x: Tensor) -> torch.dtype:
    """float64 stays float64; every other float type is computed in float32."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32
