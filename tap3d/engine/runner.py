"""tap3d's runner: mmengine's ``Runner`` with loading that cannot go wrong silently.

mmengine loads ``load_from`` (and the checkpoint of ``tools/test.py``) with
``strict=False``: a checkpoint of another model only logs a warning, and the run
evaluates or trains a randomly initialised model with exit code 0. Here

- every load (``load_from``, test, resume) is strict
  (:func:`tap3d.utils.pretrained.load_model_weights`): a missing key or a shape
  mismatch stops the run with one line naming the file; keys the model lacks are
  refused too unless ``load_cfg = dict(allow_unexpected_keys=True)``
  (``--allow-unexpected-keys`` in the tools);
- a checkpoint that cannot be read is reported with its path;
- ``--resume`` without a path falls back to the newest *readable* checkpoint of
  the work dir when the latest one is damaged, and says so.

Configs select it with ``runner_type = 'Tap3DRunner'`` (set in
``configs/_base_/default_runtime.py``); build it with :func:`build_runner`.
"""
import glob
import os.path as osp
import re
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from tap3d.registry import RUNNERS
from tap3d.utils.checkpoint import load_checkpoint_file
from tap3d.utils.pretrained import load_model_weights

_CKPT_STEP = re.compile(r'^(epoch|iter)_(\d+)\.pth$')


@RUNNERS.register_module()
class Tap3DRunner(Runner):
    """mmengine's ``Runner`` with strict, checked checkpoint loading.

    Reads ``cfg.load_cfg.allow_unexpected_keys`` (default False) from its config.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        load_cfg = self.cfg.get('load_cfg', None) or {}
        self.allow_unexpected_keys = bool(load_cfg.get('allow_unexpected_keys', False))
        self._preloaded = None  # (path, checkpoint) read while choosing what to resume

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = True,
                        revise_keys: Optional[list] = None) -> dict:
        """Load ``filename`` into the model, strictly; returns the checkpoint dict.

        ``strict`` and ``revise_keys`` are accepted for mmengine's signature only:
        loading is always strict, and a DDP ``module.`` prefix is always stripped.
        """
        if self._preloaded is not None and self._preloaded[0] == filename:
            checkpoint = self._preloaded[1]
            self._preloaded = None
        else:
            checkpoint = load_checkpoint_file(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        load_model_weights(model, filename, allow_unexpected=self.allow_unexpected_keys,
                           checkpoint=checkpoint)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    def load_or_resume(self) -> None:
        """mmengine's, except that auto-resume skips unreadable checkpoints."""
        if self._has_loaded:
            return
        if self._resume and self._load_from is None:
            resume_from = self._newest_readable_checkpoint()
            if resume_from is None:
                self.logger.info(f'--resume: no checkpoint in {self.work_dir}; '
                                 'training starts from the beginning')
                return
            self.logger.info(f'Auto resumed from the latest checkpoint {resume_from}.')
            self.resume(resume_from)
            self._has_loaded = True
            return
        super().load_or_resume()

    def _newest_readable_checkpoint(self) -> Optional[str]:
        """The checkpoint named in ``last_checkpoint``, or the newest one that loads."""
        candidates = []
        latest = find_latest_checkpoint(self.work_dir)
        if latest:
            candidates.append(latest)
        steps = []
        for path in glob.glob(osp.join(self.work_dir, '*.pth')):
            match = _CKPT_STEP.match(osp.basename(path))
            if match:
                steps.append((int(match.group(2)), path))
        candidates += [p for _, p in sorted(steps, reverse=True) if p not in candidates]
        for path in candidates:
            try:
                checkpoint = load_checkpoint_file(path, map_location='cpu')
            except (FileNotFoundError, RuntimeError) as err:
                print_log(f'--resume: cannot use {path} ({str(err).splitlines()[0]}); '
                          'trying the previous checkpoint', logger='current', level=30)
                continue
            if path != candidates[0]:
                print_log(f'--resume: the latest checkpoint {candidates[0]} is unreadable; '
                          f'resuming from {path} instead', logger='current', level=30)
            self._preloaded = (path, checkpoint)
            return path
        if candidates:
            raise RuntimeError(f'--resume: none of the {len(candidates)} checkpoints in '
                               f'{self.work_dir} can be read (latest: {candidates[0]})')
        return None


def build_runner(cfg: Config) -> Runner:
    """Build the runner a config asks for (``runner_type``, default ``Tap3DRunner``)."""
    cfg = cfg.copy()
    cfg.setdefault('runner_type', 'Tap3DRunner')
    return RUNNERS.build(cfg)


__all__ = ['Tap3DRunner', 'build_runner']
