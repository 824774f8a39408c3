"""MLP classification head on a backbone's pooled feature."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from mmengine.structures import BaseDataElement
from torch import nn

from tap3d.registry import MODELS

__all__ = ['ClsHead', 'get_gt_labels']


def get_gt_labels(data_samples: Sequence[BaseDataElement], device=None) -> torch.Tensor:
    """Stack the ``gt_label`` of each data sample.

    Args:
        data_samples: B samples whose ``gt_label`` is an int or a 0-/1-element tensor.
        device: device of the result.

    Returns:
        (B,) long tensor.
    """
    labels = []
    for i, sample in enumerate(data_samples):
        if 'gt_label' not in sample:
            raise KeyError(f'data sample {i} has no gt_label; add it to PackPointInputs '
                           "data_keys=('gt_label',)")
        label = sample.gt_label
        labels.append(int(label.reshape(-1)[0]) if isinstance(label, torch.Tensor) else int(label))
    return torch.tensor(labels, dtype=torch.long, device=device)


@MODELS.register_module()
class ClsHead(BaseModule):
    """``in -> hidden... -> num_classes`` MLP with BN, activation and dropout.

    Hidden layers are ``Linear(bias=False) -> BN -> act -> Dropout``; the bias is
    dropped because BN follows (the TAP authors' head; with 1024 inputs, 15
    classes it has 660,751 parameters, 529,679 for the Transformer's 768).

    Args:
        in_channels: width of the pooled feature.
        num_classes: number of classes.
        hidden_channels: widths of the hidden layers.
        dropout: dropout probability after each hidden layer.
        act: ``'relu'`` or ``'leakyrelu'`` (slope 0.2) or ``'gelu'``.
        norm: use BatchNorm1d in hidden layers (when False, the linears have a bias).
        input_key: key of the backbone output to classify.
        loss: loss config.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 hidden_channels: Sequence[int] = (512, 256),
                 dropout: float = 0.5,
                 act: str = 'relu',
                 norm: bool = True,
                 input_key: str = 'global_feat',
                 loss: dict = dict(type='LabelSmoothingCrossEntropy', smoothing=0.0),
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        acts = {'relu': lambda: nn.ReLU(inplace=True),
                'leakyrelu': lambda: nn.LeakyReLU(0.2, inplace=True),
                'gelu': nn.GELU}
        if act not in acts:
            raise ValueError(f'ClsHead: unknown act {act!r}; choose from {sorted(acts)}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.input_key = input_key
        layers = []
        last = in_channels
        for c in hidden_channels:
            layers.append(nn.Linear(last, c, bias=not norm))
            if norm:
                layers.append(nn.BatchNorm1d(c))
            layers += [acts[act](), nn.Dropout(dropout)]
            last = c
        layers.append(nn.Linear(last, num_classes))
        self.mlp = nn.Sequential(*layers)
        self.loss_module = MODELS.build(loss)

    def forward(self, feats: Union[Dict[str, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Class logits.

        Args:
            feats: a backbone output dict (``feats[input_key]`` is ``(B, in_channels)``)
                or the ``(B, in_channels)`` tensor itself.

        Returns:
            (B, num_classes) logits.
        """
        x = feats[self.input_key] if isinstance(feats, dict) else feats
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f'ClsHead expects ({self.in_channels},)-d features per sample, '
                             f'got {tuple(x.shape)}')
        return self.mlp(x)

    def loss(self, feats, data_samples: List[BaseDataElement]) -> Dict[str, torch.Tensor]:
        """Loss dict ``{'loss': scalar, 'acc': batch accuracy (no grad)}``.

        Args:
            feats: as in :meth:`forward`.
            data_samples: B samples with ``gt_label``.
        """
        target = get_gt_labels(data_samples)  # fail on missing labels before any compute
        logits = self(feats)
        target = target.to(logits.device)
        loss = self.loss_module(logits, target)
        with torch.no_grad():
            acc = (logits.argmax(dim=-1) == target).float().mean()
        return dict(loss=loss, acc=acc)
