import os

import numpy as np
import pytest

from tap3d.datasets.io import (
    DataFileError,
    atomic_path,
    check_points,
    read_h5,
    read_image,
    read_ply_points,
    write_h5,
    write_image,
    write_ply_points,
    write_txt_array,
)


@pytest.mark.parametrize('binary', [True, False])
def test_ply_round_trip(tmp_path, binary):
    pts = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    path = str(tmp_path / 'a.ply')
    write_ply_points(path, pts, binary=binary)
    back = read_ply_points(path)
    assert back.dtype == np.float32 and back.shape == (100, 3)
    np.testing.assert_allclose(back, pts, atol=0 if binary else 1e-6)
    assert os.listdir(tmp_path) == ["a.ply"]  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # not the private temp-file mode


def test_ply_with_extra_properties_and_faces(tmp_path):
    # double coordinates, an extra property, and a face element after the vertices
    header = ('ply\nformat binary_little_endian 1.0\ncomment made elsewhere\n'
              'element vertex 2\nproperty double x\nproperty double y\nproperty double z\n'
              'property uchar red\nelement face 1\nproperty list uchar int vertex_indices\n'
              'end_header\n')
    rows = np.array([(1.0, 2.0, 3.0, 7), (4.0, 5.0, 6.0, 8)],
                    dtype=[('x', '<f8'), ('y', '<f8'), ('z', '<f8'), ('r', 'u1')])
    path = tmp_path / 'b.ply'
    face = b'\x03' + np.arange(3, dtype='<i4').tobytes()
    path.write_bytes(header.encode() + rows.tobytes() + face)
    np.testing.assert_array_equal(read_ply_points(str(path)), [[1, 2, 3], [4, 5, 6]])


def test_truncated_and_corrupt_ply_name_the_file(tmp_path):
    path = str(tmp_path / 'cut.ply')
    write_ply_points(path, np.ones((50, 3)))
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:-30])
    with pytest.raises(DataFileError, match='cut.ply.*truncated'):
        read_ply_points(path)
    ascii_path = str(tmp_path / 'cut_ascii.ply')
    write_ply_points(ascii_path, np.ones((50, 3)), binary=False)
    lines = open(ascii_path).read().splitlines()
    open(ascii_path, 'w').write('\n'.join(lines[:-5]) + '\n')
    with pytest.raises(DataFileError, match='cut_ascii.ply.*truncated'):
        read_ply_points(ascii_path)
    junk = tmp_path / 'junk.ply'
    junk.write_bytes(b'\x89PNG nonsense')
    with pytest.raises(DataFileError, match='junk.ply.*not a PLY'):
        read_ply_points(str(junk))
    with pytest.raises(FileNotFoundError, match='missing.ply'):
        read_ply_points(str(tmp_path / 'missing.ply'))


def test_nan_points_are_rejected(tmp_path):
    pts = np.zeros((10, 3), np.float32)
    pts[3, 1] = np.nan
    path = tmp_path / 'nan.ply'
    header = b'ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\n' \
             b'property float y\nproperty float z\nend_header\n'
    path.write_bytes(header + pts.astype('<f4').tobytes())
    with pytest.raises(DataFileError, match='nan.ply.*NaN'):
        read_ply_points(str(path))
    with pytest.raises(DataFileError, match='no points'):
        check_points(np.zeros((0, 3)), 'x')
    with pytest.raises(DataFileError, match='shape'):
        check_points(np.zeros((4, 2)), 'x')


def test_image_round_trip_and_errors(tmp_path):
    img = np.full((224, 224, 3), 255, np.uint8)
    img[50:150, 60:120] = 90
    for ext in ('png', 'jpg'):
        path = str(tmp_path / f'v.{ext}')
        write_image(path, img)
        back = read_image(path, expected_size=224)
        assert back.dtype == np.uint8 and back.shape == (224, 224, 3)
        assert np.abs(back.astype(int) - img).mean() < (0.01 if ext == 'png' else 2)
    with pytest.raises(DataFileError, match=r'v.png.*224x224.*expected 100x224'):
        read_image(str(tmp_path / 'v.png'), expected_size=(100, 224))
    with pytest.raises(FileNotFoundError, match='none.jpg'):
        read_image(str(tmp_path / 'none.jpg'))
    data = open(tmp_path / 'v.jpg', 'rb').read()
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) // 3])
    with pytest.raises(DataFileError, match='cut.jpg.*cannot decode'):
        read_image(str(tmp_path / 'cut.jpg'))
    with pytest.raises(ValueError, match='uint8'):
        write_image(str(tmp_path / 'f.png'), img.astype(np.float32))


def test_h5_round_trip(tmp_path):
    path = str(tmp_path / 'd.h5')
    data = np.random.rand(3, 2048, 3).astype(np.float32)
    write_h5(path, data=data, label=np.array([1, 2, 3], np.uint8))
    back = read_h5(path, ['data', 'label'])
    assert back['data'].dtype == np.float32 and back['label'].dtype == np.uint8
    np.testing.assert_array_equal(back['data'], data)
    with pytest.raises(DataFileError, match=r"d.h5.*lacks keys \['mask'\]"):
        read_h5(path, ['mask'])
    (tmp_path / 'bad.h5').write_bytes(b'not hdf5')
    with pytest.raises(DataFileError, match='bad.h5'):
        read_h5(str(tmp_path / 'bad.h5'), ['data'])


def test_txt_array_and_atomic_failure(tmp_path):
    path = str(tmp_path / 't.txt')
    write_txt_array(path, np.array([[1.5, 2, 3]]), delimiter=',')
    assert open(path).read().strip() == '1.500000,2.000000,3.000000'
    # an interrupted write leaves neither the target nor a temporary file
    target = str(tmp_path / 'never.ply')
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            open(tmp, 'w').write('half')
            raise RuntimeError('interrupted')
    assert sorted(os.listdir(tmp_path)) == ['t.txt']
