"""Build a model's backbone so that its ``init_cfg`` is never dropped silently.

mmengine runs an ``init_cfg`` only for ``BaseModule`` subclasses that pass it to
``BaseModule.__init__``. A backbone written as a plain ``nn.Module`` (as
``docs/new_backbone.md`` allows) would ignore
``init_cfg=dict(type='CheckedPretrained', ...)`` and fine-tuning would run on random
weights with exit code 0, even for a checkpoint path that does not exist.
:func:`build_backbone` closes that gap for every model that owns a backbone:

- a ``BaseModule`` backbone must keep the ``init_cfg`` it was given (a constructor
  that swallows it is refused);
- mmengine's ``Pretrained`` (``strict=False``) is refused: use ``CheckedPretrained``;
- a plain ``nn.Module`` gets ``CheckedPretrained`` (or a preset of it) applied when
  its owner's ``init_weights`` runs; any other ``init_cfg`` type is refused, since
  only ``BaseModule`` can run mmengine's initialisers.
"""
import copy
import functools
import inspect

import torch.nn as nn
from mmengine.model import BaseModule

from tap3d.registry import MODELS, WEIGHT_INITIALIZERS


def _registered_class(cfg: dict):
    cls = cfg.get('type')
    if inspect.isclass(cls):
        return cls
    return MODELS.get(cls)


def build_backbone(cfg: dict) -> nn.Module:
    """``MODELS.build(cfg)`` that honours (or refuses) ``cfg['init_cfg']``.

    Args:
        cfg: the backbone's config dict.

    Returns:
        The backbone module.

    Raises:
        TypeError: for an ``init_cfg`` the backbone cannot honour.
    """
    init_cfg = cfg.get('init_cfg') if isinstance(cfg, dict) else None
    if not init_cfg:
        return MODELS.build(cfg)
    init_cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    if any(item.get('type') in ('Pretrained', 'mmengine.Pretrained') for item in init_cfgs):
        raise TypeError(
            f"backbone {cfg.get('type')}: init_cfg type 'Pretrained' is mmengine's loader, "
            "which accepts a checkpoint that does not fit (strict=False); use "
            "type='CheckedPretrained' (same arguments, every key checked)")
    cls = _registered_class(cfg)
    if cls is not None and issubclass(cls, BaseModule):
        module = MODELS.build(cfg)
        if not getattr(module, 'init_cfg', None):
            raise TypeError(
                f'backbone {cls.__name__} was given init_cfg={dict(init_cfg)} but did not pass '
                'it on to BaseModule.__init__ (call super().__init__(init_cfg=init_cfg)), so '
                'it would be ignored')
        return module
    # a plain nn.Module: the owner applies a CheckedPretrained init_cfg itself
    name = cls.__name__ if cls is not None else cfg.get('type')
    for item in init_cfgs:
        if not _is_checked_pretrained(item.get('type')):
            raise TypeError(
                f"backbone {name} is a plain nn.Module, which cannot run init_cfg type "
                f"{item.get('type')!r}; derive it from mmengine.model.BaseModule and pass "
                'init_cfg to super().__init__(), or use type=\'Pretrained\'')
    cfg = copy.copy(cfg)
    cfg.pop('init_cfg')
    module = MODELS.build(cfg)
    # the owner's BaseModule.init_weights calls `init_weights` of each child that has one
    module.init_weights = functools.partial(_run_pretrained, module, list(init_cfgs))
    return module


def _is_checked_pretrained(init_type) -> bool:
    from tap3d.utils.pretrained import CheckedPretrainedInit
    cls = init_type if inspect.isclass(init_type) else WEIGHT_INITIALIZERS.get(init_type)
    return cls is not None and issubclass(cls, CheckedPretrainedInit)


def _run_pretrained(module: nn.Module, init_cfgs: list) -> None:
    """``init_weights`` of a plain ``nn.Module``: load its ``CheckedPretrained`` configs."""
    for cfg in init_cfgs:
        WEIGHT_INITIALIZERS.build(dict(cfg))(module)
    module.is_init = True


__all__ = ['build_backbone']
