"""The ScanNet converter on a tiny scan written by hand in the raw release formats."""
import importlib.util
import json
import os
import os.path as osp
import struct

import numpy as np
import pytest

_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'scannet_converter', osp.join(_ROOT, 'tools', 'dataset_converters', 'scannet.py'))
conv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conv)

# Quads of an axis-aligned box, wound counter-clockwise seen from outside.
_BOX_QUADS = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (2, 3, 7, 6), (1, 2, 6, 5), (0, 4, 7, 3)]


def _box(lo, hi, step=4):
    """Vertices (a grid on every face, so the box has a few dozen) and triangles."""
    corners = np.array([[x, y, z] for z in (lo[2], hi[2]) for y, x in
                        ((lo[1], lo[0]), (lo[1], hi[0]), (hi[1], hi[0]), (hi[1], lo[0]))])
    verts, faces = [], []
    for quad in _BOX_QUADS:
        a, b, c, d = corners[list(quad)]
        base = len(verts)
        for i in range(step + 1):
            for j in range(step + 1):
                u, v = i / step, j / step
                verts.append(a + (b - a) * u + (d - a) * v)
        for i in range(step):
            for j in range(step):
                p = base + i * (step + 1) + j
                faces += [(p, p + step + 1, p + step + 2), (p, p + step + 2, p + 1)]
    return np.array(verts), np.array(faces)


def _write_ply(path, verts, colors, faces):
    header = ('ply\nformat binary_little_endian 1.0\n'
              f'element vertex {len(verts)}\nproperty float x\nproperty float y\nproperty float z\n'
              'property uchar red\nproperty uchar green\nproperty uchar blue\n'
              'property uchar alpha\n'
              f'element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n')
    with open(path, 'wb') as f:
        f.write(header.encode())
        for v, c in zip(verts, colors):
            f.write(struct.pack('<3f4B', *v, *c, 255))
        for face in faces:
            f.write(struct.pack('<B3i', 3, *face))


ALIGN = np.array([[0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)


def _write_scan(root, scene_id='scene0000_00', with_labels=True):
    """Floor, a chair, a table and an unlabelled crate (label missing from the tsv)."""
    parts = [  # (lo, hi, segment ids per part)
        ((-1, -1, -0.02), (3, 3, 0.0)),     # floor: seg 0
        ((0, 0, 0), (0.5, 0.5, 1.0)),        # chair: seg 1 and 2
        ((1, 1, 0), (2, 1.6, 0.8)),          # table: seg 3
        ((2.2, 2.2, 0), (2.6, 2.6, 0.4)),    # crate: seg 4
    ]
    verts, faces, segs = [], [], []
    for k, (lo, hi) in enumerate(parts):
        v, f = _box(lo, hi)
        faces.append(f + sum(len(x) for x in verts))
        verts.append(v)
        seg = np.full(len(v), {0: 0, 1: 1, 2: 3, 3: 4}[k])
        if k == 1:
            seg[len(v) // 2:] = 2  # the chair has two over-segments
        segs.append(seg)
    verts, faces, segs = np.concatenate(verts), np.concatenate(faces), np.concatenate(segs)
    colors = np.stack([segs * 40, 255 - segs * 40, np.full(len(segs), 7)], 1).astype(np.uint8)
    d = osp.join(root, scene_id)
    os.makedirs(d)
    _write_ply(osp.join(d, f'{scene_id}_vh_clean_2.ply'), verts, colors, faces)
    with open(osp.join(d, f'{scene_id}.txt'), 'w') as f:
        f.write('colorHeight = 968\naxisAlignment = ' + ' '.join(f'{x:g}' for x in ALIGN.ravel())
                + '\nnumDepthFrames = 10\n')
    if with_labels:
        with open(osp.join(d, f'{scene_id}_vh_clean_2.0.010000.segs.json'), 'w') as f:
            json.dump(dict(sceneId=scene_id, segIndices=segs.tolist()), f)
        groups = [dict(id=0, objectId=0, label='chair', segments=[1, 2]),
                  dict(id=1, objectId=1, label='dining table', segments=[3]),
                  dict(id=2, objectId=2, label='floor', segments=[0]),
                  dict(id=3, objectId=3, label='crate of mystery', segments=[4])]
        with open(osp.join(d, f'{scene_id}.aggregation.json'), 'w') as f:
            json.dump(dict(sceneId=scene_id, segGroups=groups), f)
    return verts, segs


def _write_label_map(path):
    with open(path, 'w') as f:
        f.write('id\traw_category\tcategory\tcount\tnyu40id\tnyu40class\n')
        f.write('2\tchair\tchair\t4000\t5\tchair\n')
        f.write('7\tdining table\ttable\t300\t7\ttable\n')
        f.write('11\tfloor\tfloor\t2000\t2\tfloor\n')


@pytest.fixture
def raw(tmp_path):
    scans = str(tmp_path / 'scans')
    os.makedirs(scans)
    verts, segs = _write_scan(scans)
    tsv = str(tmp_path / 'scannetv2-labels.combined.tsv')
    _write_label_map(tsv)
    return scans, tsv, verts, segs


def test_boxes_labels_and_alignment(raw, tmp_path):
    scans, tsv, verts, segs = raw
    out = str(tmp_path / 'out')
    conv.main(['--scans-dir', scans, '--label-map', tsv, '--out-dir', out])
    det = osp.join(out, 'scannet_train_detection_data')
    bbox = np.load(osp.join(det, 'scene0000_00_bbox.npy'))
    # by hand: R_z(90°) maps (x, y) to (-y, x), then + (1, 2, 0)
    # chair [0,.5]x[0,.5]x[0,1] -> x [.5,1], y [2,2.5]
    # table [1,2]x[1,1.6]x[0,.8] -> x [-.6,0], y [3,4]
    np.testing.assert_allclose(bbox, [[0.75, 2.25, 0.5, 0.5, 0.5, 1.0, 5],
                                      [-0.3, 3.5, 0.4, 0.6, 1.0, 0.8, 7]], atol=1e-5)
    vert = np.load(osp.join(det, 'scene0000_00_vert.npy'))
    assert vert.shape == (len(verts), 6) and vert.dtype == np.float32
    np.testing.assert_allclose(vert[:, :3], verts @ ALIGN[:3, :3].T + ALIGN[:3, 3], atol=1e-5)
    np.testing.assert_array_equal(vert[:, 3], (segs * 40).astype(np.uint8))
    sem = np.load(osp.join(det, 'scene0000_00_sem_label.npy'))
    ins = np.load(osp.join(det, 'scene0000_00_ins_label.npy'))
    expect_nyu = np.select([segs == 0, segs <= 2, segs == 3], [2, 5, 7], 0)
    np.testing.assert_array_equal(sem, expect_nyu)
    np.testing.assert_array_equal(ins, np.select([segs == 0, segs <= 2, segs == 3], [3, 1, 2], 4))

    seg_dir = osp.join(out, 'train', 'scene0000_00')
    coord = np.load(osp.join(seg_dir, 'coord.npy'))
    # Pointcept keeps the scan's own frame
    assert coord.dtype == np.float32
    np.testing.assert_allclose(coord, verts, atol=1e-6)
    assert np.load(osp.join(seg_dir, 'color.npy')).dtype == np.uint8
    segment = np.load(osp.join(seg_dir, 'segment20.npy'))
    np.testing.assert_array_equal(segment, np.select([segs == 0, segs <= 2, segs == 3],
                                                     [1, 4, 6], -1))
    instance = np.load(osp.join(seg_dir, 'instance.npy'))
    np.testing.assert_array_equal(instance, ins - 1)
    normal = np.load(osp.join(seg_dir, 'normal.npy'))
    np.testing.assert_allclose(np.linalg.norm(normal, axis=1), 1.0, atol=1e-5)
    # the floor's top face centre points up
    top = np.where((segs == 0) & (np.abs(verts[:, 2]) < 1e-6)
                   & (np.abs(verts[:, :2] - 1).max(1) < 1.5))[0]
    np.testing.assert_allclose(normal[top], np.tile([0, 0, 1], (len(top), 1)), atol=1e-5)
    with open(osp.join(out, 'meta_data', 'scannetv2_train.txt')) as f:
        assert f.read().split() == ['scene0000_00']

    # the converted scene loads with the two readers
    from tap3d.datasets import ScanNetDetDataset, ScanNetSegDataset
    s = ScanNetDetDataset(out, 'train')[0]
    np.testing.assert_array_equal(s['gt_labels_3d'], [2, 4])  # chair, table
    s = ScanNetSegDataset(out, 'train')[0]
    assert s['normal'].shape == (len(verts), 3)


def test_align_seg_splits_and_resume(raw, tmp_path):
    scans, tsv, verts, _ = raw
    test_scans = str(tmp_path / 'scans_test')
    os.makedirs(test_scans)
    _write_scan(test_scans, 'scene0707_00', with_labels=False)
    lists = {}
    for name, ids in (('train', []), ('val', ['scene0000_00']), ('test', ['scene0707_00'])):
        lists[name] = str(tmp_path / f'{name}.txt')
        with open(lists[name], 'w') as f:
            f.write(''.join(i + '\n' for i in ids))
    out = str(tmp_path / 'out')
    args = ['--scans-dir', scans, '--label-map', tsv, '--out-dir', out, '--val-list', lists['val'],
            '--scans-test-dir', test_scans, '--test-list', lists['test'], '--align-seg']
    conv.main(args)
    coord = np.load(osp.join(out, 'val', 'scene0000_00', 'coord.npy'))
    np.testing.assert_allclose(coord, verts @ ALIGN[:3, :3].T + ALIGN[:3, 3], atol=1e-5)
    test_dir = osp.join(out, 'test', 'scene0707_00')
    assert sorted(os.listdir(test_dir)) == ['color.npy', 'coord.npy', 'normal.npy']
    assert not osp.exists(osp.join(out, 'scannet_train_detection_data', 'scene0707_00_vert.npy'))
    # a second run skips converted scenes
    mtime = os.path.getmtime(osp.join(out, 'val', 'scene0000_00', 'coord.npy'))
    conv.main(args)
    assert os.path.getmtime(osp.join(out, 'val', 'scene0000_00', 'coord.npy')) == mtime


def test_clear_errors(raw, tmp_path):
    scans, tsv, verts, _ = raw
    from tap3d.datasets.io import DataFileError
    with pytest.raises(DataFileError, match='label map not found'):
        conv.main(['--scans-dir', scans, '--label-map', str(tmp_path / 'no.tsv')])
    bad = str(tmp_path / 'bad.tsv')
    with open(bad, 'w') as f:
        f.write('a\tb\n1\t2\n')
    with pytest.raises(DataFileError, match="needs columns 'raw_category' and 'nyu40id'"):
        conv.read_label_map(bad)
    segs_file = osp.join(scans, 'scene0000_00', 'scene0000_00_vh_clean_2.0.010000.segs.json')
    with open(segs_file, 'w') as f:
        json.dump(dict(segIndices=[0, 1, 2]), f)
    msg = f'segs.json: 3 segIndices but the mesh has {len(verts)}'
    with pytest.raises(DataFileError, match=msg):
        conv.main(['--scans-dir', scans, '--label-map', tsv, '--out-dir', str(tmp_path / 'o')])
    lst = str(tmp_path / 'l.txt')
    with open(lst, 'w') as f:
        f.write('scene0999_00\n')
    with pytest.raises(DataFileError, match='scene0999_00: scan folder not found'):
        conv.main(['--scans-dir', scans, '--label-map', tsv, '--train-list', lst])
