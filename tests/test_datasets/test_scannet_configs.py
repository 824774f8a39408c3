"""Every ScanNet dataset config builds its datasets and yields packed samples."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from tap3d.registry import DATASETS

_CFG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                    'configs', '_base_', 'datasets')
CONFIGS = ['scannet_det.py', 'scannet_seg.py', 'scannet_seg_tap.py', 'synthetic_scannet_det.py',
           'synthetic_scannet_seg.py', 'synthetic_scannet_tap.py']


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    from tap3d.datasets.synthetic.scenes import write_synthetic_scenes
    root = str(tmp_path_factory.mktemp('scannet'))
    write_synthetic_scenes(root, num_train=1, num_val=1, points_per_scene=3000, seed=0)
    return root


@pytest.mark.parametrize('name', CONFIGS)
def test_dataset_config_yields_samples(name, synthetic_root):
    init_default_scope('tap3d')
    cfg = Config.fromfile(osp.join(_CFG_DIR, name))
    loaders = [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader') if k in cfg]
    assert 'train_dataloader' in loaders
    for key in loaders:
        loader = cfg[key]
        assert loader['collate_fn']['type'] == 'pseudo_collate'
        ds_cfg = loader['dataset'].copy()
        if name.startswith('synthetic'):
            assert ds_cfg['data_root'] == 'data/synthetic/scannet'
        ds_cfg['data_root'] = synthetic_root
        out = DATASETS.build(ds_cfg)[0]
        inputs, sample = out['inputs'], out['data_samples']
        assert inputs['coord'].dtype == torch.float32 and inputs['coord'].shape[1] == 3
        if 'det' in name:
            assert sample.gt_bboxes_3d.shape[1] == 6
            assert len(sample.gt_labels_3d) == len(sample.gt_bboxes_3d)
        elif 'tap' in name:
            v = inputs['views']
            assert v.dtype == torch.uint8 and v.shape[1:] == (3, 224, 224)
            assert inputs['view_rotations'].shape == (v.shape[0], 3, 3)
            assert inputs['feat'].shape == (inputs['coord'].shape[0], 9)
        else:
            assert inputs['feat'].shape == (inputs['coord'].shape[0], 9)
            if key == 'test_dataloader':
                frags = inputs['fragments']
                assert sample.gt_sem_labels.shape == (3000, ) and len(frags) >= 1
            elif key == 'val_dataloader':
                assert sample.gt_sem_labels.shape == (3000, )
                assert sample.inverse.max() == inputs['coord'].shape[0] - 1
            else:
                assert sample.gt_sem_labels.shape == (inputs['coord'].shape[0], )
