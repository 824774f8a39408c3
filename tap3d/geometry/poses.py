"""Camera poses of TAP: the 12 fixed "photographer" positions and random ones.

A pose is a rotation ``R`` (3, 3) that maps world coordinates to camera
coordinates, ``p_cam = R @ p`` (for row-vector batches ``P_cam = P @ R.T``).
The image plane is (x_cam, y_cam) and the projection is orthographic along
z_cam. The camera sits on the +z_cam side of the object and looks along
-z_cam, so a larger z_cam is nearer to the camera. The third row of ``R``
(``R.T @ e_z``) is the unit world vector pointing from the object towards
the camera.

In general that vector is ``D = (-sin(phi) cos(theta), -sin(phi) sin(theta),
cos(phi))``: ``phi`` is measured from the zenith, so every pose looks from the
upper hemisphere (``phi = 0`` from straight above). For the 12 fixed views
(``phi = -pi/3``) it is ``(cos(theta) sqrt(3)/2, sin(theta) sqrt(3)/2, 1/2)``:
a camera 30 degrees above the horizon looking down at a z-up object, as in
the MVCNN renders.
"""
import math
from typing import Optional, Union

import torch

__all__ = [
    'rodrigues', 'rotation_matrix', 'fixed_view_rotations', 'fixed_view_angles',
    'random_view_rotations', 'FIXED_VIEW_ELEVATION'
]

#: Elevation of the 12 fixed views, ``(-1/2 + 1/6) * pi`` in the reference code.
FIXED_VIEW_ELEVATION = -math.pi / 3

Number = Union[float, int, torch.Tensor]


def _as_float_tensor(value: Number, device=None, dtype=None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            value = value.to(dtype or torch.get_default_dtype())
        return value.to(device=device) if device is not None else value
    return torch.as_tensor(value, dtype=dtype or torch.get_default_dtype(), device=device)


def rodrigues(angle: Number, axis: torch.Tensor) -> torch.Tensor:
    """Rotation by ``angle`` about ``axis`` (Rodrigues' formula).

    ``Rot(a, k) = cos a * I + (1 - cos a) * k k^T + sin a * [k]_x``.

    Args:
        angle: (...) angles in radians (a float or a tensor).
        axis: (..., 3) rotation axes; they are normalised to unit length.
            ``angle`` and ``axis[..., 0]`` broadcast against each other.

    Returns:
        (..., 3, 3) rotation matrices, on ``axis``' device.
    """
    axis = _as_float_tensor(axis)
    if axis.shape[-1] != 3:
        raise ValueError('rodrigues: axis must have a last dimension of 3, '
                         f'got {tuple(axis.shape)}')
    angle = _as_float_tensor(angle, device=axis.device, dtype=axis.dtype)
    norm = axis.norm(dim=-1, keepdim=True)
    if bool((norm == 0).any()):
        raise ValueError('rodrigues: the rotation axis must be non-zero')
    k = axis / norm
    angle, k = torch.broadcast_tensors(angle.unsqueeze(-1), k)
    angle = angle[..., 0]
    cos = torch.cos(angle)[..., None, None]
    sin = torch.sin(angle)[..., None, None]
    kx, ky, kz = k.unbind(-1)
    zero = torch.zeros_like(kx)
    # [k]_x, the cross-product matrix: [k]_x v = k x v
    cross = torch.stack([
        torch.stack([zero, -kz, ky], dim=-1),
        torch.stack([kz, zero, -kx], dim=-1),
        torch.stack([-ky, kx, zero], dim=-1),
    ], dim=-2)
    eye = torch.eye(3, dtype=k.dtype, device=k.device)
    outer = k.unsqueeze(-1) * k.unsqueeze(-2)
    return cos * eye + (1 - cos) * outer + sin * cross


def rotation_matrix(theta: Number, phi: Number) -> torch.Tensor:
    """World-to-camera rotation for azimuth ``theta`` and elevation ``phi``.

    ``R = Rot(-theta, a1) @ Rot(-phi, a2)`` with ``a1 = (0, 0, 1)`` and
    ``a2 = (sin theta, -cos theta, 0)`` (docs/tap.md §2).

    Args:
        theta: (...) azimuths in radians.
        phi: (...) elevations in radians, broadcastable with ``theta``.

    Returns:
        (..., 3, 3) rotations with ``p_cam = R @ p``.
    """
    theta = _as_float_tensor(theta)
    phi = _as_float_tensor(phi, device=theta.device, dtype=theta.dtype)
    theta, phi = torch.broadcast_tensors(theta, phi)
    a1 = torch.zeros(theta.shape + (3,), dtype=theta.dtype, device=theta.device)
    a1[..., 2] = 1
    a2 = torch.stack([torch.sin(theta), -torch.cos(theta), torch.zeros_like(theta)], dim=-1)
    return rodrigues(-theta, a1) @ rodrigues(-phi, a2)


def fixed_view_angles(num_views: int = 12, device=None, dtype=None):
    """Azimuths and elevations of the fixed views.

    Returns:
        theta (num_views,) = ``2 pi k / num_views`` and phi (num_views,) = ``-pi/3``.
        View k pairs with image file index ``k + 1`` (``_001`` ... ``_012``).
    """
    if num_views < 1:
        raise ValueError(f'fixed_view_angles: num_views must be >= 1, got {num_views}')
    dtype = dtype or torch.get_default_dtype()
    k = torch.arange(num_views, device=device, dtype=torch.float64)
    theta = (2 * math.pi * k / num_views).to(dtype)
    phi = torch.full_like(theta, FIXED_VIEW_ELEVATION)
    return theta, phi


def fixed_view_rotations(num_views: int = 12, device=None, dtype=None) -> torch.Tensor:
    """The fixed camera poses of TAP.

    Returns:
        (num_views, 3, 3) rotations ``R(2 pi k / num_views, -pi/3)``.
    """
    theta, phi = fixed_view_angles(num_views, device=device, dtype=torch.float64)
    # built in float64 so that every dtype gets correctly rounded values
    return rotation_matrix(theta, phi).to(dtype or torch.get_default_dtype())


def random_view_rotations(n: int,
                          generator: Optional[torch.Generator] = None,
                          device=None,
                          dtype=None) -> torch.Tensor:
    """Random camera poses: ``theta ~ U[0, 2 pi)``, ``phi ~ U[-pi/2, pi/2)``.

    Args:
        n: number of poses.
        generator: optional ``torch.Generator`` for reproducibility (it must
            live on ``device``).
        device: where the result lives.

    Returns:
        (n, 3, 3) rotations.
    """
    dtype = dtype or torch.get_default_dtype()
    u = torch.rand(n, 2, generator=generator, device=device, dtype=dtype)
    theta = 2 * math.pi * u[:, 0]
    phi = math.pi * (u[:, 1] - 0.5)
    return rotation_matrix(theta, phi)
