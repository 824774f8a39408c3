"""Plain-torch z-buffer: the nearest fragment per pixel wins (CPU and CUDA).

A fragment (pixel, depth, primitive id) is packed into one int64 key, so a
single ``scatter_reduce(amin)`` on a flat buffer resolves visibility and picks
the winning primitive at once. Ties in depth go to the smaller id, so the
result is the same on every device.

Depth is first mapped into ``[Z_LO, Z_HI]`` (callers do this per view), which
leaves head-room for tiny extrapolation at triangle edges; a depth of 1 marks
a miss. The key is ``int64(float32(depth) * 2**61) | id``: a float32 at or
above 1/64 has 24 significant bits, so the product's low 32 bits are zero
and hold the id (the head-room below Z_LO keeps this true for extrapolated
depths), and float rounding is monotone, so depth order survives.
"""
import torch

__all__ = ['Z_LO', 'Z_HI', 'MISS_DEPTH', 'ID_BITS', 'new_buffer', 'pack_keys',
           'resolve_ids', 'normalize_depth']

Z_LO, Z_HI = 0.25, 0.75
MISS_DEPTH = 1.0
ID_BITS = 32
_KEY_SCALE = float(2**61)
_MISS_KEY = int(_KEY_SCALE)


def normalize_depth(dist: torch.Tensor) -> torch.Tensor:
    """Map distances from the camera into ``[Z_LO, Z_HI]`` per view.

    Args:
        dist: (K, M) distances (smaller = nearer) of M vertices or points.

    Returns:
        (K, M) float32 in [Z_LO, Z_HI], same order.
    """
    dist = dist.float()
    near = dist.amin(dim=1, keepdim=True)
    far = dist.amax(dim=1, keepdim=True)
    return Z_LO + (Z_HI - Z_LO) * (dist - near) / (far - near).clamp_min(1e-12)


def new_buffer(num_pixels: int, device) -> torch.Tensor:
    """(num_pixels,) int64 buffer where every pixel is a miss."""
    return torch.full((num_pixels,), _MISS_KEY, dtype=torch.int64, device=device)


def pack_keys(depth: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Keys of fragments: ``depth`` (...) float in [Z_LO, Z_HI] or MISS_DEPTH,
    ``ids`` (...) int64 in ``[0, 2**ID_BITS)``, broadcastable; returns (...) int64."""
    return (depth.float() * _KEY_SCALE).long() | ids


def resolve_ids(keys: torch.Tensor) -> torch.Tensor:
    """Winning id per pixel, -1 where nothing landed; same shape as ``keys``."""
    return torch.where(keys < _MISS_KEY, keys & ((1 << ID_BITS) - 1), torch.full_like(keys, -1))
