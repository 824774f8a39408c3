import os.path as osp

import numpy as np
import pytest

from tap3d.datasets import ScanNetDetDataset
from tap3d.datasets.io import DataFileError
from tap3d.datasets.scannet_constants import DET_CLASSES
from tap3d.registry import DATASETS


def _write_scene(root, scene_id, n=50, boxes=None, split='train'):
    det = osp.join(root, 'scannet_train_detection_data')
    import os
    os.makedirs(det, exist_ok=True)
    os.makedirs(osp.join(root, 'meta_data'), exist_ok=True)
    rng = np.random.default_rng(0)
    vert = np.concatenate([rng.uniform(0, 3, (n, 3)), rng.uniform(0, 255, (n, 3))], 1)
    if boxes is None:
        # nyu40 5 = chair (class 2), 1 = wall (not a detection class), 39 = otherfurniture (17)
        boxes = np.array([[1, 1, 0.5, 0.5, 0.5, 1.0, 5], [0, 1.5, 1.5, 0.1, 3, 3, 1],
                          [2, 2, 0.3, 0.6, 0.6, 0.6, 39]], dtype=np.float32)
    np.save(osp.join(det, f'{scene_id}_vert.npy'), vert.astype(np.float32))
    np.save(osp.join(det, f'{scene_id}_bbox.npy'), boxes)
    np.save(osp.join(det, f'{scene_id}_ins_label.npy'), np.arange(n) % 3)
    np.save(osp.join(det, f'{scene_id}_sem_label.npy'), np.full(n, 5))
    with open(osp.join(root, 'meta_data', f'scannetv2_{split}.txt'), 'a') as f:
        f.write(scene_id + '\n')
    return det


def test_reads_boxes_and_maps_classes(tmp_path):
    root = str(tmp_path)
    _write_scene(root, 'scene0000_00')
    ds = DATASETS.build(dict(type='ScanNetDetDataset', data_root=root, split='train'))
    assert len(ds) == 1 and ds.metainfo['classes'] == DET_CLASSES
    s = ds[0]
    assert s['coord'].shape == (50, 3) and s['color'].dtype == np.float32
    # the wall box is dropped; chair -> 2, otherfurniture -> 17
    np.testing.assert_array_equal(s['gt_labels_3d'], [2, 17])
    np.testing.assert_allclose(s['gt_bboxes_3d'][0], [1, 1, 0.5, 0.5, 0.5, 1.0])
    assert s['gt_bboxes_3d'].shape == (2, 6) and s['gt_bboxes_3d'].dtype == np.float32
    # ins_label 0 = none becomes -1; sem labels map to detection classes
    assert s['instance'].min() == -1 and s['instance'].max() == 1
    assert np.all(s['segment'] == 2)
    assert s['scene_id'] == 'scene0000_00' and s['num_points'] == 50


def test_max_boxes_and_empty_boxes(tmp_path):
    root = str(tmp_path)
    many = np.tile(np.array([[1, 1, 1, 0.5, 0.5, 0.5, 3]], np.float32), (70, 1))
    many[:, 0] = np.arange(70)
    _write_scene(root, 'scene0000_00', boxes=many)
    _write_scene(root, 'scene0001_00', boxes=np.zeros((0, ), np.float32))
    ds = ScanNetDetDataset(root, 'train')
    assert ds[0]['gt_bboxes_3d'].shape == (64, 6)
    np.testing.assert_array_equal(ds[0]['gt_bboxes_3d'][:, 0], np.arange(64))
    assert ds[1]['gt_bboxes_3d'].shape == (0, 6) and ds[1]['gt_labels_3d'].shape == (0, )
    assert ScanNetDetDataset(root, 'train', max_boxes=5)[0]['gt_labels_3d'].shape == (5, )


def test_clear_errors(tmp_path):
    root = str(tmp_path)
    with pytest.raises(DataFileError, match='scannetv2_train.txt'):
        ScanNetDetDataset(root, 'train')
    det = _write_scene(root, 'scene0000_00')
    with open(osp.join(root, 'meta_data', 'scannetv2_train.txt'), 'a') as f:
        f.write('scene0009_00\n')
    with pytest.raises(DataFileError, match='scene0009_00_vert.npy: file not found'):
        ScanNetDetDataset(root, 'train')

    root2 = str(tmp_path / 'b')
    det = _write_scene(root2, 'scene0000_00')
    ds = ScanNetDetDataset(root2, 'train')
    np.save(osp.join(det, 'scene0000_00_sem_label.npy'), np.zeros(49))
    with pytest.raises(DataFileError, match=r'scene0000_00_sem_label.npy: expected .*\(50,\)'):
        ds[0]
    np.save(osp.join(det, 'scene0000_00_sem_label.npy'), np.zeros(50))
    np.save(osp.join(det, 'scene0000_00_bbox.npy'), np.zeros((3, 6)))
    with pytest.raises(DataFileError, match='bbox.npy: expected boxes of shape'):
        ds[0]
    np.save(osp.join(det, 'scene0000_00_bbox.npy'), np.zeros((3, 7)))
    vert = np.load(osp.join(det, 'scene0000_00_vert.npy'))
    vert[3, 1] = np.nan
    np.save(osp.join(det, 'scene0000_00_vert.npy'), vert)
    with pytest.raises(DataFileError, match='vert.npy: holds NaN'):
        ds[0]
    np.save(osp.join(det, 'scene0000_00_vert.npy'), np.zeros((0, 6), np.float32))
    with pytest.raises(DataFileError, match='vert.npy: the scene has no points'):
        ds[0]
    np.save(osp.join(det, 'scene0000_00_vert.npy'), np.zeros((50, 3), np.float32))
    with pytest.raises(DataFileError, match=r'vert.npy: expected .*\(N, >=6\)'):
        ds[0]
    # tiny and degenerate scenes (docs/reliability.md)
    np.save(osp.join(det, 'scene0000_00_vert.npy'), np.ones((50, 6), np.float32))
    with pytest.raises(DataFileError, match='vert.npy: all 50 points coincide'):
        ds[0]
    np.save(osp.join(det, 'scene0000_00_vert.npy'), np.random.rand(10, 6).astype(np.float32))
    with pytest.raises(DataFileError, match='vert.npy: only 10 points; at least 32'):
        ds[0]


def test_reads_synthetic_scenes_with_a_pipeline(tmp_path):
    from mmengine.registry import init_default_scope

    from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
    init_default_scope('tap3d')  # as the runtime config does
    root = str(tmp_path / 'syn')
    write_synthetic_scenes(root, 1, 1, points_per_scene=2000, seed=0)
    pipeline = [dict(type='PointSample', num_points=1000, method='random'),
                dict(type='BuildFeat', keys=('coord', )),
                dict(type='PackPointInputs', data_keys=('gt_bboxes_3d', 'gt_labels_3d'))]
    ds = ScanNetDetDataset(root, 'val', pipeline=pipeline)
    out = ds[0]
    assert out['inputs']['coord'].shape == (1000, 3) and out['inputs']['feat'].shape == (1000, 3)
    boxes = out['data_samples'].gt_bboxes_3d
    assert boxes.ndim == 2 and boxes.shape[1] == 6 and len(boxes) >= 1
    assert out['data_samples'].gt_labels_3d.max() < 18


def test_several_splits(tmp_path):
    root = str(tmp_path)
    _write_scene(root, 'scene0000_00')
    _write_scene(root, 'scene0100_00', split='val')
    ds = ScanNetDetDataset(root, ('train', 'val'))
    assert [ds[i]['scene_id'] for i in range(2)] == ['scene0000_00', 'scene0100_00']
