"""Weight decay as the TAP authors apply it, in two parameter groups.

openpoints' optimizer factory (``filter_bias_and_bn=True``, used by every TAP
pre-training and fine-tuning recipe) takes each parameter that is 1-d or named
``*.bias`` (biases, norm weights, the pad token) out of weight decay. mmengine's
``paramwise_cfg=dict(flat_decay_mult=0)`` expresses the same rule but builds one
parameter group per parameter, which defeats the ``foreach`` / fused optimizer kernels
on a GPU (one launch per group instead of a handful per step). This constructor builds
the two groups the authors build.
"""
import inspect
from typing import List

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from tap3d.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ['FilterDecayOptimWrapperConstructor', 'is_decay_exempt']


def is_decay_exempt(name: str, param: nn.Parameter, extra_names=()) -> bool:
    """openpoints' rule: no decay for 1-d parameters and biases (and any name holding
    one of ``extra_names``, e.g. ``('token', )`` as Point-BERT's code)."""
    return param.ndim <= 1 or name.endswith('.bias') or any(k in name for k in extra_names)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FilterDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Two groups: the decayed parameters, and the exempt ones with ``weight_decay=0``.

    ``paramwise_cfg`` may hold ``no_decay_names``: name substrings that are exempt
    too (Point-BERT's few-shot recipe exempts ``token``). Frozen parameters are left
    out, as openpoints does.
    """

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module=None) -> None:
        extra = tuple(self.paramwise_cfg.get('no_decay_names', ()))
        decay, exempt = [], []
        for name, param in module.named_parameters():
            if param.requires_grad:
                (exempt if is_decay_exempt(name, param, extra) else decay).append(param)
        if decay:
            params.append({'params': decay})
        if exempt:
            params.append({'params': exempt, 'weight_decay': 0.0})

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            optimizer_cls = OPTIMIZERS.get(optimizer_cls)
        params: List[dict] = []
        self.add_params(params, model)
        # the optimizer's first argument (``params``, or ``model_params`` for some)
        optimizer_cfg[next(iter(inspect.signature(optimizer_cls).parameters))] = params
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
