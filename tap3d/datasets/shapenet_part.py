"""ShapeNetPart (Yi et al., 2016) part segmentation: 16 categories, 50 parts.

The normal benchmark layout (``shapenetcore_partanno_segmentation_benchmark_v0_normal``)::

    synsetoffset2category.txt                          "Airplane<TAB>02691156" per line
    train_test_split/shuffled_{train,val,test}_file_list.json
                                                       ["shape_data/<synset>/<token>", ...]
    <synset>/<token>.txt                               lines "x y z nx ny nz part" (part 0..49)

Files are y-up; by default points and normals are permuted to tap3d's z-up frame
``(x, y, z) <- (z, x, y)``, the frame TAP pre-trains in.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from tap3d.registry import DATASETS

from .io import MIN_POINTS, DataFileError, check_point_count, padding_indices

__all__ = [
    'ShapeNetPartDataset', 'SHAPENETPART_CATEGORIES', 'SHAPENETPART_PART_RANGES',
    'SHAPENETPART_NUM_PARTS', 'read_shapenetpart_txt', 'read_synset_categories',
    'category_part_table'
]

#: The 16 categories, in the column order of the TAP paper's Table 3.
SHAPENETPART_CATEGORIES = (
    'airplane', 'bag', 'cap', 'car', 'chair', 'earphone', 'guitar', 'knife', 'lamp',
    'laptop', 'motorbike', 'mug', 'pistol', 'rocket', 'skateboard', 'table')

#: (first part id, number of parts) of each category, in the order above.
SHAPENETPART_PART_RANGES = (
    (0, 4), (4, 2), (6, 2), (8, 4), (12, 4), (16, 3), (19, 3), (22, 2), (24, 4),
    (28, 2), (30, 6), (36, 2), (38, 3), (41, 3), (44, 3), (47, 3))

SHAPENETPART_NUM_PARTS = 50

_TO_ZUP = [2, 0, 1]


def category_part_table(part_ranges: Sequence[Tuple[int, int]] = SHAPENETPART_PART_RANGES,
                        num_parts: int = SHAPENETPART_NUM_PARTS) -> np.ndarray:
    """(num_categories, num_parts) bool table: True where a part belongs to a category."""
    table = np.zeros((len(part_ranges), num_parts), dtype=bool)
    for c, (first, count) in enumerate(part_ranges):
        if first < 0 or first + count > num_parts:
            raise ValueError(f'part range ({first}, {count}) of category {c} leaves '
                             f'[0, {num_parts})')
        table[c, first:first + count] = True
    return table


def read_synset_categories(path: str) -> Dict[str, str]:
    """``synsetoffset2category.txt`` -> ``{synset: lower-case category name}``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: ShapeNetPart category file not found')
    out = {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2:
                raise DataFileError(f'{path}: line {lineno} should be "<Category> <synset>", '
                                    f'got {line.strip()[:60]!r}')
            name, synset = fields[0].lower(), fields[1]
            if name not in SHAPENETPART_CATEGORIES:
                raise DataFileError(f'{path}: line {lineno} names category {fields[0]!r}, '
                                    f'not one of the 16 ShapeNetPart categories')
            out[synset] = name
    if not out:
        raise DataFileError(f'{path}: lists no categories')
    return out


def _bad_line(path: str, lines: List[str]) -> DataFileError:
    """The error for the first line of ``lines`` that is not 7 numbers."""
    for lineno, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 7:
            return DataFileError(f'{path}: line {lineno} has {len(fields)} values, expected 7 '
                                 f'(x y z nx ny nz part): {line.strip()[:60]!r}')
        try:
            [float(v) for v in fields]
        except ValueError:
            return DataFileError(f'{path}: line {lineno} is not numeric: {line.strip()[:60]!r}')
    return DataFileError(f'{path}: cannot parse as lines of 7 numbers')


def read_shapenetpart_txt(path: str, num_parts: int = SHAPENETPART_NUM_PARTS
                          ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read one ``<synset>/<token>.txt``.

    Args:
        path: the file, lines ``x y z nx ny nz part``.
        num_parts: part labels must lie in ``[0, num_parts)``.

    Returns:
        points (P, 3) float32, normals (P, 3) float32, parts (P,) int64, in the
        file's axes.

    Raises:
        FileNotFoundError, or DataFileError naming the file and the problem (bad
        line, no points, NaN, part label not an integer in range).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: ShapeNetPart point file not found')
    with open(path) as f:
        lines = f.read().splitlines()
    rows = [ln for ln in lines if ln.strip()]
    if not rows:
        raise DataFileError(f'{path}: holds no points')
    try:
        arr = np.array([r.split() for r in rows], dtype=np.float64)
    except ValueError:
        raise _bad_line(path, lines) from None
    if arr.ndim != 2 or arr.shape[1] != 7:
        raise _bad_line(path, lines)
    if not np.isfinite(arr).all():
        bad = int(np.nonzero(~np.isfinite(arr).all(1))[0][0])
        raise DataFileError(f'{path}: line {bad + 1} holds NaN or inf')
    parts = arr[:, 6]
    wrong = (parts != np.round(parts)) | (parts < 0) | (parts >= num_parts)
    if wrong.any():
        i = int(np.nonzero(wrong)[0][0])
        raise DataFileError(f'{path}: part label {parts[i]:g} on data line {i + 1} is not an '
                            f'integer in 0..{num_parts - 1}')
    return (arr[:, :3].astype(np.float32), arr[:, 3:6].astype(np.float32),
            parts.astype(np.int64))


@DATASETS.register_module()
class ShapeNetPartDataset(BaseDataset):
    """ShapeNetPart with normals, for part segmentation.

    Each item, before the pipeline: ``points`` (num_points, 3) and ``normals``
    (num_points, 3) float32, ``part_labels`` (num_points,) int64 in 0..49,
    ``gt_label`` (int, the object category, packed as the data sample's
    ``gt_label`` and fed to the model as its one-hot category), ``category``
    (name), ``sample_idx``, ``file``.

    Metainfo: ``categories`` (the 16 names, Table 3 order), ``part_ranges``
    ((first, count) per category), ``num_parts`` (50) and ``classes`` (the 50
    part names ``<category>_<k>``).

    Args:
        data_root: the ``shapenetcore_partanno_segmentation_benchmark_v0_normal`` folder.
        split: ``'trainval'`` (train + val lists, the usual training set),
            ``'train'``, ``'val'`` or ``'test'``.
        num_points: points per shape (2048). A shape with more points is
            subsampled without replacement; one with fewer keeps all its points
            plus duplicates of random ones, with a warning when more than half of
            the item would be duplicates. In ``test_mode`` the choice is seeded
            by the item's index, so every evaluation sees the same points. None
            keeps all points.
        to_zup: permute the y-up file axes to z-up.
        min_points: shapes with fewer points (or fewer than ``num_points``, when
            that is smaller), or whose points all coincide, are refused
            (:func:`~tap3d.datasets.io.check_point_count`).
        pipeline, test_mode, ...: as in :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(
        categories=SHAPENETPART_CATEGORIES,
        part_ranges=SHAPENETPART_PART_RANGES,
        num_parts=SHAPENETPART_NUM_PARTS,
        classes=tuple(f'{c}_{k}' for c, (_, n) in zip(SHAPENETPART_CATEGORIES,
                                                      SHAPENETPART_PART_RANGES)
                      for k in range(n)))

    def __init__(self,
                 data_root: str = ('data/ShapeNetPart/'
                                   'shapenetcore_partanno_segmentation_benchmark_v0_normal'),
                 split: str = 'trainval',
                 num_points: Optional[int] = 2048,
                 to_zup: bool = True,
                 min_points: int = MIN_POINTS,
                 **kwargs) -> None:
        if split not in ('trainval', 'train', 'val', 'test'):
            raise ValueError(f"ShapeNetPart: split must be 'trainval', 'train', 'val' or "
                             f"'test', got {split!r}")
        if not osp.isdir(data_root):
            raise FileNotFoundError(
                f'{data_root}: ShapeNetPart root not found; see data/README.md or run '
                'python tools/create_data.py synthetic')
        self.split = split
        self.num_points = num_points
        self.to_zup = to_zup
        # asking for fewer points than min_points accepts clouds that small
        self.min_points = min_points if num_points is None else min(min_points, num_points)
        self._table = category_part_table()
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        synsets = read_synset_categories(osp.join(self.data_root, 'synsetoffset2category.txt'))
        index = {n: i for i, n in enumerate(SHAPENETPART_CATEGORIES)}
        lists = ('train', 'val') if self.split == 'trainval' else (self.split, )
        data_list = []
        for name in lists:
            path = osp.join(self.data_root, 'train_test_split', f'shuffled_{name}_file_list.json')
            if not osp.isfile(path):
                raise FileNotFoundError(f'{path}: ShapeNetPart split file not found')
            try:
                with open(path) as f:
                    entries = json.load(f)
            except json.JSONDecodeError as e:
                raise DataFileError(f'{path}: not valid JSON ({e})') from None
            if not isinstance(entries, list):
                raise DataFileError(f'{path}: expected a JSON list of "shape_data/<synset>/'
                                    '<token>" entries')
            for entry in entries:
                fields = str(entry).split('/')
                if len(fields) != 3:
                    raise DataFileError(f'{path}: entry {entry!r} is not of the form '
                                        '"shape_data/<synset>/<token>"')
                _, synset, token = fields
                if synset not in synsets:
                    raise DataFileError(f'{path}: entry {entry!r} names synset {synset}, which '
                                        'synsetoffset2category.txt does not list')
                category = synsets[synset]
                data_list.append(dict(
                    sample_idx=len(data_list), gt_label=index[category], category=category,
                    file=osp.join(self.data_root, synset, token + '.txt')))
        if not data_list:
            raise DataFileError(f'{self.data_root}: split {self.split!r} lists no shapes')
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        points, normals, parts = read_shapenetpart_txt(info['file'])
        allowed = self._table[info['gt_label']]
        if not allowed[parts].all():
            bad = int(parts[~allowed[parts]][0])
            first, count = SHAPENETPART_PART_RANGES[info['gt_label']]
            raise DataFileError(f"{info['file']}: part label {bad} does not belong to category "
                                f"{info['category']} (parts {first}..{first + count - 1})")
        check_point_count(points, info['file'], min_points=self.min_points)
        if self.num_points is not None:
            n, m = len(points), self.num_points
            rng = np.random.default_rng(idx) if self.test_mode else np.random
            if n >= m:
                choice = rng.choice(n, m, replace=False)
            else:  # every point once, then random duplicates
                choice = np.concatenate([rng.permutation(n),
                                         padding_indices(n, m, info['file'], rng)])
            points, normals, parts = points[choice], normals[choice], parts[choice]
        if self.to_zup:
            points, normals = points[:, _TO_ZUP], normals[:, _TO_ZUP]
        info['coord'] = np.ascontiguousarray(points)
        info['normal'] = np.ascontiguousarray(normals)
        info['segment'] = parts
        return info
