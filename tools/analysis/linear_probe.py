"""Linear probe: frozen backbone features + a linear classifier, for several checkpoints.

For each checkpoint (and a randomly initialised backbone) the backbone of the
config's model encodes the train and test splits without augmentation (both use
the test pipeline); a multinomial logistic regression, trained in torch on the
standardised ``global_feat`` vectors, is then scored on the test split::

    python tools/analysis/linear_probe.py \
        configs/pointnet2/pointnet2-ssg_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py \
        --checkpoints tap=work_dirs/tap_pointnet2_1xb32-cosine-100e_shapenet55/epoch_100.pth

Checkpoints may be TAP pre-training or fine-tuning checkpoints: only the keys
under ``backbone.`` are loaded, and every backbone key must be matched.
"""
import argparse
import copy
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

__all__ = ['build_model', 'build_split_dataset', 'extract_features', 'fit_linear',
           'linear_probe', 'format_table']


def _setup():
    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)


def build_model(cfg, checkpoint: Optional[str] = None, prefix: str = 'backbone.',
                device: str = 'cpu', seed: int = 0):
    """Build ``cfg.model`` in eval mode; load ``checkpoint`` into its backbone.

    The backbone's own ``init_cfg`` (a fine-tuning config's pre-trained path) is
    ignored, so ``checkpoint=None`` gives a randomly initialised backbone (seeded).
    """
    from tap3d.registry import MODELS
    _setup()
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['backbone'].pop('init_cfg', None)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    if checkpoint:
        from tap3d.utils.pretrained import load_pretrained
        load_pretrained(model.backbone, checkpoint, prefix=prefix)
    return model.to(device).eval()


def build_split_dataset(cfg, split: str):
    """The config's dataset of ``split`` ('train' or 'test'), with the test pipeline."""
    from tap3d.registry import DATASETS
    _setup()
    test_ds = copy.deepcopy(cfg.val_dataloader.dataset)
    if split == 'test':
        return DATASETS.build(test_ds)
    if split != 'train':
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    train_ds = copy.deepcopy(cfg.train_dataloader.dataset)
    train_ds['pipeline'] = test_ds['pipeline']  # no augmentation for frozen features
    train_ds['test_mode'] = True
    return DATASETS.build(train_ds)


@torch.no_grad()
def extract_features(model, dataset, batch_size: int = 32) -> Tuple[torch.Tensor, torch.Tensor]:
    """Encode every sample of ``dataset`` with the frozen backbone.

    Returns:
        feats (S, G) float32 ``global_feat`` on CPU, labels (S,) long.
    """
    from mmengine.dataset import pseudo_collate

    from tap3d.models.heads.cls_head import get_gt_labels
    model.eval()
    feats, labels = [], []
    for start in range(0, len(dataset), batch_size):
        batch = pseudo_collate([dataset[i] for i in range(start, min(start + batch_size,
                                                                     len(dataset)))])
        data = model.data_preprocessor(batch, False)
        feats.append(model.extract_feat(data['inputs']).float().cpu())
        labels.append(get_gt_labels(data['data_samples']))
    return torch.cat(feats), torch.cat(labels)


def fit_linear(x: torch.Tensor, y: torch.Tensor, num_classes: int, epochs: int = 300,
               lr: float = 0.05, weight_decay: float = 1e-4, seed: int = 0):
    """Fit a multinomial logistic regression on standardised features.

    Args:
        x: (S, G) features; y: (S,) labels in [0, num_classes).
        epochs: full-batch Adam steps; weight_decay: L2 penalty on the weights.

    Returns:
        ``predict(x (S', G)) -> (S',) labels``, a closure holding the fitted layer.
    """
    gen = torch.Generator().manual_seed(seed)
    mean, std = x.mean(0, keepdim=True), x.std(0, keepdim=True).clamp_min(1e-6)
    xs = (x - mean) / std
    weight = (torch.randn(x.shape[1], num_classes, generator=gen) * 0.01).requires_grad_()
    bias = torch.zeros(num_classes, requires_grad=True)
    opt = torch.optim.Adam([weight, bias], lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        loss = F.cross_entropy(xs @ weight + bias, y) + weight_decay * weight.pow(2).sum()
        loss.backward()
        opt.step()
    weight, bias = weight.detach(), bias.detach()

    def predict(x_new: torch.Tensor) -> torch.Tensor:
        return (((x_new - mean) / std) @ weight + bias).argmax(-1)

    return predict


def linear_probe(cfg, checkpoints: Dict[str, Optional[str]], batch_size: int = 32,
                 epochs: int = 300, lr: float = 0.05, weight_decay: float = 1e-4,
                 device: str = 'cpu', seed: int = 0) -> List[dict]:
    """Probe each named checkpoint (None = random init); one result dict per name.

    Each result: ``name``, ``train_acc``, ``test_oa``, ``test_macc`` (percent).
    """
    from tap3d.evaluation.metrics.accuracy import classification_accuracy
    train_ds, test_ds = build_split_dataset(cfg, 'train'), build_split_dataset(cfg, 'test')
    num_classes = len(test_ds.metainfo['classes'])
    results = []
    for name, ckpt in checkpoints.items():
        model = build_model(cfg, ckpt, device=device, seed=seed)
        xtr, ytr = extract_features(model, train_ds, batch_size)
        xte, yte = extract_features(model, test_ds, batch_size)
        predict = fit_linear(xtr, ytr, num_classes, epochs, lr, weight_decay, seed)
        train_acc = 100.0 * float((predict(xtr) == ytr).float().mean())
        acc = classification_accuracy(predict(xte).numpy(), yte.numpy(), num_classes)
        results.append(dict(name=name, checkpoint=ckpt or '-', train_acc=train_acc,
                            test_oa=acc['overall_acc'], test_macc=acc['mean_acc']))
    return results


def format_table(results: Sequence[dict]) -> str:
    """A plain-text table of :func:`linear_probe` results."""
    width = max([len('model')] + [len(r['name']) for r in results])
    lines = [f"{'model':<{width}}  {'train acc':>9}  {'test OA':>8}  {'test mAcc':>9}"]
    lines.append('-' * len(lines[0]))
    for r in results:
        lines.append(f"{r['name']:<{width}}  {r['train_acc']:>9.2f}  {r['test_oa']:>8.2f}  "
                     f"{r['test_macc']:>9.2f}")
    return '\n'.join(lines)


def parse_checkpoints(items: Sequence[str], random_init: bool = True) -> Dict[str, Optional[str]]:
    """``['name=path', 'path']`` -> ordered ``{name: path}``, random init first."""
    out: Dict[str, Optional[str]] = {'random-init': None} if random_init else {}
    for item in items or []:
        name, _, path = item.rpartition('=')
        name = name or osp.splitext(osp.basename(path))[0]
        if not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint not found: {path}')
        out[name] = path
    if not out:
        raise ValueError('nothing to probe: give --checkpoints or drop --no-random-init')
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description='Linear probe of frozen backbone features')
    parser.add_argument('config', help='a classification config (its datasets and model)')
    parser.add_argument('--checkpoints', nargs='*', default=[],
                        help='NAME=PATH or PATH of checkpoints whose backbone to probe')
    parser.add_argument('--no-random-init', action='store_true',
                        help='skip the randomly initialised backbone')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--epochs', type=int, default=300, help='logistic-regression steps')
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--weight-decay', type=float, default=1e-4)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    ckpts = parse_checkpoints(args.checkpoints, not args.no_random_init)
    results = linear_probe(cfg, ckpts, args.batch_size, args.epochs, args.lr,
                           args.weight_decay, args.device, args.seed)
    print(format_table(results))
    return results


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
