"""Ground-truth views of meshes (docs/tap.md §12): loading, sampling and rendering.

Camera convention (shared with :mod:`tap3d.geometry`): ``p_cam = R p``, the
image plane is (x_cam, y_cam) with the row following x_cam and the column
following y_cam, and the camera looks along -z_cam, so the visible surface
is the one with the LARGEST z_cam. The optical direction ``D = R^T e_z`` of
the query generator therefore points from the object towards the camera.
Framing is exactly :func:`tap3d.geometry.compute_framing` of the points the
model sees, so a pixel shows the surface on the optical line of its centre.
"""
import os
from typing import Optional, Tuple, Union

import numpy as np
import torch

from tap3d.geometry import compute_framing

from .rasterize import rasterize_soa
from .shading import BACKGROUND, MESH_ALBEDO, foreground_uint8, lambert_faces
from .zbuffer import normalize_depth

__all__ = ['render_mesh', 'load_mesh', 'sample_surface_points', 'closed_mesh_orientation']

Array = Union[np.ndarray, torch.Tensor]

# (view, face) pairs set up at once; about 250 bytes each at the peak.
_MAX_PAIRS = 1 << 21


def _import_trimesh():
    try:
        import trimesh
    except ImportError as err:  # pragma: no cover - trimesh is a core requirement
        raise ImportError('loading and sampling meshes needs the package "trimesh" '
                          '(pip install trimesh)') from err
    return trimesh


def _to_tensor(x: Array, device=None, dtype=None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(device=device if device is not None else x.device, dtype=dtype or x.dtype)
    return torch.as_tensor(np.asarray(x), device=device, dtype=dtype)


def load_mesh(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh (.obj, .off, .ply, or anything trimesh reads).

    Scenes with several parts are merged into one mesh.

    Args:
        path: mesh file.

    Returns:
        vertices: (V, 3) float32; faces: (F, 3) int64.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file cannot be parsed or holds no triangles.
    """
    trimesh = _import_trimesh()
    if not os.path.isfile(path):
        raise FileNotFoundError(f'mesh file not found: {path}')
    try:
        mesh = trimesh.load(path, force='mesh', process=False)
    except Exception as err:
        raise ValueError(f'cannot read mesh file {path}: {err}') from err
    vertices = np.asarray(getattr(mesh, 'vertices', np.zeros((0, 3))), dtype=np.float32)
    faces = np.asarray(getattr(mesh, 'faces', np.zeros((0, 3))), dtype=np.int64)
    if faces.ndim != 2 or len(faces) == 0 or len(vertices) == 0:
        raise ValueError(f'mesh file {path} holds no triangles')
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise ValueError(f'mesh file {path} has face indices outside its {len(vertices)} vertices')
    if not np.isfinite(vertices).all():
        raise ValueError(f'mesh file {path} has non-finite vertex coordinates')
    return vertices, faces


def sample_surface_points(vertices: Array, faces: Array, n: int, seed: Optional[int] = None):
    """Area-weighted uniform samples of a mesh surface (via ``trimesh.sample``).

    Args:
        vertices: (V, 3), faces: (F, 3) numpy arrays or tensors.
        n: number of points.
        seed: random seed; the same seed gives the same points.

    Returns:
        (n, 3) float32, a numpy array (or a CPU tensor if ``vertices`` is a tensor).
    """
    trimesh = _import_trimesh()
    as_tensor = isinstance(vertices, torch.Tensor)
    v = vertices.detach().cpu().numpy() if as_tensor else np.asarray(vertices)
    f = faces.detach().cpu().numpy() if isinstance(faces, torch.Tensor) else np.asarray(faces)
    if len(f) == 0:
        raise ValueError('sample_surface_points: the mesh has no faces')
    mesh = trimesh.Trimesh(vertices=v.astype(np.float64), faces=f.astype(np.int64), process=False)
    if not mesh.area > 0:
        raise ValueError('sample_surface_points: the mesh has zero surface area')
    points, _ = trimesh.sample.sample_surface(mesh, int(n), seed=seed)
    points = points.astype(np.float32)
    return torch.from_numpy(points) if as_tensor else points


def closed_mesh_orientation(vertices: torch.Tensor, faces: torch.Tensor) -> int:
    """Whether back faces can be culled, and which way the faces point.

    A mesh is closed and consistently wound when every directed edge occurs
    once and its reverse occurs once too. Then, seen from outside, a face
    turned away from the camera is always hidden behind a front face.

    Args:
        vertices: (V, 3) float, faces: (F, 3) int64.

    Returns:
        +1 if closed with outward normals ``(v1 - v0) x (v2 - v0)``, -1 if
        closed with inward normals, 0 if not closed (or of zero volume).
    """
    if len(faces) < 4:
        return 0
    nv = len(vertices)
    start = faces.reshape(-1)
    end = faces[:, [1, 2, 0]].reshape(-1)
    edges, _ = torch.sort(start * nv + end)
    reverse, _ = torch.sort(end * nv + start)
    if not torch.equal(edges, reverse) or bool((edges[1:] == edges[:-1]).any()):
        return 0
    v = vertices.double()[faces]
    volume = float(torch.linalg.det(v).sum()) / 6
    size = float((vertices.amax(0) - vertices.amin(0)).max())
    if abs(volume) <= 1e-9 * size**3:
        return 0
    return 1 if volume > 0 else -1


def render_mesh(vertices: Array,
                faces: Array,
                rotations: Array,
                framing_points: Optional[Array],
                img_size: int = 224,
                obj_size: int = 200,
                albedo: float = MESH_ALBEDO,
                cull_backfaces: Optional[bool] = None,
                max_fragments: int = 1 << 21) -> torch.Tensor:
    """Render shaded grey views of a mesh on a white background.

    Orthographic, z-buffered, flat Lambertian + ambient shading with a fixed
    light in camera space (see :mod:`tap3d.rendering.shading`).

    Args:
        vertices: (V, 3) float, faces: (F, 3) int (numpy or torch).
        rotations: (K, 3, 3) world-to-camera rotations, e.g.
            :func:`tap3d.geometry.fixed_view_rotations`. The render runs on
            their device when they are a tensor, else on ``vertices``' device.
        framing_points: (N, 3) the points the model will see for this shape
            (e.g. its 1024 sampled points); the frame is
            ``compute_framing(framing_points, rotations, img_size, obj_size)``.
            ``None`` frames the mesh's own vertices.
        img_size, obj_size: image side and object box side in pixels.
        albedo: grey level of a lit surface, in (0, 1].
        cull_backfaces: skip faces turned away from the camera. ``None``
            (default) culls only when the mesh is closed and consistently
            wound (:func:`closed_mesh_orientation`), where the image is
            unchanged and about half the work is saved; ``False`` never culls.
        max_fragments: chunk size of the rasteriser (peak memory bound).

    Returns:
        (K, img_size, img_size, 3) uint8 images on the render device;
        background exactly 255, object pixels at most 254.
    """
    device = rotations.device if isinstance(rotations, torch.Tensor) else (
        vertices.device if isinstance(vertices, torch.Tensor) else None)
    rot = _to_tensor(rotations, device=device, dtype=torch.float32)
    verts = _to_tensor(vertices, device=rot.device, dtype=torch.float32)
    tris = _to_tensor(faces, device=rot.device, dtype=torch.int64)
    if rot.dim() != 3 or rot.shape[-2:] != (3, 3):
        raise ValueError(f'render_mesh: rotations must be (K, 3, 3), got {tuple(rot.shape)}')
    if verts.dim() != 2 or verts.shape[1] != 3 or len(verts) == 0:
        raise ValueError('render_mesh: vertices must be (V, 3) with V > 0, '
                         f'got {tuple(verts.shape)}')
    if tris.dim() != 2 or tris.shape[1] != 3:
        raise ValueError(f'render_mesh: faces must be (F, 3), got {tuple(tris.shape)}')
    if len(tris) and (int(tris.min()) < 0 or int(tris.max()) >= len(verts)):
        raise ValueError('render_mesh: face indices outside the vertex array')
    frame_pts = verts if framing_points is None else _to_tensor(
        framing_points, device=rot.device, dtype=torch.float32)
    k, nv, nf = rot.shape[0], len(verts), len(tris)
    s, b = compute_framing(frame_pts[None], rot[None], img_size, obj_size)
    s, b = s[0], b[0]  # (K,), (K, 2)

    tri_v = verts[tris]  # (F, 3, 3)
    normals = torch.linalg.cross(tri_v[:, 1] - tri_v[:, 0], tri_v[:, 2] - tri_v[:, 0])  # (F, 3)
    orientation = 0
    if cull_backfaces is None:
        orientation = closed_mesh_orientation(verts, tris) if nf else 0
    elif cull_backfaces:
        orientation = 1

    cam = torch.einsum('kdc,vc->dkv', rot, verts)  # (3, K, V)
    u = (cam[:2] - b.T[:, :, None]) / s[None, :, None]  # (2, K, V) pixel (row, col)
    # distance from the camera, which looks along -z_cam
    dist = normalize_depth(-cam[2])
    per_vertex = torch.cat([u, dist[None]])  # (3, K, V)

    # views in chunks of about _MAX_PAIRS (view, face) pairs bound the memory
    # of the per-triangle set-up for large meshes
    chunk = max(1, _MAX_PAIRS // max(nf, 1))
    face_ids = []
    for v0 in range(0, k, chunk):
        kc = min(chunk, k - v0)
        if orientation:
            # > 0 when the outward normal faces the camera
            facing = normals @ rot[v0:v0 + kc, 2].T * orientation  # (F, Kc)
            face, view = (facing > 0).nonzero().unbind(1)
        else:
            pair = torch.arange(kc * nf, device=rot.device)
            view = torch.div(pair, max(nf, 1), rounding_mode='floor')
            face = pair - view * nf
        vals = per_vertex[:, v0:v0 + kc].reshape(3, kc * nv)
        corner = view * nv + tris[face].T  # (3 corners, T) columns of vals
        values = vals[:, corner]  # (3 quantities, 3 corners, T)
        soa = torch.cat([values[:2].transpose(0, 1).reshape(6, -1), values[2]])
        face_ids.append(rasterize_soa(soa, view, face, kc, img_size, img_size, max_fragments))
    face_ids = torch.cat(face_ids)

    hit = face_ids >= 0
    # shade each (view, face) once, then look the grey levels up per pixel
    face_grey = torch.zeros(k, max(nf, 1), dtype=torch.uint8, device=rot.device)
    if nf:
        face_grey = foreground_uint8(albedo * lambert_faces(normals, rot))
    grey = torch.gather(face_grey, 1, face_ids.clamp_min(0).view(k, -1)).view(face_ids.shape)
    grey = torch.where(hit, grey, BACKGROUND)
    # one grey channel repeated: the render is RGB like MVCNN's
    return grey.unsqueeze(-1).expand(-1, -1, -1, 3).contiguous()
