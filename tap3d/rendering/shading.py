"""Lighting shared by the mesh and point renderers.

A fixed directional light in camera space, over the viewer's left shoulder
(up-left in the image, towards the camera), with Lambertian diffuse plus
ambient terms. Lighting is two-sided (``|n . l|``) because meshes in the wild
have inconsistent face orientation. Grey albedo and these weights give
renders in the style of MVCNN's: brightness varies with the face angle, the
background stays pure white and the object never reaches it.
"""
import torch

__all__ = ['LIGHT_DIR_CAM', 'AMBIENT', 'DIFFUSE', 'MESH_ALBEDO', 'BACKGROUND', 'MAX_FOREGROUND',
           'lambert', 'lambert_faces', 'to_uint8', 'foreground_uint8']

#: Light direction in camera coordinates (x_cam = image down, y_cam = image
#: right, z_cam = towards the camera); normalised in :func:`lambert`.
LIGHT_DIR_CAM = (-0.4, -0.3, 1.0)
AMBIENT = 0.25
DIFFUSE = 0.75
#: Grey level of a mesh surface facing the light (before ambient/diffuse).
MESH_ALBEDO = 0.9
#: Background value, pure white.
BACKGROUND = 255
#: Foreground pixels are capped here so that "not pure white" marks them.
MAX_FOREGROUND = 254


def lambert(normals_cam: torch.Tensor) -> torch.Tensor:
    """Light intensity ``AMBIENT + DIFFUSE * |n . l|`` in [AMBIENT, 1].

    Args:
        normals_cam: (..., 3) normals in camera coordinates (any length > 0;
            zero vectors get ambient light only).

    Returns:
        (...) intensities.
    """
    light = torch.tensor(LIGHT_DIR_CAM, dtype=normals_cam.dtype, device=normals_cam.device)
    light = light / light.norm()
    n = torch.nn.functional.normalize(normals_cam, dim=-1)
    return AMBIENT + DIFFUSE * (n @ light).abs()


def lambert_faces(normals: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """:func:`lambert` of world-space normals seen from several views.

    Rotations preserve the dot product, so the light is turned into world
    space once per view instead of turning every normal into every view.

    Args:
        normals: (F, 3) world-space normals (any length > 0).
        rotations: (K, 3, 3) world-to-camera rotations.

    Returns:
        (K, F) intensities.
    """
    light = torch.tensor(LIGHT_DIR_CAM, dtype=normals.dtype, device=normals.device)
    light_world = (light / light.norm()) @ rotations.to(normals.dtype)  # (K, 3) = R^T l
    n = torch.nn.functional.normalize(normals, dim=-1)
    return AMBIENT + DIFFUSE * (light_world @ n.T).abs()


def to_uint8(rgb01: torch.Tensor, hit: torch.Tensor) -> torch.Tensor:
    """Compose foreground colours over a white background.

    Args:
        rgb01: (..., C) float colours in [0, 1] (ignored where not hit).
        hit: (...) bool foreground mask.

    Returns:
        (..., C) uint8; background exactly 255, foreground at most 254.
    """
    fg = foreground_uint8(rgb01)
    return torch.where(hit.unsqueeze(-1), fg, torch.full_like(fg, BACKGROUND))


def foreground_uint8(values01: torch.Tensor) -> torch.Tensor:
    """(...) float in [0, 1] -> (...) uint8 in [0, MAX_FOREGROUND]."""
    return (values01.clamp(0, 1) * 255).round().clamp(max=MAX_FOREGROUND).to(torch.uint8)
