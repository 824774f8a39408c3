"""Which parameters each real config decays, against the rule of the recipe's authors.

The optimizer is built exactly as training builds it (``build_optim_wrapper`` on the
config's model and ``optim_wrapper``), and every parameter's weight decay is read
back from its param group. The expected rule comes from the code the recipe
reproduces:

- ``openpoints``: the TAP authors' optimizer factory (openpoints
  ``build_optimizer_from_cfg`` with ``filter_bias_and_bn=True``, no model defines
  ``no_weight_decay``): no decay when ``param.ndim <= 1`` or the name ends in
  ``.bias``. TAP pre-training (all backbones) and the TAP fine-tuning recipes
  (ScanObjectNN, ModelNet40 with AdamW, ShapeNetPart) use it.
- ``point-bert``: Point-BERT's ``add_weight_decay`` (its few-shot recipe): the
  same plus every name containing ``token``.
- ``all``: every parameter is decayed: 3DETR (``filter_biases_wd`` off in its
  ScanNet scripts), Pointcept (PTv2, SpUNet: no ``param_dicts``) and PointMLP's
  SGD ModelNet40 code (``SGD(net.parameters(), weight_decay=...)``).

Models are built on the ``meta`` device where they allow it (no memory, no
initialisation); the decision depends only on names, shapes and module types.
"""
import glob
import logging
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper

from tap3d.registry import MODELS
from tap3d.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    + glob.glob(osp.join(ROOT, 'projects', '*', 'configs', '*.py'))
    if '_base_' not in p)


def authors_rule(cfg) -> str:
    """The weight-decay rule of the code that a config's recipe reproduces."""
    model, optimizer = cfg.model.type, cfg.optim_wrapper.optimizer.type
    if model == 'TAPPretrainer':
        return 'openpoints'
    if optimizer == 'SGD' or model in ('ThreeDETR', 'SceneSegmentor'):
        return 'all'
    dataset = cfg.get('train_dataloader', {}).get('dataset', {}).get('type', '')
    if 'FewShot' in str(dataset):
        return 'point-bert'
    return 'openpoints'


def not_decayed(rule: str, name: str, param: torch.Tensor) -> bool:
    if rule == 'all':
        return False
    exempt = param.ndim <= 1 or name.endswith('.bias')
    if rule == 'point-bert':
        exempt = exempt or 'token' in name
    return exempt


_BUILT = {}


def _optimizer_groups(cfg):
    """``{param name: (param, weight decay)}`` of the optimizer that training builds,
    and the optimizer's default weight decay."""
    key = (str(cfg.model.to_dict()), str(cfg.optim_wrapper.to_dict()))
    if key not in _BUILT:
        register_all_modules()
        try:
            with torch.device('meta'):
                model = MODELS.build(cfg.model)
        except (NotImplementedError, RuntimeError):  # a constructor reads tensor values
            model = MODELS.build(cfg.model)
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.ERROR)  # one log line per parameter otherwise
        try:
            wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        finally:
            logger.setLevel(level)
        default = wrapper.optimizer.defaults['weight_decay']
        decay = {}
        for group in wrapper.optimizer.param_groups:
            for p in group['params']:
                decay[id(p)] = group.get('weight_decay', default)
        # frozen parameters (e.g. a perceptual loss's VGG) are not optimised at all
        _BUILT[key] = ({n: (p, decay[id(p)]) for n, p in model.named_parameters()
                        if p.requires_grad}, default)
    return _BUILT[key]


@pytest.mark.parametrize('config', CONFIGS)
def test_weight_decay_follows_the_authors(config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    if 'optim_wrapper' not in cfg or 'model' not in cfg:
        pytest.skip('no training schedule')
    base = cfg.optim_wrapper.optimizer.get('weight_decay', 0)
    if not base:
        pytest.skip('no weight decay')
    rule = authors_rule(cfg)
    params, default = _optimizer_groups(cfg)
    assert default == base
    wrong = [(n, tuple(p.shape), wd) for n, (p, wd) in params.items()
             if wd != (0.0 if not_decayed(rule, n, p) else base)]
    assert not wrong, f'{config} ({rule} rule, weight decay {base}): {wrong[:5]}'
    # the rule has both kinds wherever it exempts anything
    exempt = [n for n, (p, _) in params.items() if not_decayed(rule, n, p)]
    if rule != 'all':
        assert exempt and len(exempt) < len(params)


def test_rules_cover_the_parameters_that_differ():
    """The cases the rules hinge on are present and decided as the authors do: the
    Transformer's class token (3-d, decayed by openpoints, not by Point-BERT), the
    PointMLP affine maps (4-d, decayed) and the TAP pad token (1-d, not decayed)."""
    cases = {
        'configs/standard_transformer/standard-transformer_1xb32-adamw-cosine-300e_'
        'scanobjectnn-hardest.py': {'backbone.cls_token': 0.05},
        'configs/standard_transformer/synthetic/standard-transformer_1xb5-2e_synthetic-'
        'fewshot-5way-2shot.py': {'backbone.cls_token': 0.0, 'backbone.cls_pos': 0.05},
        'configs/tap/tap_pointmlp_1xb32-cosine-100e_shapenet55.py': {
            'backbone.local_grouper_list.0.affine_alpha': 0.05, 'head.pad_token': 0.0,
            'head.blocks.0.norm1.weight': 0.0, 'head.blocks.0.self_attn.to_q.weight': 0.05},
        'configs/3detr/3detr-m_1xb8-1080e_scannet.py': {'backbone.layers.0.norm1.bias': 0.1},
    }
    for config, expected in cases.items():
        params, _ = _optimizer_groups(Config.fromfile(osp.join(ROOT, config)))
        assert {n: params[n][1] for n in expected} == expected, config


def test_filter_decay_builds_two_groups_without_frozen_parameters():
    """Two groups, as the authors' factory builds: one per decay, so that the foreach
    optimizer kernels see two tensor lists; frozen parameters are left out."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/tap/tap_pointmlp_1xb32-cosine-100e_shapenet55.py'))
    register_all_modules()
    model = MODELS.build(cfg.model)
    model.backbone.embedding.requires_grad_(False)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    groups = wrapper.optimizer.param_groups
    assert [g['weight_decay'] for g in groups] == [0.05, 0.0]
    in_groups = {id(p) for g in groups for p in g['params']}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert in_groups == trainable
    assert not any(id(p) in in_groups for p in model.backbone.embedding.parameters())
