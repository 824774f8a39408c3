"""Perceptual loss: L2 distance between VGG16 feature maps (Johnson et al., 2016)."""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from tap3d.registry import MODELS

# VGG16 'features' layout (torchvision indices): numbers are conv widths, 'M' max-pools.
VGG16_CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512,
             'M')
# index of the ReLU after each named conv in ``features``
VGG16_LAYERS = {'relu1_2': 3, 'relu2_2': 8, 'relu3_3': 15, 'relu4_3': 22, 'relu5_3': 29}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg16_features(last_index=29):
    """VGG16 ``features`` up to and including module ``last_index``.

    Module indices and parameter names match torchvision's ``vgg16().features``
    (``0.weight``, ``0.bias``, ``2.weight``, ...), so its state dict loads directly.
    """
    layers, in_ch = [], 3
    for v in VGG16_CFG:
        if v == 'M':
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=False)]
            in_ch = v
    return nn.Sequential(*layers[:last_index + 1])


@MODELS.register_module()
class PerceptualLoss(nn.Module):
    """Sum over layers of the MSE between VGG16 features of prediction and target.

    Images in [0, 1] are normalised with the ImageNet mean and std first. The
    network is frozen and kept in eval mode.

    Args:
        weights (str, optional): local path of a torchvision VGG16 state dict
            (keys ``features.<i>.weight``; a bare ``features`` dict with keys
            ``<i>.weight`` works too). Nothing is downloaded. The file is read on
            the first forward (or :meth:`load_weights`), so a config's model
            builds on a machine without it.
        random_init (bool): allow ``weights=None`` with random weights (tests only).
        layers (tuple[str]): feature maps compared, from ``VGG16_LAYERS``.
        loss_weight (float): multiplier (the paper's lambda).
    """

    def __init__(self, weights=None, random_init=False,
                 layers=('relu1_2', 'relu2_2', 'relu3_3', 'relu4_3'), loss_weight=1.0):
        super().__init__()
        unknown = [name for name in layers if name not in VGG16_LAYERS]
        if unknown:
            raise ValueError(f'PerceptualLoss: unknown layers {unknown}; choose from '
                             f'{list(VGG16_LAYERS)}')
        if weights is None and not random_init:
            raise ValueError('PerceptualLoss needs weights=<path to a local VGG16 state dict '
                             '(torchvision key names)>; nothing is downloaded. Pass '
                             'random_init=True only for tests.')
        self.layer_indices = sorted(VGG16_LAYERS[name] for name in layers)
        self.features = vgg16_features(self.layer_indices[-1])
        self.weights = weights
        self._loaded = weights is None
        self.features.requires_grad_(False)
        self.features.eval()
        self.loss_weight = loss_weight
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def load_weights(self):
        """Read the VGG16 weights file given as ``weights`` (once)."""
        if not self._loaded:
            self._load(self.weights)
            self._loaded = True

    def _load(self, path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f'PerceptualLoss: VGG16 weights file {path} does not exist')
        state = torch.load(path, map_location='cpu', weights_only=True)
        if isinstance(state, dict) and 'state_dict' in state:
            state = state['state_dict']
        prefixed = {k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')}
        state = prefixed or state
        wanted = self.features.state_dict().keys()
        missing = [k for k in wanted if k not in state]
        if missing:
            raise KeyError(f'PerceptualLoss: {path} lacks VGG16 keys {missing[:4]}... '
                           '(expected torchvision names such as features.0.weight)')
        self.features.load_state_dict({k: state[k] for k in wanted})

    def train(self, mode=True):
        super().train(mode)
        self.features.eval()  # frozen loss network
        return self

    def extract(self, x):
        """Images (B, 3, H, W) in [0, 1] -> list of the chosen feature maps."""
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        feats = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.layer_indices:
                feats.append(x)
        return feats

    def forward(self, pred, target):
        """pred, target (..., 3, H, W) in [0, 1] -> scalar loss."""
        if pred.shape != target.shape:
            raise ValueError(f'PerceptualLoss: prediction {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ in shape')
        self.load_weights()
        pred = pred.reshape(-1, *pred.shape[-3:])
        target = target.reshape(-1, *target.shape[-3:]).to(pred.dtype)
        loss = pred.new_zeros(())
        with torch.no_grad():
            target_feats = self.extract(target)
        for fp, ft in zip(self.extract(pred), target_feats):
            loss = loss + F.mse_loss(fp, ft)
        return self.loss_weight * loss
