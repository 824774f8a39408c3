"""Tests for the TAP view losses."""
import pytest
import torch

from tap3d.models.losses import PerceptualLoss, ViewLoss, foreground_mask, view_loss
from tap3d.models.losses.perceptual_loss import vgg16_features
from tap3d.registry import MODELS


def _pair():
    target = torch.ones(2, 3, 3, 8, 8)
    target[..., 2:5, 2:6] = 0.3  # a grey object on white
    pred = torch.full_like(target, 0.5)
    return pred, target


def test_foreground_mask_any_channel():
    y = torch.ones(1, 3, 2, 2)
    y[0, 1, 0, 0] = 0.99  # only one channel below white
    fg = foreground_mask(y)
    assert fg.shape == (1, 1, 2, 2)
    assert fg[0, 0, 0, 0] and fg.sum() == 1
    assert foreground_mask(y, white_threshold=0.95).sum() == 0


def test_view_loss_matches_formula():
    pred, target = _pair()
    loss = ViewLoss(weight_fg=20, weight_bg=1)(pred, target)
    fg = (target < 1).any(dim=-3, keepdim=True).expand_as(target)
    expected = 20 * ((pred[fg] - target[fg])**2).mean() + ((pred[~fg] - target[~fg])**2).mean()
    assert torch.allclose(loss, expected)
    # 0.2^2 * 20 + 0.5^2 * 1
    assert torch.allclose(loss, torch.tensor(20 * 0.04 + 0.25))


def test_view_loss_weights_and_empty_regions():
    pred, target = _pair()
    only_bg = ViewLoss(weight_fg=0, weight_bg=1)(pred, target)
    assert torch.allclose(only_bg, torch.tensor(0.25))
    white = torch.ones_like(target)  # no foreground at all: finite, bg term only
    loss = ViewLoss()(pred, white)
    assert torch.isfinite(loss) and torch.allclose(loss, torch.tensor(0.25))
    black = torch.zeros_like(target)  # no background
    assert torch.allclose(ViewLoss()(pred, black), torch.tensor(20 * 0.25))
    total, mse_fg, mse_bg = view_loss(pred, target)
    assert torch.allclose(mse_fg, torch.tensor(0.04)) and torch.allclose(mse_bg, torch.tensor(0.25))


def test_view_loss_gradient_and_shape_check():
    pred, target = _pair()
    pred.requires_grad_(True)
    ViewLoss()(pred, target).backward()
    assert pred.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='differ in shape'):
        ViewLoss()(pred, target[..., :4])


def test_view_loss_registered():
    loss = MODELS.build(dict(type='ViewLoss', weight_fg=5, white_threshold=0.9))
    assert isinstance(loss, ViewLoss) and loss.weight_fg == 5


def test_vgg16_layout_matches_torchvision_names():
    feats = vgg16_features()
    keys = list(feats.state_dict())
    assert keys[:4] == ['0.weight', '0.bias', '2.weight', '2.bias']
    assert '28.weight' in keys and len(feats) == 30
    assert sum(p.numel() for p in feats.parameters()) == 14_714_688  # VGG16 conv part


def test_perceptual_loss_requires_weights():
    with pytest.raises(ValueError, match='local VGG16'):
        PerceptualLoss()
    missing = PerceptualLoss(weights='/nonexistent/vgg16.pth')  # builds; reads on use
    with pytest.raises(FileNotFoundError, match='/nonexistent/vgg16.pth'):
        missing(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_perceptual_loss_random_and_from_file(tmp_path):
    torch.manual_seed(0)
    loss_fn = PerceptualLoss(random_init=True, layers=('relu1_2', 'relu2_2'))
    x = torch.rand(2, 3, 16, 16)
    assert loss_fn(x, x).item() == pytest.approx(0.0, abs=1e-7)
    y = torch.rand(2, 3, 16, 16, requires_grad=True)
    loss = loss_fn(y, x)
    assert loss.item() > 0
    loss.backward()
    assert y.grad is not None and all(not p.requires_grad for p in loss_fn.parameters())
    # a torchvision-style state dict ('features.<i>.*') loads into a fresh instance
    state = {f'features.{k}': v for k, v in loss_fn.features.state_dict().items()}
    state['classifier.0.weight'] = torch.zeros(1)
    path = tmp_path / 'vgg16.pth'
    torch.save(state, path)
    loaded = PerceptualLoss(weights=str(path), layers=('relu1_2', 'relu2_2'))
    assert torch.allclose(loaded(y, x), loss)
    loaded.train()
    assert not loaded.features.training


def test_view_loss_gradient_matches_masked_means_on_random_views():
    """Per-pixel channel sums give the masked-mean loss and its gradient, any layout."""
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 3, 6, 7, generator=g)
    target[:, :, :, :2] = 1.0  # white rows: background
    pred = torch.rand(6, 3, 6, 7, generator=g).contiguous(memory_format=torch.channels_last)
    pred = pred.view(2, 3, 3, 6, 7).requires_grad_(True)
    loss, mse_fg, mse_bg = ViewLoss(weight_fg=20, weight_bg=1)(pred, target, return_parts=True)
    assert not mse_fg.requires_grad and not mse_bg.requires_grad
    loss.backward()
    fg = (target < 1).any(dim=-3, keepdim=True).expand_as(target)
    ref_pred = pred.detach().clone().requires_grad_(True)
    ref_fg = ((ref_pred[fg] - target[fg])**2).mean()
    ref_bg = ((ref_pred[~fg] - target[~fg])**2).mean()
    (20 * ref_fg + ref_bg).backward()
    assert torch.allclose(loss, 20 * ref_fg + ref_bg)
    assert torch.allclose(mse_fg, ref_fg) and torch.allclose(mse_bg, ref_bg)
    assert torch.allclose(pred.grad, ref_pred.grad, atol=1e-7)
