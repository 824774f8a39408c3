import numpy as np
import pytest
import torch
import trimesh

from tap3d.rendering import load_mesh, sample_surface_points


@pytest.mark.parametrize('ext', ['obj', 'off', 'ply'])
def test_load_mesh_reads_common_formats(tmp_path, ext):
    box = trimesh.creation.box(extents=(2.0, 1.0, 0.5))
    path = tmp_path / f'box.{ext}'
    box.export(str(path))
    vertices, faces = load_mesh(str(path))
    assert vertices.dtype == np.float32 and faces.dtype == np.int64
    assert faces.shape == (12, 3)
    np.testing.assert_allclose(vertices.min(0), [-1.0, -0.5, -0.25], atol=1e-6)
    np.testing.assert_allclose(vertices.max(0), [1.0, 0.5, 0.25], atol=1e-6)


def test_load_mesh_errors_name_the_file(tmp_path):
    missing = tmp_path / 'nope.obj'
    with pytest.raises(FileNotFoundError, match='nope.obj'):
        load_mesh(str(missing))
    corrupt = tmp_path / 'corrupt.off'
    corrupt.write_text('OFF\n3 1 0\n0 0 0\n1 0 nonsense\n')
    with pytest.raises(ValueError, match='corrupt.off'):
        load_mesh(str(corrupt))
    empty = tmp_path / 'empty.obj'
    empty.write_text('# nothing here\n')
    with pytest.raises(ValueError, match='empty.obj'):
        load_mesh(str(empty))


def test_sample_surface_points_is_area_weighted_and_seeded():
    # a 4 x 1 rectangle (two triangles) next to a 1 x 1 square far away
    v = np.array([[0, 0, 0], [4, 0, 0], [4, 1, 0], [0, 1, 0],
                  [10, 0, 0], [11, 0, 0], [11, 1, 0], [10, 1, 0]], dtype=np.float32)
    f = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    a = sample_surface_points(v, f, 5000, seed=7)
    b = sample_surface_points(v, f, 5000, seed=7)
    assert a.shape == (5000, 3) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample_surface_points(v, f, 5000, seed=8))
    # 4/5 of the area is in the rectangle
    share = (a[:, 0] <= 4).mean()
    assert abs(share - 0.8) < 0.03
    assert np.all(a[:, 2] == 0)
    t = sample_surface_points(torch.from_numpy(v), torch.from_numpy(f), 10, seed=0)
    assert isinstance(t, torch.Tensor) and t.shape == (10, 3)
