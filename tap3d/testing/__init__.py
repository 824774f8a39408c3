"""Helpers shared by tap3d's tests (and useful to a new backbone's own tests).

- :func:`count_parameters`: the parameter count the tests compare with the authors'.
- :func:`object_batch`: a random object batch in the stack form the preprocessor makes.
- :func:`check_backbone_contract`: run a backbone and check the contract of
  ``docs/architecture.md`` (shapes, finite values, gradients reaching the weights).
- :func:`expect_file_error`: write a small file and check that a reader refuses it with
  a :class:`~tap3d.datasets.io.DataFileError` naming it.
"""
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn

__all__ = ['count_parameters', 'object_batch', 'check_backbone_contract', 'expect_file_error']


def count_parameters(module: nn.Module) -> int:
    """Number of parameters of ``module`` (trainable or not)."""
    return sum(p.numel() for p in module.parameters())


def object_batch(batch: int = 2, num_points: int = 64, height: bool = True,
                 seed: int = 0) -> Dict[str, torch.Tensor]:
    """``coord (B, N, 3)`` in [0, 1) and ``feat``: xyz + height (4) or xyz (3)."""
    gen = torch.Generator().manual_seed(seed)
    coord = torch.rand(batch, num_points, 3, generator=gen)
    feat = torch.cat([coord, coord[..., 2:] - coord[..., 2:].amin(1, keepdim=True)], -1) \
        if height else coord.clone()
    return dict(coord=coord, feat=feat)


def check_backbone_contract(model: nn.Module, inputs: Dict[str, torch.Tensor],
                            num_tokens: int, channels: int,
                            global_channels: Optional[int] = None) -> dict:
    """Run ``model(inputs)`` and check the backbone contract; return its output.

    Checks ``coords (B, M, 3)`` and ``feats (B, M, C)`` (and ``global_feat (B, G)``
    when ``global_channels`` is given) for the expected M, C and G, that every value
    is finite, and that a backward pass from the outputs reaches every parameter that
    the outputs use.
    """
    batch = inputs['coord'].shape[0]
    out = model(inputs)
    assert out['coords'].shape == (batch, num_tokens, 3), out['coords'].shape
    assert out['feats'].shape == (batch, num_tokens, channels), out['feats'].shape
    loss = out['feats'].sum()
    if global_channels is not None:
        assert out['global_feat'].shape == (batch, global_channels), out['global_feat'].shape
        loss = loss + out['global_feat'].sum()
    for key in ('coords', 'feats', 'global_feat'):
        if key in out:
            assert torch.isfinite(out[key]).all(), f'{key} is not finite'
    model.zero_grad()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and any(g is not None and g.abs().sum() > 0 for g in grads), \
        'no gradient reached the weights'
    return out


def expect_file_error(reader: Callable[[str], object], path: str, content: str,
                      match: str) -> None:
    """Write ``content`` to ``path``; ``reader(path)`` must raise a ``DataFileError``
    whose message names the file and matches the regular expression ``match``."""
    import os.path as osp
    import re

    from tap3d.datasets.io import DataFileError
    with open(path, 'w') as f:
        f.write(content)
    try:
        reader(path)
    except DataFileError as err:
        message = str(err)
        assert osp.basename(path) in message, f'the message does not name the file: {message}'
        assert re.search(match, message), f'{match!r} not in: {message}'
        return
    raise AssertionError(f'{reader.__name__} accepted {path}: {content!r}')
