"""Stop training at the first non-finite loss, and never save non-finite weights.

Without this, a diverged run (a NaN loss from iteration 2 with a too-large learning
rate) trains on to the end with exit code 0, every later iteration and validation
is NaN, and ``max_keep_ckpts`` replaces every finite checkpoint with NaN ones.
mmengine's ``CheckInvalidLossHook`` checks only every ``interval`` iterations and
says nothing about checkpoints.
"""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tap3d.registry import HOOKS


class NonFiniteError(FloatingPointError):
    """Training produced a non-finite loss, gradient norm or weight."""


def _non_finite_tensors(state_dict: dict, limit: int = 5) -> list:
    """Names of (up to ``limit``) floating-point tensors holding NaN or inf."""
    bad = []
    for name, value in state_dict.items():
        if torch.is_tensor(value) and value.is_floating_point() and \
                not bool(torch.isfinite(value).all()):
            bad.append(name)
            if len(bad) == limit:
                break
    return bad


@HOOKS.register_module()
class FiniteCheckHook(Hook):
    """Check the loss and gradient norm of every training iteration, and the weights
    before every checkpoint.

    - A non-finite loss (or any logged loss term) stops the run with
      :class:`NonFiniteError`, naming the epoch, the iteration, the values and the
      last finite checkpoint.
    - A non-finite gradient norm (logged when ``optim_wrapper.clip_grad`` is set)
      stops it too, except under dynamic loss scaling (``--amp`` on a GPU), where an
      overflowing step is expected and skipped by the scaler.
    - Before a checkpoint is written (and at the end of each training epoch, before
      ``CheckpointHook`` rotates old checkpoints away), every floating-point weight
      must be finite; otherwise the run stops and the last finite checkpoint stays.

    Args:
        check_grad_norm: also check ``train/grad_norm``.
    """

    priority = 'ABOVE_NORMAL'  # before CheckpointHook (VERY_LOW) saves or rotates

    def __init__(self, check_grad_norm: bool = True):
        self.check_grad_norm = check_grad_norm

    @staticmethod
    def _where(runner) -> str:
        last = runner.message_hub.get_info('last_ckpt', None)
        keep = f'the last checkpoint, {last}, is kept' if last else 'no checkpoint was written'
        return f'at epoch {runner.epoch + 1}, iteration {runner.iter + 1}; {keep}'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        values = {k: float(v.detach() if torch.is_tensor(v) else v)
                  for k, v in (outputs or {}).items()
                  if 'loss' in k and (torch.is_tensor(v) or isinstance(v, float))}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            terms = ', '.join(f'{k}={v}' for k, v in values.items())
            raise NonFiniteError(
                f'non-finite training loss ({terms}) {self._where(runner)}. Lower the '
                'learning rate, add gradient clipping (optim_wrapper.clip_grad) or check '
                'the input data')
        if self.check_grad_norm and not self._loss_scaled(runner):
            scalars = runner.message_hub.log_scalars
            if 'train/grad_norm' in scalars:
                norm = float(scalars['train/grad_norm'].current())
                if not math.isfinite(norm):
                    raise NonFiniteError(
                        f'non-finite gradient norm ({norm}) {self._where(runner)}. Lower '
                        'the learning rate or check the input data')

    def after_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._check_weights(runner, model.state_dict())

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self._check_weights(runner, checkpoint.get('state_dict', {}))

    def _check_weights(self, runner, state_dict: dict) -> None:
        bad = _non_finite_tensors(state_dict)
        if bad:
            raise NonFiniteError(
                f'the model holds non-finite weights ({", ".join(bad)}) '
                f'{self._where(runner)}; refusing to save them. Lower the learning rate '
                'or add gradient clipping (optim_wrapper.clip_grad)')

    @staticmethod
    def _loss_scaled(runner) -> bool:
        scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
        return scaler is not None and getattr(scaler, 'is_enabled', lambda: False)()


__all__ = ['FiniteCheckHook', 'NonFiniteError']
