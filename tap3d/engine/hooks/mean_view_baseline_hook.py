"""Give the run's view metrics the mean-view baseline of the training split."""
import copy
import hashlib
import io
import os
import os.path as osp

import numpy as np
from mmengine.dist import broadcast_object_list, get_world_size, is_main_process
from mmengine.hooks import Hook

from tap3d.registry import DATASETS, HOOKS
from tap3d.utils.checkpoint import atomic_write_bytes


def _fingerprint(paths) -> str:
    """sha1 of every image's path, size and modification time."""
    digest = hashlib.sha1()
    for views in paths:
        for path in views:
            st = os.stat(path)
            digest.update(f'{path}\0{st.st_size}\0{st.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


@HOOKS.register_module()
class MeanViewBaselineHook(Hook):
    """Compute the mean training view of each fixed pose for every ``ViewMetric``.

    Before validation and before testing, the hook looks for
    :class:`~tap3d.evaluation.metrics.ViewMetric` objects in the loop's evaluator.
    If there are any, it builds the training dataset of the config
    (``train_dataloader.dataset``), averages its ground-truth images per pose (the
    12 fixed views of ShapeNet55) and hands the (12, H, W, 3) means to the metrics,
    which then report the ``view/baseline_*`` scores beside the model's.

    The means are computed once per run and cached in
    ``{work_dir}/mean_views_{fingerprint}.npz``; the fingerprint covers the images'
    paths, sizes and modification times, so a rewritten dataset is averaged anew. In
    distributed runs the main process computes (or loads) them and broadcasts them.
    A training dataset without fixed poses (no ``mean_views`` method, e.g. scene-level
    TAP, whose views have random azimuths) has no baseline: the hook says so once.

    It does nothing in runs without a ``ViewMetric``, so the default runtime config
    registers it for every config.

    Args:
        max_samples (int, optional): average over at most this many training shapes,
            evenly spaced (None: all). The default, 4096, covers the whole synthetic
            world and bounds the one-off cost on ShapeNet55 (12 JPEG decodes per shape);
            the mean of 4096 shapes estimates that of all to well within 1/255.
    """

    priority = 'NORMAL'

    def __init__(self, max_samples=4096):
        self.max_samples = max_samples
        self._mean_views = None
        self._done = False

    def before_val(self, runner) -> None:
        self._attach(runner, runner.val_loop.evaluator)

    def before_test(self, runner) -> None:
        self._attach(runner, runner.test_loop.evaluator)

    def _attach(self, runner, evaluator) -> None:
        from tap3d.evaluation.metrics import ViewMetric
        metrics = [m for m in getattr(evaluator, 'metrics', []) if isinstance(m, ViewMetric)]
        if not metrics:
            return
        if not self._done:
            self._mean_views = self._compute(runner)
            self._done = True
        if self._mean_views is not None:
            for metric in metrics:
                metric.set_mean_views(self._mean_views)

    def _compute(self, runner):
        """(12, H, W, 3) float64 means, or None without fixed poses (on every rank)."""
        result = [None]
        if is_main_process():
            result[0] = self._compute_main(runner)
        if get_world_size() > 1:
            broadcast_object_list(result, src=0)
        return result[0]

    def _compute_main(self, runner):
        cfg = runner.cfg.get('train_dataloader')
        if not cfg or cfg.get('dataset') is None:
            runner.logger.info('mean-view baseline: the config has no training dataset')
            return None
        dataset = DATASETS.build(copy.deepcopy(cfg['dataset']))
        if not hasattr(dataset, 'mean_views'):
            runner.logger.info(
                f'mean-view baseline: none for {type(dataset).__name__}: its views have no '
                'fixed poses')
            return None
        paths = dataset.fixed_view_paths(self.max_samples)
        cache = osp.join(runner.work_dir, f'mean_views_{_fingerprint(paths)[:16]}.npz')
        if osp.isfile(cache):
            with np.load(cache) as f:
                means = f['mean_views']
            runner.logger.info(f'mean-view baseline: loaded {cache}')
            return means
        means = dataset.mean_views(self.max_samples)
        buffer = io.BytesIO()
        np.savez(buffer, mean_views=means, num_shapes=len(paths))
        atomic_write_bytes(buffer.getvalue(), cache)
        runner.logger.info(f'mean-view baseline: mean of {len(paths)} training shapes per '
                           f'pose, cached in {cache}')
        return means
