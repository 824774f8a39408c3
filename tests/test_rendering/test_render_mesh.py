import numpy as np
import pytest
import torch
import trimesh

from tap3d.geometry import (
    compute_framing,
    fixed_view_rotations,
    pixel_indices,
    random_view_rotations,
    rotation_matrix,
)
from tap3d.rendering import render_mesh, sample_surface_points
from tap3d.rendering.shading import MESH_ALBEDO, lambert

try:
    import embreex  # noqa: F401
    HAS_EMBREE = True
except ImportError:
    HAS_EMBREE = False


def _random_mesh(kind, seed):
    """A randomly scaled and rotated box or ico-sphere: (V, 3) float32, (F, 3) int64."""
    g = torch.Generator().manual_seed(seed)
    if kind == 'box':
        mesh = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    else:
        mesh = trimesh.creation.icosphere(subdivisions=3)
    scale = 0.3 + torch.rand(3, generator=g)
    turn = random_view_rotations(1, generator=g)[0]
    vertices = (torch.as_tensor(np.asarray(mesh.vertices), dtype=torch.float32) * scale) @ turn.T
    return vertices.numpy(), np.asarray(mesh.faces, dtype=np.int64)


@pytest.mark.parametrize('kind,seed', [('box', 0), ('ico', 1)])
def test_silhouette_matches_projected_surface_samples(kind, seed):
    vertices, faces = _random_mesh(kind, seed)
    framing = sample_surface_points(vertices, faces, 1024, seed=seed)
    rot = random_view_rotations(2, generator=torch.Generator().manual_seed(seed + 10))
    img = render_mesh(vertices, faces, rot, framing)
    assert img.shape == (2, 224, 224, 3) and img.dtype == torch.uint8
    rendered = (img < 255).any(dim=-1)

    dense = torch.from_numpy(sample_surface_points(vertices, faces, 100_000, seed=seed + 1))
    s, b = compute_framing(torch.from_numpy(framing)[None], rot[None])
    pix = pixel_indices(dense[None], rot[None], s, b)[0]  # (2, N, 2)
    projected = torch.zeros(2, 224, 224, dtype=torch.bool)
    for v in range(2):
        inside = ((pix[v] >= 0) & (pix[v] < 224)).all(dim=-1)
        projected[v, pix[v, inside, 0], pix[v, inside, 1]] = True
    iou = (rendered & projected).sum((1, 2)).float() / (rendered | projected).sum((1, 2)).float()
    assert iou.min() >= 0.9, iou


def test_background_is_pure_white_and_foreground_is_not():
    vertices, faces = _random_mesh('ico', 2)
    img = render_mesh(vertices, faces, fixed_view_rotations(3), vertices)
    fg = (img < 255).any(dim=-1)
    assert fg.any() and (~fg).any()
    assert torch.all(img[~fg] == 255)
    assert img[fg].max() <= 254
    # grey: the three channels agree
    assert torch.equal(img[..., 0], img[..., 1]) and torch.equal(img[..., 0], img[..., 2])
    # the object is framed inside the centred 200 x 200 box (plus a sliver of
    # surface beyond the framing vertices, none here)
    rows = fg.any(dim=2)
    assert not rows[:, :12].any() and not rows[:, 212:].any()


def test_faces_at_different_angles_differ_in_brightness():
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    # view 1 (azimuth 30 degrees, 30 degrees above) sees the +x, +y and top faces
    img = render_mesh(np.asarray(box.vertices), np.asarray(box.faces), fixed_view_rotations()[1:2],
                      None)
    levels = torch.unique(img[0][(img[0] < 255).any(-1)][:, 0])
    # each face has its own shade
    assert len(levels) == 3, levels


def _quad(z, half, tilt=0.0):
    """Two triangles of a square centred on the z axis at height z, tilted about x."""
    c, s = np.cos(tilt), np.sin(tilt)
    corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    v = np.stack([corners[:, 0], corners[:, 1] * c, z + corners[:, 1] * s], axis=1)
    return v.astype(np.float32), np.array([[0, 1, 2], [0, 2, 3]])


@pytest.mark.parametrize('near_first', [True, False])
def test_nearer_face_occludes_farther_one(near_first):
    # identity pose: the camera looks along -z, so larger z is nearer
    near_v, near_f = _quad(z=1.0, half=0.5, tilt=-0.6)
    far_v, far_f = _quad(z=0.0, half=1.0)
    parts = [(near_v, near_f), (far_v, far_f)]
    if not near_first:
        parts = parts[::-1]
    vertices = np.concatenate([parts[0][0], parts[1][0]])
    faces = np.concatenate([parts[0][1], parts[1][1] + len(parts[0][0])])
    rot = torch.eye(3)[None]
    img = render_mesh(vertices, faces, rot, vertices)[0, ..., 0].long()

    def shade(v):
        n = torch.from_numpy(np.cross(v[1] - v[0], v[2] - v[0]))[None]
        return int(round(MESH_ALBEDO * float(lambert(n)) * 255))

    near_level, far_level = shade(near_v), shade(far_v)
    assert near_level != far_level
    assert int(img[112, 112]) == near_level  # the centre shows the near quad
    assert int(img[20, 20]) == far_level  # a corner shows only the far quad
    near_pixels = (img == near_level).sum()
    assert near_pixels > 0.15 * (img < 255).sum()


def test_tensor_and_numpy_inputs_and_small_chunks_agree(monkeypatch):
    import tap3d.rendering.mesh as mesh_module
    vertices, faces = _random_mesh('ico', 3)
    rot = fixed_view_rotations(3)
    ref = render_mesh(vertices, faces, rot, vertices, img_size=96, obj_size=80)
    # one view per set-up chunk, and small rasteriser chunks
    monkeypatch.setattr(mesh_module, '_MAX_PAIRS', len(faces))
    out = render_mesh(torch.from_numpy(vertices), torch.from_numpy(faces), rot,
                      torch.from_numpy(vertices), img_size=96, obj_size=80, max_fragments=4000)
    assert torch.equal(ref, out)


def test_bad_inputs_raise_clear_errors():
    vertices, faces = _random_mesh('box', 4)
    rot = fixed_view_rotations(1)
    with pytest.raises(ValueError, match='face indices'):
        render_mesh(vertices, faces + 100, rot, None)
    with pytest.raises(ValueError, match=r'rotations must be \(K, 3, 3\)'):
        render_mesh(vertices, faces, rot[0], None)
    with pytest.raises(ValueError, match='vertices must be'):
        render_mesh(vertices[:, :2], faces, rot, None)


@pytest.mark.skipif(not HAS_EMBREE, reason='needs embreex for the ray-casting reference')
def test_matches_embree_ray_casting():
    vertices, faces = _random_mesh('ico', 5)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    from trimesh.ray.ray_pyembree import RayMeshIntersector
    rot = rotation_matrix(torch.tensor([0.3, 2.0]), torch.tensor([-1.0, 0.4]))
    img = render_mesh(vertices, faces, rot, vertices, img_size=96, obj_size=80)
    s, b = compute_framing(torch.from_numpy(vertices)[None].double(), rot[None].double(), 96, 80)
    centres = np.arange(96) + 0.5
    u = np.stack(np.meshgrid(centres, centres, indexing='ij'), -1).reshape(-1, 2)
    intersector = RayMeshIntersector(mesh)
    for v in range(2):
        r = rot[v].double().numpy()
        q = s[0, v].item() * u + b[0, v].numpy()
        origins = np.concatenate([q, np.full((len(q), 1), 10.0)], axis=1) @ r
        tri = intersector.intersects_first(origins, np.broadcast_to(-r[2], origins.shape))
        hit = torch.from_numpy(tri >= 0).view(96, 96)
        same = (hit == (img[v] < 255).any(-1)).float().mean()
        assert same >= 0.995, same


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_render_matches_cpu():
    vertices, faces = _random_mesh('ico', 6)
    rot = fixed_view_rotations(4)
    cpu = render_mesh(vertices, faces, rot, vertices)
    gpu = render_mesh(torch.from_numpy(vertices).cuda(), torch.from_numpy(faces).cuda(), rot.cuda(),
                      torch.from_numpy(vertices).cuda())
    assert gpu.device.type == 'cuda'
    assert (gpu.cpu() != cpu).any(-1).float().mean() < 1e-3


def test_back_face_culling_is_exact_for_closed_meshes():
    from tap3d.rendering.mesh import closed_mesh_orientation
    vertices, faces = _random_mesh('ico', 7)
    v, f = torch.from_numpy(vertices), torch.from_numpy(faces)
    assert closed_mesh_orientation(v, f) == 1
    assert closed_mesh_orientation(v, f[:, [0, 2, 1]]) == -1  # inward winding
    assert closed_mesh_orientation(v, f[:-1]) == 0  # a hole
    rot = random_view_rotations(3, generator=torch.Generator().manual_seed(8))
    culled = render_mesh(vertices, faces, rot, vertices)  # auto: culls
    full = render_mesh(vertices, faces, rot, vertices, cull_backfaces=False)
    flipped = render_mesh(vertices, faces[:, [0, 2, 1]], rot, vertices)
    assert torch.equal(culled, full)
    # reversed winding only changes float rounding where two faces meet
    diff = (flipped != full).any(-1).float().mean()
    assert diff < 2e-3, diff
