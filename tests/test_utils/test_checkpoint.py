import os

import pytest
import torch
import torch.nn as nn
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

from tap3d.utils import register_all_modules
from tap3d.utils.checkpoint import AtomicLocalBackend, load_checkpoint_file
from tap3d.utils.pretrained import load_pretrained

register_all_modules()


def test_mmengine_writes_local_files_through_the_atomic_backend(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)


def test_crash_mid_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'state_dict': {'w': torch.ones(3)}}, path)

    def crash(fd):
        raise OSError('simulated power loss while flushing')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='simulated'):
        save_checkpoint({'state_dict': {'w': torch.zeros(3)}}, path)
    monkeypatch.undo()
    # the old file is intact and no temporary file is left behind
    assert torch.equal(load_checkpoint_file(path)['state_dict']['w'], torch.ones(3))
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_load_checkpoint_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_file(str(tmp_path / 'missing.pth'))
    bad = tmp_path / 'corrupt.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='corrupt.pth'):
        load_checkpoint_file(str(bad))


def test_weights_only_refuses_arbitrary_objects(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'payload': nn.Linear(2, 2)}, path)
    with pytest.raises(RuntimeError, match='evil.pth'):
        load_checkpoint_file(path)


class Net(nn.Module):

    def __init__(self, width=4):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(3, width), nn.BatchNorm1d(width))
        self.head = nn.Linear(width, 2)


def _tap_like_checkpoint(tmp_path, width=4):
    path = str(tmp_path / f'tap_{width}.pth')
    model = Net(width)
    state = {f'backbone.{k}': v for k, v in model.backbone.state_dict().items()}
    state.update({'head.photograph.w': torch.zeros(2)})  # dropped for fine-tuning
    torch.save({'state_dict': state}, path)
    return path, model


def test_backbone_transfer_matches_every_key(tmp_path):
    path, source = _tap_like_checkpoint(tmp_path)
    target = Net()
    report = load_pretrained(target.backbone, path, prefix='backbone.')
    assert report['missing'] == [] and report['unexpected'] == []
    assert report['matched'] == sorted(target.backbone.state_dict())
    for k, v in source.backbone.state_dict().items():
        assert torch.equal(target.backbone.state_dict()[k], v)


def test_transfer_that_matches_nothing_fails(tmp_path):
    path, _ = _tap_like_checkpoint(tmp_path)
    with pytest.raises(RuntimeError, match='matched none'):
        load_pretrained(Net().backbone, path, prefix='encoder.')


def test_transfer_with_wrong_shapes_or_missing_keys_fails(tmp_path):
    path, _ = _tap_like_checkpoint(tmp_path, width=4)
    with pytest.raises(RuntimeError, match='shape mismatches'):
        load_pretrained(Net(width=8).backbone, path, prefix='backbone.')
    bigger = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 4))
    with pytest.raises(RuntimeError, match='not in'):
        load_pretrained(bigger, path, prefix='backbone.')
    report = load_pretrained(bigger, path, prefix='backbone.', allow_missing=True)
    assert report['missing'] == ['2.bias', '2.weight']


def test_pretrained_init_cfg_resolves_to_the_checked_loader(tmp_path):
    from mmengine.model import BaseModule
    path, _ = _tap_like_checkpoint(tmp_path)

    class Backbone(BaseModule):

        def __init__(self, init_cfg=None):
            super().__init__(init_cfg=init_cfg)
            self.layers = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))

    wrong = Backbone(init_cfg=dict(type='CheckedPretrained', checkpoint=path, prefix='backbone.'))
    with pytest.raises(RuntimeError, match='matched none'):  # keys are '0.*', not 'layers.0.*'
        wrong.init_weights()
