"""Write ModelNet40 few-shot folds (Point-BERT protocol) from a ModelNet40 root.

For every setting ``{way}way_{shot}shot`` and fold ``0..num_folds-1``: draw
``way`` classes at random, then for each class ``shot`` training shapes from the
train split and ``num_query`` (20) test shapes from the test split. Each fold is
a pickle ``{'train': [(points (P, 6), label, original_label), ...], 'test': [...]}``
with ``label`` the class's position among the drawn classes and
``original_label`` its ModelNet40 index; points keep the file's axes and are
the first ``num_points`` (8192) lines of each ``modelnet40_normal_resampled``
file. The draw of a fold depends only on (seed, way, shot, fold), so the same
command always writes the same folds.

    python tools/misc/make_fewshot_folds.py data/modelnet40_normal_resampled \
        data/ModelNetFewshot --ways 5 10 --shots 10 20
"""
import argparse
import os.path as osp
import pickle
import sys
from typing import Dict, List, Sequence

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tap3d.datasets.io import DataFileError, atomic_path  # noqa: E402
from tap3d.datasets.modelnet40 import read_modelnet_resampled_index, read_modelnet_txt  # noqa: E402


def draw_fold(train_by_class: Dict[int, List[str]], test_by_class: Dict[int, List[str]],
              way: int, shot: int, fold: int, num_query: int = 20, seed: int = 0):
    """Pick the classes and shapes of one fold.

    Args:
        train_by_class / test_by_class: ModelNet40 label -> list of shape files.
        way, shot, fold, num_query, seed: the setting; the draw depends on them only.

    Returns:
        (train, test): lists of ``(file, label, original_label)``.
    """
    classes = sorted(set(train_by_class) & set(test_by_class))
    if len(classes) < way:
        raise ValueError(f'{way}-way folds need {way} classes with train and test shapes, '
                         f'the root has {len(classes)}')
    rng = np.random.default_rng([seed, way, shot, fold])
    chosen = rng.choice(classes, size=way, replace=False)
    train, test = [], []
    for label, original in enumerate(chosen):
        original = int(original)
        for pool, n, out, name in ((train_by_class[original], shot, train, 'train'),
                                   (test_by_class[original], num_query, test, 'test')):
            if len(pool) < n:
                raise ValueError(f'class {original} has {len(pool)} {name} shapes, '
                                 f'{n} are needed')
            for i in rng.choice(len(pool), size=n, replace=False):
                out.append((pool[int(i)], label, original))
    return train, test


def make_folds(modelnet_root: str, out_root: str, ways: Sequence[int] = (5, 10),
               shots: Sequence[int] = (10, 20), num_folds: int = 10, num_query: int = 20,
               num_points: int = 8192, seed: int = 0, verbose: bool = True) -> List[str]:
    """Write all folds; returns the written paths (see module doc)."""
    indices = {}
    for split in ('train', 'test'):
        _, items = read_modelnet_resampled_index(modelnet_root, split)
        by_class: Dict[int, List[str]] = {}
        for path, label, _ in items:
            by_class.setdefault(label, []).append(path)
        indices[split] = by_class
    cache: Dict[str, np.ndarray] = {}

    def load(path):
        if path not in cache:
            arr = read_modelnet_txt(path, num_points)
            if len(arr) < num_points:
                raise DataFileError(f'{path}: has {len(arr)} points, fewer than '
                                    f'--num-points {num_points}')
            cache[path] = arr
        return cache[path]

    written = []
    for way in ways:
        for shot in shots:
            for fold in range(num_folds):
                train, test = draw_fold(indices['train'], indices['test'], way, shot, fold,
                                        num_query, seed)
                data = {name: [(load(p), label, orig) for p, label, orig in items]
                        for name, items in (('train', train), ('test', test))}
                path = osp.join(out_root, f'{way}way_{shot}shot', f'{fold}.pkl')
                with atomic_path(path) as tmp, open(tmp, 'wb') as f:
                    pickle.dump(data, f, protocol=4)
                written.append(path)
                if verbose:
                    print(f'wrote {path}: {len(train)} train, {len(test)} test')
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('modelnet_root', help='modelnet40_normal_resampled folder')
    parser.add_argument('out_root', help='output ModelNetFewshot folder')
    parser.add_argument('--ways', type=int, nargs='+', default=[5, 10])
    parser.add_argument('--shots', type=int, nargs='+', default=[10, 20])
    parser.add_argument('--folds', type=int, default=10)
    parser.add_argument('--num-query', type=int, default=20, help='test shapes per class')
    parser.add_argument('--num-points', type=int, default=8192)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    make_folds(args.modelnet_root, args.out_root, args.ways, args.shots, args.folds,
               args.num_query, args.num_points, args.seed)


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
