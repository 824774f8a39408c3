"""Foreground/background-weighted MSE between generated and ground-truth views."""
import torch
import torch.nn as nn

from tap3d.registry import MODELS


def foreground_mask(target, white_threshold=1.0):
    """Pixels where any channel is below ``white_threshold`` (not white).

    target (..., 3, H, W) in [0, 1] -> mask (..., 1, H, W) bool.
    """
    return (target < white_threshold).any(dim=-3, keepdim=True)


def view_loss(pred, target, weight_fg=20.0, weight_bg=1.0, white_threshold=1.0):
    """``w_fg * MSE(pred[fg], target[fg]) + w_bg * MSE(pred[bg], target[bg])`` (docs/tap.md §10).

    The MSEs average over all foreground (background) pixels and channels of the
    whole batch; an empty region contributes 0. Half-precision predictions
    (autocast) are upcast: the loss is computed in float32.

    Args:
        pred (Tensor): (..., 3, H, W) generated views in [0, 1].
        target (Tensor): (..., 3, H, W) ground truth in [0, 1].

    Returns:
        tuple: total loss (scalar), foreground MSE, background MSE.
    """
    if pred.shape != target.shape:
        raise ValueError(f'view_loss: prediction {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} differ in shape')
    if pred.dtype in (torch.float16, torch.bfloat16):  # autocast: the sums in float32
        pred = pred.float()
    target = target.to(pred.dtype)
    fg = foreground_mask(target, white_threshold)  # (..., 1, H, W)
    # squared error summed over the channels, one value per pixel: the masks then
    # act on a third of the elements, and the background sum is total - foreground
    sq = (pred - target).square().sum(dim=-3, keepdim=True)
    channels = target.shape[-3]
    n_fg = fg.sum() * channels
    n_bg = fg.numel() * channels - n_fg
    sum_fg = (sq * fg).sum()
    mse_fg = sum_fg / n_fg.clamp(min=1)
    mse_bg = (sq.sum() - sum_fg) / n_bg.clamp(min=1)
    return weight_fg * mse_fg + weight_bg * mse_bg, mse_fg, mse_bg


@MODELS.register_module()
class ViewLoss(nn.Module):
    """Module form of :func:`view_loss`.

    Args:
        weight_fg (float): foreground weight (paper: 20).
        weight_bg (float): background weight (paper: 1).
        white_threshold (float): a pixel is foreground when any channel is below it
            (1.0 = not pure white, the paper's rule; JPEG ground truth may want 0.95).
        loss_weight (float): overall multiplier.
    """

    def __init__(self, weight_fg=20.0, weight_bg=1.0, white_threshold=1.0, loss_weight=1.0):
        super().__init__()
        self.weight_fg = weight_fg
        self.weight_bg = weight_bg
        self.white_threshold = white_threshold
        self.loss_weight = loss_weight

    def forward(self, pred, target, return_parts=False):
        """pred, target (..., 3, H, W) -> scalar loss.

        With ``return_parts``: (loss, foreground MSE, background MSE), the MSEs
        detached (for logging without computing the loss twice).
        """
        loss, mse_fg, mse_bg = view_loss(pred, target, self.weight_fg, self.weight_bg,
                                         self.white_threshold)
        if return_parts:
            return self.loss_weight * loss, mse_fg.detach(), mse_bg.detach()
        return self.loss_weight * loss
