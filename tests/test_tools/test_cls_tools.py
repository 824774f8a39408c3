"""Classification configs and tools: every config loads and builds; the probe,
t-SNE, confusion-matrix, FLOP and few-shot tools run end to end on tiny data."""
import copy
import glob
import importlib.util
import os
import os.path as osp
import pickle
import sys

import h5py
import numpy as np
import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', d, '**', '*.py'), recursive=True)
    for d in ('pointmlp', 'pointnet2', 'dgcnn', 'standard_transformer'))
# Part segmentation configs share the pointmlp folder but are not classification's.
CONFIGS = sorted([p for p in sum(CONFIGS, []) if 'partseg' not in osp.basename(p)] + [
    p for p in glob.glob(osp.join(REPO, 'configs', 'tap', '**', 'tap_*.py'), recursive=True)
    if osp.basename(p).startswith(('tap_pointnet2', 'tap_dgcnn', 'tap_standard-transformer'))])

EXPECTED_PARAMS = {  # 15 classes; measured on the TAP authors' classes
    'pointmlp_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py': 13_231_375,
    'pointnet2-ssg_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py': 1_466_191,
    'dgcnn_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py': 1_803_023,
    'standard-transformer_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py': 22_388_495,
}


pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py


def _tool(*parts):
    path = osp.join(REPO, 'tools', *parts)
    sys.path.insert(0, osp.dirname(path))
    spec = importlib.util.spec_from_file_location(osp.splitext(parts[-1])[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(path):
    return Config.fromfile(path)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_loads_and_builds(path):
    from tap3d.registry import MODELS
    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = _load(path)
    assert cfg.default_scope == 'tap3d'
    with torch.device('meta'):  # shapes only
        model = MODELS.build(cfg.model)
    n = sum(p.numel() for p in model.parameters())
    if osp.basename(path) in EXPECTED_PARAMS:
        assert n == EXPECTED_PARAMS[osp.basename(path)]
    if '_tap-' in osp.basename(path) or '_tap_' in osp.basename(path):
        init = cfg.model.backbone.init_cfg
        assert init.type == 'CheckedPretrained' and init.prefix == 'backbone.'
    for key in ('train_dataloader', 'val_dataloader'):
        assert cfg[key].dataset.type
    if cfg.model.type == 'PointClassifier':
        # The head must fit the backbone's pooled width (a forward would fail otherwise).
        assert model.head.in_channels == model.backbone.global_channels
        assert cfg.val_evaluator.type == 'ClsMetric'
        assert cfg.model.head.num_classes == len(_classes(cfg))


def _classes(cfg):
    ds = cfg.train_dataloader.dataset
    if ds.type == 'ScanObjectNNDataset':
        return range(15)
    if ds.type == 'ModelNet40Dataset':
        return range(40)
    return range(ds.way)


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    """A ScanObjectNN-layout root: 5 classes x 6 train / 3 test shapes of 64 points."""
    root = str(tmp_path_factory.mktemp('sonn'))
    rng = np.random.default_rng(0)
    for split, n in (('training', 6), ('test', 3)):
        labels = np.repeat(np.arange(5), n)
        # Each class is a differently stretched blob, so features separate classes.
        data = rng.normal(size=(len(labels), 64, 3)) * (1 + labels[:, None, None] * [0.5, 0, 0])
        os.makedirs(osp.join(root, 'main_split'), exist_ok=True)
        with h5py.File(osp.join(root, 'main_split', f'{split}_objectdataset.h5'), 'w') as f:
            f['data'], f['label'] = data.astype(np.float32), labels.astype(np.uint8)
    return root


def _tiny_cfg(root, work_dir):
    pipeline = [
        dict(type='NormalizePoints'),
        dict(type='BuildFeat', keys=('coord', 'height')),
        dict(type='PackPointInputs', input_keys=('coord', 'feat'), data_keys=('gt_label', )),
    ]
    ds = dict(type='ScanObjectNNDataset', data_root=root, variant='obj_bg', pipeline=pipeline)
    return Config(dict(
        default_scope='tap3d',
        work_dir=work_dir,
        model=dict(
            type='PointClassifier',
            backbone=dict(type='DGCNN', in_channels=4, k=8, channels=(8, 8, 16, 16),
                          embed_dims=32),
            head=dict(type='ClsHead', num_classes=5, hidden_channels=(16, ))),
        train_dataloader=dict(batch_size=10, num_workers=0, drop_last=True,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              dataset=dict(ds, split='train')),
        val_dataloader=dict(batch_size=16, num_workers=0,
                            sampler=dict(type='DefaultSampler', shuffle=False),
                            dataset=dict(ds, split='test', test_mode=True)),
        val_evaluator=dict(type='ClsMetric'),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1),
        val_cfg=dict(type='ValLoop'),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        log_level='WARNING',
    ))


def test_linear_probe_tsne_and_confusion(tiny_root, tmp_path):
    lp = _tool('analysis', 'linear_probe.py')
    tsne = _tool('analysis', 'tsne.py')
    cmx = _tool('analysis', 'confusion_matrix.py')
    cfg = _tiny_cfg(tiny_root, str(tmp_path))
    # A "checkpoint" of a differently seeded model, saved the way runners save.
    other = lp.build_model(cfg, seed=1)
    ckpt = str(tmp_path / 'other.pth')
    torch.save({'state_dict': other.state_dict()}, ckpt)
    ckpts = lp.parse_checkpoints([f'other={ckpt}'])
    assert list(ckpts) == ['random-init', 'other']
    # Loading really happens: the seed-0 model takes the seed-1 weights.
    key = 'edge_convs.0.conv.0.weight'
    loaded = lp.build_model(cfg, ckpt).backbone.state_dict()[key]
    assert torch.equal(loaded, other.backbone.state_dict()[key])
    assert not torch.equal(loaded, lp.build_model(cfg).backbone.state_dict()[key])

    results = lp.linear_probe(cfg, ckpts, epochs=40)
    assert [r['name'] for r in results] == ['random-init', 'other']
    for r in results:
        assert 0 <= r['test_oa'] <= 100 and r['train_acc'] >= 60  # separable blobs
    assert 'test OA' in lp.format_table(results)

    model = lp.build_model(cfg)
    pred, gt = cmx.predict_dataset(model, lp.build_split_dataset(cfg, 'test'))
    cm = cmx.confusion_matrix(pred, gt, 5)
    assert cm.sum() == 15 and cm.sum(1).tolist() == [3] * 5
    assert cmx.confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), 2).tolist() == \
        [[1, 1], [0, 1]]
    assert osp.getsize(cmx.plot_confusion(cm, list('abcde'), str(tmp_path / 'cm.png'))) > 1000

    feats = np.random.default_rng(0).normal(size=(20, 8))
    emb = tsne.embed_tsne(feats, perplexity=5)
    assert emb.shape == (20, 2)
    labels = np.arange(20) % 4
    png = tsne.plot_embeddings({'a': (emb, labels), 'b': (emb, labels)}, list('wxyz'),
                               str(tmp_path / 't.png'))
    assert osp.getsize(png) > 1000


def test_get_flops_counts_linear_layers():
    flops = _tool('analysis', 'get_flops.py')
    from tap3d.models.classifiers.point_classifier import PointClassifier
    model = PointClassifier(
        backbone=dict(type='DGCNN', in_channels=4, k=4, channels=(8, 8, 8, 8), embed_dims=16),
        head=dict(type='ClsHead', num_classes=3, hidden_channels=(8, ))).eval()
    rows = dict(flops.count_parameters(model, depth=1))
    assert rows['total'] == rows['backbone'] + rows['head'] + rows['data_preprocessor']
    inputs = flops.dummy_inputs(model, batch_size=2, num_points=32)
    assert inputs['feat'].shape == (2, 32, 4)
    total, per_module = flops.count_flops(model, inputs)
    # Head by hand: 32->8 linear and 8->3 linear, 2 FLOPs per multiply-add, batch 2.
    assert per_module['head'] == 2 * 2 * (32 * 8 + 8 * 3)
    assert total == per_module['backbone'] + per_module['head'] and per_module['backbone'] > 0


def test_run_fewshot_two_folds(tmp_path):
    run = _tool('run_fewshot.py')
    rng = np.random.default_rng(0)
    for fold in (0, 1):
        data = {s: [(rng.normal(size=(40, 6)).astype(np.float32) * (1 + k), k, k)
                    for k in range(3) for _ in range(n)]
                for s, n in (('train', 4), ('test', 2))}
        path = osp.join(str(tmp_path), 'fs', '3way_4shot', f'{fold}.pkl')
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            pickle.dump(data, f)
    cfg = _tiny_cfg('unused', str(tmp_path))
    pipeline = cfg.train_dataloader.dataset.pipeline
    for key in ('train_dataloader', 'val_dataloader'):
        cfg[key].dataset = dict(type='ModelNetFewShotDataset', data_root=str(tmp_path / 'fs'),
                                way=3, shot=4, fold=0, pipeline=pipeline,
                                split='train' if key == 'train_dataloader' else 'test')
    cfg.train_dataloader.batch_size = 6
    cfg.model.head.num_classes = 3
    cfg.default_hooks.checkpoint.save_best = 'auto'
    results = run.run_folds(cfg, [0, 1], str(tmp_path / 'wd'))
    assert [r['fold'] for r in results] == [0, 1]
    assert all(0 <= r['last'] <= r['best'] <= 100 for r in results)
    summary = run.summarize([dict(best=80, last=70), dict(best=90, last=70)])
    assert summary['best_mean'] == 85 and summary['best_std'] == 5 and summary['last_std'] == 0
    assert run._parse_folds('0-3') == [0, 1, 2, 3] and run._parse_folds('2,5') == [2, 5]
    bad = copy.deepcopy(cfg)
    bad.train_dataloader.dataset = dict(type='ScanObjectNNDataset')
    with pytest.raises(ValueError, match='not a few-shot config'):
        run._set_fold(bad, 0)


@pytest.mark.parametrize('tap_cfg,cls_cfgs', [
    ('tap_pointnet2_1xb32-cosine-100e_shapenet55.py',
     ['pointnet2/pointnet2-ssg_tap-shapenet55-pre_1xb32-adamw-cosine-300e_'
      'scanobjectnn-hardest.py']),
    ('tap_dgcnn_1xb16-cosine-100e_shapenet55.py',
     ['dgcnn/dgcnn_tap-shapenet55-pre_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py']),
    ('tap_standard-transformer_1xb32-cosine-100e_shapenet55.py',
     ['standard_transformer/standard-transformer_tap-shapenet55-pre_1xb32-adamw-cosine-300e_'
      'scanobjectnn-hardest.py',
      'standard_transformer/standard-transformer_tap-shapenet55-pre_1xb32-adamw-warmup-'
      'cosine-150e_modelnet40-fewshot-5way-10shot.py']),
    ('synthetic/tap_pointnet2_1xb4-2e_synthetic-shapenet55.py',
     ['pointnet2/synthetic/pointnet2-ssg_1xb8-2e_synthetic-scanobjectnn.py',
      'pointnet2/synthetic/pointnet2-ssg_tap-synthetic-pre_1xb8-2e_synthetic-scanobjectnn.py']),
    ('synthetic/tap_dgcnn_1xb4-2e_synthetic-shapenet55.py',
     ['dgcnn/synthetic/dgcnn_1xb8-2e_synthetic-scanobjectnn.py',
      'dgcnn/synthetic/dgcnn_tap-synthetic-pre_1xb8-2e_synthetic-scanobjectnn.py']),
    ('synthetic/tap_standard-transformer_1xb4-2e_synthetic-shapenet55.py',
     ['standard_transformer/synthetic/standard-transformer_1xb8-2e_synthetic-scanobjectnn.py',
      'standard_transformer/synthetic/standard-transformer_tap-synthetic-pre_1xb8-2e_synthetic-scanobjectnn.py']),
])
def test_pretraining_backbone_fits_its_fine_tuning_configs(tap_cfg, cls_cfgs):
    """Every key of the fine-tuned backbone exists with the same shape in the TAP one."""
    from tap3d.registry import MODELS
    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    def shapes(path):
        cfg = _load(osp.join(REPO, 'configs', path))
        with torch.device('meta'):
            backbone = MODELS.build(cfg.model).backbone
        return {k: tuple(v.shape) for k, v in backbone.state_dict().items()}

    pre = shapes(osp.join('tap', tap_cfg))
    for path in cls_cfgs:
        assert shapes(path) == pre, path
