"""Confusion matrix of a trained classifier on its config's test split, as a PNG.

    python tools/analysis/confusion_matrix.py CONFIG CHECKPOINT --out cm.png [--vote 10]

Rows are true classes, columns predictions; cells show the row-normalised rate
and the PNG's title carries OA and mAcc. ``--vote N`` evaluates with the model's
test-time voting.
"""
import argparse
import copy
import os
import os.path as osp
import sys
from typing import Sequence

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from linear_probe import _setup, build_split_dataset  # noqa: E402

__all__ = ['confusion_matrix', 'predict_dataset', 'plot_confusion']


def confusion_matrix(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) counts: entry [i, j] = samples of true class i predicted as j."""
    pred, gt = np.asarray(pred).reshape(-1), np.asarray(gt).reshape(-1)
    return np.bincount(gt * num_classes + pred, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


@torch.no_grad()
def predict_dataset(model, dataset, batch_size: int = 32):
    """Run ``model`` in predict mode over ``dataset``; returns (pred (S,), gt (S,))."""
    from mmengine.dataset import pseudo_collate

    from tap3d.models.heads.cls_head import get_gt_labels
    model.eval()
    preds, gts = [], []
    for start in range(0, len(dataset), batch_size):
        batch = pseudo_collate([dataset[i] for i in range(start, min(start + batch_size,
                                                                     len(dataset)))])
        samples = model.test_step(batch)
        preds += [int(s.pred_label) for s in samples]
        gts.append(get_gt_labels(samples))
    return np.asarray(preds), torch.cat(gts).numpy()


def plot_confusion(cm: np.ndarray, class_names: Sequence[str], out: str, title: str = '',
                   dpi: int = 100) -> str:
    """Row-normalised heat map of ``cm`` with class names; writes a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    k = len(class_names)
    rates = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    size = max(4.0, 0.35 * k + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rates, cmap='Blues', vmin=0, vmax=1)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(class_names, rotation=90, fontsize=7)
    ax.set_yticklabels(class_names, fontsize=7)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f'{rates[i, j]:.2f}', ha='center', va='center', fontsize=6,
                            color='white' if rates[i, j] > 0.5 else 'black')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description='Confusion matrix of a classifier')
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='a trained classifier checkpoint')
    parser.add_argument('--out', default='confusion_matrix.png')
    parser.add_argument('--vote', type=int, default=None, help='test-time voting passes')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    from mmengine.config import Config

    from tap3d.evaluation.metrics.accuracy import classification_accuracy
    from tap3d.registry import MODELS
    from tap3d.utils import load_checkpoint_file
    _setup()
    cfg = Config.fromfile(args.config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['backbone'].pop('init_cfg', None)
    if args.vote is not None:
        model_cfg.setdefault('test_cfg', {})['voting'] = args.vote
    model = MODELS.build(model_cfg)
    ckpt = load_checkpoint_file(args.checkpoint)
    model.load_state_dict(ckpt.get('state_dict', ckpt), strict=True)
    model.to(args.device)
    dataset = build_split_dataset(cfg, 'test')
    pred, gt = predict_dataset(model, dataset, args.batch_size)
    names = list(dataset.metainfo['classes'])
    cm = confusion_matrix(pred, gt, len(names))
    acc = classification_accuracy(pred, gt, len(names))
    title = (f"{osp.basename(args.config)}\nOA {acc['overall_acc']:.2f}  "
             f"mAcc {acc['mean_acc']:.2f}")
    print(f'wrote {plot_confusion(cm, names, args.out, title)} ({title.splitlines()[1]})')


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
