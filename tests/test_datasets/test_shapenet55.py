import os.path as osp
import shutil

import numpy as np
import pytest
import torch

from tap3d.datasets import ShapeNet55Dataset, check_shapenet55_root
from tap3d.datasets.io import DataFileError, write_image
from tap3d.datasets.synthetic.objects import write_synthetic_shapenet55
from tap3d.geometry import compute_framing, fixed_view_rotations, pixel_indices
from tap3d.registry import DATASETS

PIPELINE = [
    dict(type='RandomScale', scale_range=(0.9, 1.1), anisotropic=True),
    dict(type='NormalizePoints'),
    dict(type='BuildFeat', keys=('coord', 'height')),
    dict(type='PackPointInputs'),
]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    # two chairs: model_000000 in train, model_000001 in test
    path = str(tmp_path_factory.mktemp('shapenet55'))
    counts = write_synthetic_shapenet55(path, num_per_class=2, categories=('chair', ),
                                        progress=False)
    assert counts == {'train': 1, 'test': 1}
    return path


def _copy(root, tmp_path):
    dst = str(tmp_path / 'copy')
    shutil.copytree(root, dst)
    return dst


def test_packed_sample_shapes(root):
    ds = DATASETS.build(dict(type='ShapeNet55Dataset', data_root=root, num_views=6,
                             pipeline=PIPELINE))
    assert len(ds) == 1  # splits train + val (val is empty here)
    np.random.seed(0)
    out = ds[0]
    inp = out['inputs']
    assert inp['coord'].shape == (1024, 3) and inp['coord'].dtype == torch.float32
    assert inp['feat'].shape == (1024, 4)
    torch.testing.assert_close(inp['feat'][:, 3], inp['coord'][:, 2] - inp['coord'][:, 2].min())
    assert inp['views'].shape == (6, 3, 224, 224) and inp['views'].dtype == torch.uint8
    idx = out['data_samples'].metainfo['view_indices']
    assert len(set(idx.tolist())) == 6
    torch.testing.assert_close(inp['view_rotations'], fixed_view_rotations(12)[idx].float())
    assert out['data_samples'].metainfo['file'].endswith('.ply')


def test_views_random_in_training_fixed_in_test(root):
    train = ShapeNet55Dataset(data_root=root, num_views=3)
    seen = {tuple(train[0]['view_indices']) for _ in range(8)}
    assert len(seen) > 1
    test = ShapeNet55Dataset(data_root=root, splits=('test',), num_views=3, test_mode=True)
    assert len(test) == 1
    assert [tuple(test[0]['view_indices']) for _ in range(3)] == [(0, 4, 8)] * 3
    # a view file k+1 is pose k
    item = test[0]
    img = ShapeNet55Dataset(data_root=root, splits=('test',), num_views=12,
                            test_mode=True)[0]['views'][4]
    np.testing.assert_array_equal(item['views'][1], img)


def test_points_are_zup_and_normalised(root):
    item = ShapeNet55Dataset(data_root=root, splits=('test',), num_views=0, test_mode=True)[0]
    pts = item['coord']
    np.testing.assert_allclose(pts.mean(0), 0, atol=1e-5)
    assert abs(np.linalg.norm(pts, axis=1).max() - 1) < 1e-5
    # a chair: its back is tall along z, so z spans the most
    assert np.ptp(pts[:, 2]) > np.ptp(pts[:, 0]) and np.ptp(pts[:, 2]) > np.ptp(pts[:, 1])
    raw = ShapeNet55Dataset(data_root=root, splits=('test',), num_views=0, to_zup=False,
                            test_mode=True)[0]['coord']
    assert np.ptp(raw[:, 1]) == pytest.approx(np.ptp(pts[:, 2]), rel=1e-5)  # y-up on disk
    item2048 = ShapeNet55Dataset(data_root=root, num_points=2048, num_views=1)[0]
    assert item2048['coord'].shape == (2048, 3)


def _hull_mask(pixels):
    from scipy.spatial import ConvexHull, Delaunay
    pixels = pixels[ConvexHull(pixels).vertices]  # a few dozen corners: fast to triangulate
    grid = np.stack(np.meshgrid(np.arange(224), np.arange(224), indexing='ij'), -1).reshape(-1, 2)
    return (Delaunay(pixels).find_simplex(grid) >= 0).reshape(224, 224)


def _hull_iou(points, view, rotation):
    """IoU of the convex hulls of the projected points and of the view's foreground."""
    p, r = torch.from_numpy(points)[None], torch.from_numpy(rotation)[None, None]
    s, b = compute_framing(p, r)
    px = pixel_indices(p, r, s, b)[0, 0].numpy()
    fg = np.argwhere((view < 250).any(-1))
    a, b = _hull_mask(px), _hull_mask(fg)
    return (a & b).sum() / (a | b).sum()


def test_stored_views_match_reader_framing(root):
    """The render was framed on exactly the points the reader returns."""
    ds = ShapeNet55Dataset(data_root=root, splits=('train', 'test'), num_views=12,
                           test_mode=True)
    for i in range(len(ds)):
        item = ds[i]
        for v in range(0, 12, 3):
            iou = _hull_iou(item['coord'], item['views'][v], item['view_rotations'][v])
            assert iou >= 0.9, (i, v, iou)
    # negative control: a chair's points without the axis permutation do not match
    chair = [i for i in range(len(ds)) if _category(root, ds.get_data_info(i)) == 'chair'][0]
    wrong = ShapeNet55Dataset(data_root=root, splits=('train', 'test'), num_views=12,
                              to_zup=False, test_mode=True)[chair]
    ious = [_hull_iou(wrong['coord'], wrong['views'][v], wrong['view_rotations'][v])
            for v in range(0, 12, 3)]
    assert min(ious) < 0.8


def test_all_points_fall_on_the_object(root):
    from scipy import ndimage
    item = ShapeNet55Dataset(data_root=root, splits=('test',), num_views=12, test_mode=True)[0]
    p = torch.from_numpy(item['coord'])[None]
    r = torch.from_numpy(item['view_rotations'])[None]
    s, b = compute_framing(p, r)
    px = pixel_indices(p, r, s, b)[0].numpy()
    for v in range(12):
        # one pixel of tolerance for JPEG blur on one-pixel-thin legs
        fg = ndimage.binary_dilation((item['views'][v] < 250).any(-1))
        assert fg[px[v, :, 0], px[v, :, 1]].mean() > 0.98


def _category(root, info):
    labels = dict(line.split()[::2] for line in open(osp.join(root, 'synthetic_labels.txt')))
    return labels[info['stem']]


def test_clear_errors(root, tmp_path):
    dst = _copy(root, tmp_path)
    ds = ShapeNet55Dataset(data_root=dst, splits=('test',), num_views=12, test_mode=True)
    stem = ds.get_data_info(0)['stem']
    view = osp.join(dst, 'shapenet55v1', 'test', f'{stem}_005.jpg')
    write_image(view, np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(DataFileError, match=f'{stem}_005.jpg.*100x100'):
        ds[0]
    import os
    os.remove(view)
    with pytest.raises(FileNotFoundError, match=f'{stem}_005.jpg'):
        ds[0]
    ply = osp.join(dst, 'pointclouds', 'test', f'{stem}.ply')
    data = open(ply, 'rb').read()
    open(ply, 'wb').write(data[:-100])
    with pytest.raises(DataFileError, match=f'{stem}.ply.*truncated'):
        ds[0]
    points = np.zeros((1024, 3), np.float32)
    points[10] = np.nan
    header = (b'ply\nformat binary_little_endian 1.0\nelement vertex 1024\n'
              b'property float x\nproperty float y\nproperty float z\nend_header\n')
    open(ply, 'wb').write(header + points.tobytes())
    with pytest.raises(DataFileError, match=f'{stem}.ply.*NaN'):
        ds[0]
    with pytest.raises(FileNotFoundError, match='pointclouds/nosplit'):
        ShapeNet55Dataset(data_root=dst, splits=('nosplit',))
    with pytest.raises(ValueError, match='num_points'):
        ShapeNet55Dataset(data_root=dst, num_points=500)


def test_check_root_lists_every_bad_file(root, tmp_path):
    count, problems = check_shapenet55_root(root)
    assert count == 2 and problems == []
    dst = _copy(root, tmp_path)
    import os
    ds = ShapeNet55Dataset(data_root=dst, splits=('train',), num_views=0)
    stem = ds.get_data_info(0)['stem']
    os.remove(osp.join(dst, 'shapenet55v1', 'train', f'{stem}_012.jpg'))
    write_image(osp.join(dst, 'shapenet55v1', 'train', f'{stem}_003.jpg'),
                np.zeros((64, 64, 3), np.uint8))
    ply = osp.join(dst, 'pointclouds_p2048', 'train', f'{stem}.ply')
    data = open(ply, 'rb').read()
    open(ply, 'wb').write(data[:500])
    count, problems = check_shapenet55_root(dst)
    bad = {osp.basename(p): msg for p, msg in problems}
    assert set(bad) == {f'{stem}_012.jpg', f'{stem}_003.jpg', f'{stem}.ply'}
    assert 'missing' in bad[f'{stem}_012.jpg'] and 'truncated' in bad[f'{stem}.ply']


def _write_ply(path, points):
    header = (f'ply\nformat binary_little_endian 1.0\nelement vertex {len(points)}\n'
              'property float x\nproperty float y\nproperty float z\nend_header\n')
    with open(path, 'wb') as f:
        f.write(header.encode() + np.asarray(points, '<f4').tobytes())


@pytest.mark.parametrize('points, message', [
    (np.random.default_rng(0).normal(size=(1, 3)), '1 points, expected 1024'),
    (np.random.default_rng(0).normal(size=(10, 3)), '10 points, expected 1024'),
    (np.random.default_rng(0).normal(size=(2048, 3)), '2048 points, expected 1024'),
    (np.ones((1024, 3)), 'all 1024 points coincide'),
    (np.zeros((0, 3)), 'holds no points'),
])
def test_tiny_and_degenerate_clouds_are_refused(root, tmp_path, points, message):
    """The reader and `create_data.py check` apply one rule and give one message."""
    dst = _copy(root, tmp_path)
    ds = ShapeNet55Dataset(data_root=dst, splits=('test',), num_views=2, test_mode=True)
    ply = ds.get_data_info(0)['ply_path']
    _write_ply(ply, points)
    with pytest.raises(DataFileError, match=message) as err:
        ds[0]
    assert str(err.value).startswith(ply + ': ')
    _, problems = check_shapenet55_root(dst, check_images=False)
    assert (ply, str(err.value)[len(ply) + 2:]) in problems


def test_greyscale_views_are_converted_with_one_warning(root, tmp_path, monkeypatch):
    from PIL import Image

    import tap3d.datasets.io as io
    dst = _copy(root, tmp_path)
    ds = ShapeNet55Dataset(data_root=dst, splits=('test',), num_views=12, test_mode=True)
    stem = ds.get_data_info(0)['stem']
    views = [osp.join(dst, 'shapenet55v1', 'test', f'{stem}_{k:03d}.jpg') for k in (1, 2)]
    for path in views:  # MVCNN-style shaded grey render, stored as one channel
        Image.open(path).convert('L').save(path)
    logged = []
    monkeypatch.setattr(io, '_warned', set())
    monkeypatch.setattr('mmengine.logging.print_log', lambda msg, **kw: logged.append(msg))
    for _ in range(2):
        item = ds[0]
    grey = item['views'][0]
    assert grey.shape == (224, 224, 3) and (grey[..., 0] == grey[..., 2]).all()
    assert len(logged) == 1  # once per process, naming the first file
    assert logged[0].startswith(views[0] + ': greyscale image (mode L) converted to RGB')
