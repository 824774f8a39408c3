"""Write ground-truth vs generated view grids during TAP pre-training."""
import os.path as osp

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from tap3d.registry import HOOKS
from tap3d.visualization.image_grid import make_view_grid, save_image


@HOOKS.register_module()
class ViewVisualizationHook(Hook):
    """Every ``interval`` iterations, and after training, draw a fixed set of samples.

    The samples are taken once, before training, from the validation dataset (or
    the training dataset when there is none). The model runs them in
    ``'predict'`` mode (eval mode, no gradients) and the grid (per sample: the
    ground-truth views, then the generated ones) is written to
    ``{work_dir}/{out_dir}/iter_XXXXXX.png`` and sent to the visualizer's
    backends (e.g. TensorBoard) through ``runner.visualizer.add_image``.

    Args:
        interval (int): iterations between two grids.
        num_samples (int): samples drawn (the first ones of the dataset).
        indices (list[int], optional): dataset indices of the samples to draw instead
            (e.g. spread over the categories); those beyond the dataset are skipped.
        source (str): ``'val'`` or ``'train'`` dataset; ``'val'`` falls back to
            ``'train'`` when no validation data is configured.
        out_dir (str): folder under ``work_dir``.
        draw_after_train (bool): also draw once when training ends.
    """

    priority = 'LOW'

    def __init__(self, interval=1000, num_samples=4, source='val', out_dir='vis_views',
                 draw_after_train=True, indices=None):
        if source not in ('val', 'train'):
            raise ValueError(f"ViewVisualizationHook: source must be 'val' or 'train', "
                             f'got {source!r}')
        self.interval = interval
        self.num_samples = num_samples
        self.source = source
        self.out_dir = out_dir
        self.draw_after_train = draw_after_train
        self.indices = None if indices is None else [int(i) for i in indices]
        self._batch = None
        self.last_path = None

    def _dataset(self, runner):
        if self.source == 'val':
            loop = getattr(runner, '_val_loop', None)
            loader = getattr(runner, '_val_dataloader', None)
            if loop is not None or loader is not None:
                try:
                    return runner.val_dataloader.dataset
                except Exception:  # no usable validation config: use training data
                    pass
        return runner.train_dataloader.dataset

    def before_train(self, runner):
        dataset = self._dataset(runner)
        if self.indices is None:
            indices = range(min(self.num_samples, len(dataset)))
        else:
            indices = [i for i in self.indices if 0 <= i < len(dataset)] or [0]
        self._batch = pseudo_collate([dataset[i] for i in indices])

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.every_n_train_iters(runner, self.interval):
            self.draw(runner, runner.iter + 1)  # runner.iter counts from 0 here

    def after_train(self, runner):
        if self.draw_after_train:
            self.draw(runner, runner.iter)

    @torch.no_grad()
    def draw(self, runner, step):
        """Run the fixed samples, write and log the grid at ``step``.

        Returns:
            np.ndarray: the grid (H, W, 3) uint8, or None on non-main processes.
        """
        if self._batch is None or not is_main_process():
            return None
        model = runner.model
        was_training = model.training
        model.eval()
        try:
            preds = model.val_step(self._batch)
        finally:
            model.train(was_training)
        gt = [p.gt_views for p in preds]
        pred = [p.pred_views for p in preds]
        image = make_view_grid(gt, pred)
        self.last_path = osp.join(runner.work_dir, self.out_dir, f'iter_{step:06d}.png')
        save_image(self.last_path, image)
        runner.visualizer.add_image('views', image, step=step)
        return image
