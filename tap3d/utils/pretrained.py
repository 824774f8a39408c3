"""Checked loading of weights: whole models, and backbones from pre-training.

:func:`load_model_weights` loads a model's full checkpoint strictly (evaluation,
visualisation, ``load_from``, resume): a checkpoint of another model fails.

mmengine's own ``Pretrained`` loads with ``strict=False`` and only logs mismatches,
so a transfer that silently matched nothing looks like success. tap3d's configs use
``init_cfg=dict(type='CheckedPretrained', ...)``, which builds
:class:`CheckedPretrainedInit`; :func:`tap3d.models.utils.build_backbone` refuses
mmengine's ``type='Pretrained'`` on a backbone. It loads the checkpoint with
``weights_only=True`` and

- raises if no key matched, or if any tensor shape differs;
- raises if a key of the module is missing from the checkpoint, unless
  ``allow_missing=True`` (then it warns);
- warns about unexpected checkpoint keys under the prefix;
- stores the report on ``module.pretrained_report`` for tests and tools.
"""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.logging import print_log

from tap3d.registry import WEIGHT_INITIALIZERS
from tap3d.utils.checkpoint import load_checkpoint_file


def match_state_dict(module: nn.Module, state_dict: dict) -> dict:
    """Compare ``state_dict`` with ``module``'s own.

    Returns:
        dict with sorted lists ``matched``, ``missing`` (module keys absent from
        ``state_dict``), ``unexpected`` and ``shape_mismatch``
        (``(key, ckpt_shape, model_shape)`` tuples).
    """
    own = module.state_dict()
    matched, mismatch = [], []
    for key, value in state_dict.items():
        if key in own:
            if tuple(own[key].shape) == tuple(value.shape):
                matched.append(key)
            else:
                mismatch.append((key, tuple(value.shape), tuple(own[key].shape)))
    return dict(
        matched=sorted(matched),
        missing=sorted(k for k in own if k not in state_dict),
        unexpected=sorted(k for k in state_dict if k not in own),
        shape_mismatch=mismatch)


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model it is loaded into."""


def _some(keys: Sequence[str], limit: int = 5) -> str:
    more = f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''
    return ', '.join(keys[:limit]) + more


def load_model_weights(model: nn.Module, filename: str, allow_unexpected: bool = False,
                       map_location='cpu', checkpoint: Optional[dict] = None) -> dict:
    """Load a whole model's weights, strictly, from a tap3d/mmengine checkpoint.

    For evaluation, visualisation, ``load_from`` and resume, a checkpoint of a
    different model must never pass: every key of ``model`` must be in the
    checkpoint with the same shape. Keys the model does not have are refused too,
    unless ``allow_unexpected`` (then they are listed in a warning and ignored).
    A ``module.`` prefix (DDP) on the checkpoint's keys is stripped.

    Args:
        model: the (unwrapped) model.
        filename: the checkpoint's path, quoted in every error.
        allow_unexpected: accept (and ignore) checkpoint keys the model lacks.
        map_location: forwarded to :func:`torch.load`.
        checkpoint: the already loaded checkpoint dict of ``filename``, if any.

    Returns:
        The checkpoint dict.

    Raises:
        CheckpointMismatchError: on a missing key, a shape mismatch, or an
            unexpected key without ``allow_unexpected``.
    """
    if checkpoint is None:
        checkpoint = load_checkpoint_file(filename, map_location=map_location)
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict):
        raise CheckpointMismatchError(f'checkpoint {filename} holds no state dict')
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in state_dict.items()}
    report = match_state_dict(model, state_dict)
    name = type(model).__name__
    if report['shape_mismatch']:
        lines = ', '.join(f'{k}: checkpoint {a} vs model {b}'
                          for k, a, b in report['shape_mismatch'][:5])
        raise CheckpointMismatchError(
            f'checkpoint {filename} does not fit {name}: {len(report["shape_mismatch"])} '
            f'tensors differ in shape ({lines})')
    if report['missing']:
        raise CheckpointMismatchError(
            f'checkpoint {filename} does not fit {name}: {len(report["missing"])} of its '
            f'{len(model.state_dict())} keys are missing ({_some(report["missing"])}); '
            f'the checkpoint holds {len(state_dict)} keys such as '
            f'{_some(sorted(state_dict), 3)}. Was it saved from another model or config?')
    if report['unexpected']:
        msg = (f'checkpoint {filename} holds {len(report["unexpected"])} keys that {name} '
               f'does not have ({_some(report["unexpected"])})')
        if not allow_unexpected:
            raise CheckpointMismatchError(
                msg + '; pass --allow-unexpected-keys (load_cfg.allow_unexpected_keys=True) '
                'to ignore them')
        print_log(msg + '; ignored (allow_unexpected_keys)', logger='current', level=30)
    model.load_state_dict({k: state_dict[k] for k in report['matched']}, strict=True)
    return checkpoint


def load_pretrained(module: nn.Module,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    allow_missing: bool = False,
                    map_location: str = 'cpu',
                    skip_keys: Sequence[str] = ()) -> dict:
    """Load ``checkpoint`` (optionally only keys under ``prefix``) into ``module``.

    Args:
        skip_keys: module keys (after the prefix) that keep their initial value,
            whether or not the checkpoint holds them (e.g. an input layer whose
            width differs between pre-training and fine-tuning).

    Returns:
        The match report of :func:`match_state_dict`, plus ``skipped``.
    """
    skip_keys = tuple(skip_keys)
    unknown = [k for k in skip_keys if k not in module.state_dict()]
    if unknown:
        raise KeyError(f'skip_keys {unknown} are not keys of {type(module).__name__}')
    ckpt = load_checkpoint_file(checkpoint, map_location=map_location)
    state_dict = ckpt.get('state_dict', ckpt)
    if prefix:
        if not prefix.endswith('.'):
            prefix += '.'
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items()
                      if k.startswith(prefix)}
    state_dict = {k: v for k, v in state_dict.items() if k not in skip_keys}
    report = match_state_dict(module, state_dict)
    report['missing'] = [k for k in report['missing'] if k not in skip_keys]
    report['skipped'] = list(skip_keys)
    where = f"{checkpoint} (prefix '{prefix or ''}')"
    if report['shape_mismatch']:
        lines = ', '.join(f'{k}: ckpt {a} vs model {b}'
                          for k, a, b in report['shape_mismatch'][:10])
        raise CheckpointMismatchError(f'checkpoint {where} does not match {type(module).__name__}: '
                           f'{len(report["shape_mismatch"])} shape mismatches: {lines}')
    if not report['matched']:
        sample = list(state_dict)[:5]
        raise CheckpointMismatchError(
            f'checkpoint {where} matched none of the {len(module.state_dict())} keys of '
            f'{type(module).__name__}; checkpoint keys look like {sample}')
    if report['missing']:
        msg = (f'{len(report["missing"])} keys of {type(module).__name__} are not in '
               f'{where}: {report["missing"][:10]}')
        if not allow_missing:
            raise CheckpointMismatchError(msg + ' (set allow_missing=True to accept)')
        print_log(msg, logger='current', level=30)
    if report['unexpected']:
        print_log(f'{len(report["unexpected"])} unexpected keys in {where}: '
                  f'{report["unexpected"][:10]}', logger='current', level=30)
    module.load_state_dict({k: state_dict[k] for k in report['matched']}, strict=False)
    kept = f'; kept fresh: {list(skip_keys)}' if skip_keys else ''
    print_log(f'loaded {len(report["matched"])}/{len(module.state_dict())} keys of '
              f'{type(module).__name__} from {where}{kept}', logger='current')
    return report


@WEIGHT_INITIALIZERS.register_module(name='CheckedPretrained')
class CheckedPretrainedInit:
    """Initialise a module from a checkpoint, checking the key match.

    Args:
        checkpoint: path of the checkpoint.
        prefix: only keys starting with it are loaded (with it stripped),
            e.g. ``'backbone.'`` to take a TAP pre-trained backbone.
        allow_missing: accept module keys that the checkpoint lacks.
        map_location: forwarded to ``torch.load``.
        skip_keys: module keys left at their initial value.
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None,
                 allow_missing: bool = False, map_location: str = 'cpu',
                 skip_keys: Sequence[str] = ()):
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.allow_missing = allow_missing
        self.map_location = map_location
        self.skip_keys = tuple(skip_keys)

    def __call__(self, module: nn.Module) -> None:
        report = load_pretrained(module, self.checkpoint, self.prefix,
                                 self.allow_missing, self.map_location, self.skip_keys)
        module.pretrained_report = report
        if hasattr(module, '_params_init_info'):
            from mmengine.model.weight_init import update_init_info
            update_init_info(module, init_info=f'Pretrained: loaded from {self.checkpoint}')


__all__ = [
    'CheckedPretrainedInit', 'CheckpointMismatchError', 'load_model_weights',
    'load_pretrained', 'match_state_dict'
]
