"""t-SNE picture of backbone features, one panel per checkpoint (like the paper's Fig. 5).

    python tools/analysis/tsne.py CONFIG --checkpoints tap=PATH --out tsne.png

Features are the frozen backbone's ``global_feat`` on the config's test split
(``--split train`` for the training split), coloured by class. A randomly
initialised backbone is shown first unless ``--no-random-init``. Needs
scikit-learn (``pip install scikit-learn``) and matplotlib.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, Optional, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from linear_probe import build_model, build_split_dataset, extract_features, parse_checkpoints  # noqa: E402

__all__ = ['embed_tsne', 'plot_embeddings', 'tsne_figure']


def embed_tsne(feats: np.ndarray, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """(S, G) features -> (S, 2) t-SNE embedding (PCA-initialised, seeded)."""
    try:
        from sklearn.manifold import TSNE
    except ImportError as err:
        raise ImportError('tools/analysis/tsne.py needs scikit-learn: '
                          'pip install scikit-learn') from err
    feats = np.asarray(feats, dtype=np.float64)
    perplexity = min(perplexity, max(1.0, (len(feats) - 1) / 3.0))
    return TSNE(n_components=2, perplexity=perplexity, init='pca', random_state=seed,
                learning_rate='auto').fit_transform(feats)


def plot_embeddings(panels: Dict[str, tuple], class_names: Sequence[str], out: str,
                    dpi: int = 100) -> str:
    """Scatter one (S, 2) embedding per panel, coloured by label; writes a PNG.

    Args:
        panels: ``{title: (embedding (S, 2), labels (S,))}``.
        class_names: legend names.
        out: PNG path.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    n = len(panels)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
    cmap = plt.get_cmap('tab20' if len(class_names) > 10 else 'tab10')
    for ax, (title, (emb, labels)) in zip(axes[0], panels.items()):
        for k, name in enumerate(class_names):
            sel = labels == k
            if sel.any():
                ax.scatter(emb[sel, 0], emb[sel, 1], s=6, color=cmap(k % cmap.N), label=name)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = axes[0][0].get_legend_handles_labels()
    if len(class_names) <= 20:
        fig.legend(handles, names, loc='center right', fontsize=7, markerscale=2)
        fig.subplots_adjust(right=0.84)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out


def tsne_figure(cfg, checkpoints: Dict[str, Optional[str]], out: str, split: str = 'test',
                perplexity: float = 30.0, batch_size: int = 32, device: str = 'cpu',
                seed: int = 0, dpi: int = 100) -> str:
    """Encode ``split`` with each checkpoint's backbone and plot the t-SNE panels."""
    dataset = build_split_dataset(cfg, split)
    panels = {}
    for name, ckpt in checkpoints.items():
        model = build_model(cfg, ckpt, device=device, seed=seed)
        feats, labels = extract_features(model, dataset, batch_size)
        panels[name] = (embed_tsne(feats.numpy(), perplexity, seed), labels.numpy())
    return plot_embeddings(panels, list(dataset.metainfo['classes']), out, dpi)


def main(argv=None):
    parser = argparse.ArgumentParser(description='t-SNE of frozen backbone features')
    parser.add_argument('config')
    parser.add_argument('--checkpoints', nargs='*', default=[], help='NAME=PATH or PATH')
    parser.add_argument('--no-random-init', action='store_true')
    parser.add_argument('--split', default='test', choices=['train', 'test'])
    parser.add_argument('--out', default='tsne.png')
    parser.add_argument('--perplexity', type=float, default=30.0)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dpi', type=int, default=100)
    args = parser.parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    ckpts = parse_checkpoints(args.checkpoints, not args.no_random_init)
    path = tsne_figure(cfg, ckpts, args.out, args.split, args.perplexity, args.batch_size,
                       args.device, args.seed, args.dpi)
    print(f'wrote {path}')


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
