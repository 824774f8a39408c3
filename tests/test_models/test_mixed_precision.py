"""Every model's training step under CPU bf16 autocast, against float32.

One training step (train mode, dropout on) runs under
``torch.autocast('cpu', dtype=torch.bfloat16)``, what ``AmpOptimWrapper`` does
on a CPU-only machine: every loss term must be a finite float32 scalar (losses
are computed in float32), every gradient finite, and the same parameters must
get gradients as in float32. Then, with dropout off (float32 and bf16 tensors
draw different masks), the same weights and inputs run in float32 and in bf16:
the losses must agree within the stated relative tolerance. bf16 keeps 8
significant bits (a relative error of about 0.4 % per op); at random init,
batch-statistics BN over a 3-shape batch amplifies it in the classifiers
(measured up to 6 % for DGCNN, whose kNN graph is built on bf16-rounded
features), while the losses averaged over many points, pixels or queries
(TAP, part segmentation, 3DETR, PTv2) agree within 0.5 %.
"""
import copy
import importlib.util
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import BaseDataElement

from tap3d.registry import MODELS
from tap3d.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSIFIER_RTOL, DENSE_RTOL = 0.10, 0.02  # |loss_bf16 - loss_fp32| <= rtol * |loss_fp32|
register_all_modules()


def _benchmark():
    path = osp.join(REPO, 'tools', 'analysis', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('benchmark_tool_amp', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _partseg_batch(batch, num_points):
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(batch, num_points, 3, generator=g) * 2 - 1
    nrm = torch.nn.functional.normalize(torch.randn(batch, num_points, 3, generator=g), dim=-1)
    samples = [BaseDataElement(gt_label=torch.tensor([c]),
                               gt_part_labels=torch.randint(0, 50, (num_points, ), generator=g))
               for c in (11, 0, 5, 15)[:batch]]
    return dict(coord=pts, feat=torch.cat([pts, nrm], -1)), samples


# config, points per cloud (or scene), batch size, loss tolerance
CASES = [
    ('tap/synthetic/tap_pointmlp_synthetic-cpu.py', 512, 2, DENSE_RTOL),
    ('pointmlp/synthetic/pointmlp_1xb8-2e_synthetic-scanobjectnn.py', 512, 3, CLASSIFIER_RTOL),
    ('pointnet2/synthetic/pointnet2-ssg_1xb8-2e_synthetic-scanobjectnn.py', 512, 3,
     CLASSIFIER_RTOL),
    ('dgcnn/synthetic/dgcnn_1xb8-2e_synthetic-scanobjectnn.py', 256, 3, CLASSIFIER_RTOL),
    ('standard_transformer/synthetic/standard-transformer_1xb8-2e_synthetic-scanobjectnn.py',
     512, 3, CLASSIFIER_RTOL),
    ('pointmlp/synthetic/pointmlp-partseg_1xb8-2e_synthetic-shapenetpart.py', 256, 2,
     DENSE_RTOL),
    ('3detr/synthetic/3detr-m_1xb2-4e_synthetic-scannet.py', 2000, 2, DENSE_RTOL),
    ('ptv2/synthetic/ptv2m2_1xb2-2e_synthetic-scannet.py', 2000, 2, DENSE_RTOL),
]


def _step(model, inputs, samples, amp):
    """Loss terms, total loss and gradients of one training step."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
        losses = model(inputs, samples, mode='loss')
        terms = {k: v for k, v in losses.items() if k.startswith('loss')}
        loss = sum(terms.values())
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return terms, loss.detach(), grads


@pytest.mark.parametrize('config,num_points,batch,rtol', CASES,
                         ids=[c[0].split('/')[0] for c in CASES])
def test_training_step_under_bf16_autocast(config, num_points, batch, rtol, one_thread):
    cfg = Config.fromfile(osp.join(REPO, 'configs', config))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('init_cfg', None)
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg['backbone'].pop('init_cfg', None)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).train()
    if type(model).__name__ == 'PartSegmentor':
        inputs, samples = _partseg_batch(batch, num_points)
    else:
        inputs, samples = _benchmark().synthetic_batch(model, cfg, batch, num_points, 'cpu')
    # a real training step under autocast, dropout on
    terms, loss16, grads16 = _step(model, inputs, samples, amp=True)
    for name, term in terms.items():
        assert term.dtype == torch.float32 and term.dim() == 0, (name, term.dtype)
    assert torch.isfinite(loss16)
    bad = [n for n, g in grads16.items() if not torch.isfinite(g).all()]
    assert not bad, f'non-finite bf16 gradients: {bad[:5]}'
    _, loss32, grads32 = _step(model, inputs, samples, amp=False)
    assert grads16.keys() == grads32.keys() and len(grads16) > 0
    # the same function in float32 and bf16: dropout off
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    loss32 = _step(model, inputs, samples, amp=False)[1]
    loss16 = _step(model, inputs, samples, amp=True)[1]
    assert abs(loss16 - loss32) <= rtol * abs(loss32), (float(loss32), float(loss16))
