"""Checkpoints that resume exactly and load with ``weights_only=True``.

Two gaps in mmengine's resume are closed here:

* **RNG streams.** mmengine restores weights, optimiser, schedulers and counters,
  but not the random streams that drive dropout, drop-path and main-process data
  augmentation, so a resumed run diverges from an uninterrupted one at its first
  step. The python, numpy and torch (CPU and CUDA) states are stored under
  ``checkpoint['rng_state']`` and restored on resume.
* **Safe loading.** The message hub's ``HistoryBuffer`` objects pickle their
  statistics methods through ``builtins.getattr``, which ``weights_only=True``
  rightly refuses (allow-listing ``getattr`` would re-open arbitrary code
  execution). They are stored as plain arrays instead and rebuilt on load.

Validation also draws from these streams (e.g. the DataLoader's base seed), so the
hook puts the streams back after each validation: training then follows the same
random sequence whether or not, and however often, it is validated. A checkpoint
written *during* validation (mmengine writes ``epoch_K.pth`` again when the best
score improves) stores the streams as training left them, not as validation did.

It also removes the temporary files that a killed checkpoint write leaves behind
(``.<name>.<random>.tmp`` in the work dir, see :func:`tap3d.utils.atomic_write_bytes`).
"""
import glob
import os
import os.path as osp
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from tap3d.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'


def history_buffer_to_plain(buffer: HistoryBuffer) -> dict:
    """A ``HistoryBuffer`` as a dict of arrays that ``weights_only`` accepts."""
    log, count = buffer.data
    return {_BUFFER_TAG: True, 'log_history': np.asarray(log),
            'count_history': np.asarray(count), 'max_length': int(buffer.max_length)}


def plain_to_history_buffer(state: dict) -> HistoryBuffer:
    return HistoryBuffer(state['log_history'], state['count_history'], state['max_length'])


@HOOKS.register_module()
class SafeResumeHook(Hook):
    """Store RNG states and a weights-only-safe message hub in checkpoints."""

    priority = 'VERY_LOW'

    def __init__(self):
        self._train_rng = None  # the training streams, while a validation runs

    def before_run(self, runner) -> None:
        if runner.rank != 0:
            return
        for path in glob.glob(osp.join(runner.work_dir, '.*.tmp')):
            os.remove(path)
            runner.logger.warning(f'removed {path}, left by an interrupted write')

    def before_val(self, runner) -> None:
        self._train_rng = get_rng_state()

    def after_val(self, runner) -> None:
        if self._train_rng is not None:
            set_rng_state(self._train_rng)
            self._train_rng = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is not None:
            hub['log_scalars'] = {
                k: history_buffer_to_plain(v) if isinstance(v, HistoryBuffer) else v
                for k, v in hub.get('log_scalars', {}).items()}
        # inside a validation, store the streams that training continues from
        checkpoint['rng_state'] = self._train_rng or get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if hub is not None:
            hub['log_scalars'] = {
                k: plain_to_history_buffer(v) if isinstance(v, dict) and v.get(_BUFFER_TAG)
                else v for k, v in hub.get('log_scalars', {}).items()}
        state = checkpoint.get('rng_state')
        if state is None or not getattr(runner, '_resume', False):
            return  # fine-tuning from weights keeps its own seeded streams
        set_rng_state(state)


def get_rng_state() -> dict:
    """The python, numpy and torch (CPU, and CUDA when in use) RNG states."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the states returned by :func:`get_rng_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


__all__ = [
    'SafeResumeHook', 'get_rng_state', 'set_rng_state', 'history_buffer_to_plain',
    'plain_to_history_buffer'
]
