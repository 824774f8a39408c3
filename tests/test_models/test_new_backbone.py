"""A backbone written outside tap3d is pre-trained with TAP through configs alone."""
import glob
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(REPO, 'tests', 'data')
IMG, OBJ = 32, 28


pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py


def test_toy_backbone_pretrains_through_config(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(DATA)  # where the user's module lives
    from tap3d.registry import MODELS
    from tests.data.tap_fixtures import write_tiny_shapenet55
    root = write_tiny_shapenet55(str(tmp_path / 'data'), IMG, OBJ)

    cfg = Config.fromfile(osp.join(DATA, 'toy_tap_config.py'))  # runs custom_imports
    cls = MODELS.get('ToyPointBackbone')
    assert cls is not None
    module_file = osp.abspath(sys.modules[cls.__module__].__file__)
    assert not module_file.startswith(osp.join(REPO, 'tap3d') + osp.sep)  # core untouched
    assert cfg.model.backbone.type == 'ToyPointBackbone'
    assert 'embed_dim' not in cfg.model.backbone  # _delete_ dropped PointMLP's options

    # shrink images, data and schedule for the test; the model stays as configured
    cfg.model.head.update(img_size=IMG, obj_size=OBJ, downsample=8)
    cfg.model.resize_views = False
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].update(batch_size=1, num_workers=0, persistent_workers=False)
        cfg[name].dataset.update(data_root=root, img_size=IMG, num_views=2)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.custom_hooks = []
    cfg.work_dir = str(tmp_path / 'work')

    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert type(model.backbone).__name__ == 'ToyPointBackbone'
    assert model.head.in_channels == 64  # read from the backbone's out_channels
    before = model.backbone.mlp[0].weight.detach().clone()
    runner.train()
    assert runner.iter == 2
    assert not torch.equal(before, model.backbone.mlp[0].weight)
    ckpt = torch.load(glob.glob(osp.join(cfg.work_dir, 'epoch_1.pth'))[0], map_location='cpu',
                      weights_only=False)
    assert 'backbone.mlp.0.weight' in ckpt['state_dict']
