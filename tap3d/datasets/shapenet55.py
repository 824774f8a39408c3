"""ShapeNet55 with 12 views per shape: TAP's pre-training data.

Layout (data/README.md)::

    ROOT/pointclouds/{train,val,test}/model_XXXXXX.ply          1024 points, y-up
    ROOT/pointclouds_p2048/{train,val,test}/model_XXXXXX.ply    2048 points, y-up
    ROOT/shapenet55v1/{train,val,test}/model_XXXXXX_{001..012}.jpg   224x224 RGB

Image ``_{k+1:03d}`` is pose k of :func:`tap3d.geometry.fixed_view_rotations`.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from tap3d.registry import DATASETS, TRANSFORMS

from .io import (
    MIN_POINTS,
    DataFileError,
    check_point_count,
    check_points,
    read_image,
    read_ply_points,
)

__all__ = ['ShapeNet55Dataset', 'check_shapenet55_root', 'shapenet55_view_path',
           'load_shapenet55_points', 'NUM_FIXED_VIEWS']

NUM_FIXED_VIEWS = 12
_POINT_DIRS = {1024: 'pointclouds', 2048: 'pointclouds_p2048'}


def shapenet55_view_path(root: str, split: str, stem: str, view: int) -> str:
    """Path of view ``view`` (0..11) of shape ``stem`` (e.g. 'model_000003')."""
    return osp.join(root, 'shapenet55v1', split, f'{stem}_{view + 1:03d}.jpg')


def load_shapenet55_points(path: str, to_zup: bool = True, normalize: bool = True,
                           expected_points: Optional[int] = None,
                           min_points: int = MIN_POINTS) -> np.ndarray:
    """Read a ShapeNet55 .ply the way the dataset does.

    Args:
        path: the .ply file (y-up on disk).
        to_zup: apply the axis permutation ``(x, y, z) <- (z, x, y)``.
        normalize: centre on the centroid and scale into the unit sphere.
        expected_points: the exact number of points the file must hold
            (1024 in ``pointclouds/``, 2048 in ``pointclouds_p2048/``), if any.
        min_points: fewest points accepted (see :func:`check_point_count`).

    Returns:
        (N, 3) float32 points. The writers of tap3d frame their rendered
        views on exactly these points, so load and render agree.

    Raises:
        FileNotFoundError, or DataFileError naming the file: unreadable, NaN,
        the wrong number of points, or all points at one place.
    """
    from tap3d.geometry import normalize_to_unit_sphere, shapenet_to_zup
    points = check_point_count(read_ply_points(path), path, expected_points, min_points)
    if to_zup:
        points = shapenet_to_zup(points)
    if normalize:
        points = normalize_to_unit_sphere(points.astype(np.float64))[0]
    return check_points(points.astype(np.float32), path)


def _fixed_rotations() -> np.ndarray:
    from tap3d.geometry import fixed_view_rotations
    rots = fixed_view_rotations(NUM_FIXED_VIEWS)
    rots = rots.detach().cpu().numpy() if hasattr(rots, 'detach') else np.asarray(rots)
    return rots.astype(np.float32)


@DATASETS.register_module()
class ShapeNet55Dataset(BaseDataset):
    """ShapeNet55 point clouds with their rendered views.

    Each item, before the pipeline, is a dict with ``points`` (N, 3) float32
    (z-up, centred, in the unit sphere), ``views`` (V, H, W, 3) uint8,
    ``view_rotations`` (V, 3, 3) float32, ``view_indices`` (V,), and
    ``sample_idx``, ``file``, ``split``.

    Args:
        data_root: dataset root (see module docstring).
        splits: splits to read; TAP pre-trains on ``('train', 'val')`` and
            validates on ``('test',)``.
        num_points: 1024 (``pointclouds``) or 2048 (``pointclouds_p2048``).
            Every file must hold exactly that many points (clouds are stacked
            into batches as they are), spread over a non-zero extent; any
            other file is refused with an error naming it.
        num_views: V views per item, out of 12. ``0`` loads no views.
        random_views: draw the V views at random for every item (the
            training default); if False, or in ``test_mode``, take the fixed
            evenly spaced subset ``k * 12 // V``.
        to_zup: apply the y-up -> z-up axis permutation (on for the
            authors' files and for tap3d's own).
        normalize: centre and scale into the unit sphere on load.
        img_size: expected side of every view image; other sizes raise.
        pipeline, test_mode, ...: as in :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(dataset='ShapeNet55')

    def __init__(self,
                 data_root: str = 'data/ShapeNet55',
                 splits: Sequence[str] = ('train', 'val'),
                 num_points: int = 1024,
                 num_views: int = 6,
                 random_views: bool = True,
                 to_zup: bool = True,
                 normalize: bool = True,
                 img_size: int = 224,
                 **kwargs) -> None:
        if num_points not in _POINT_DIRS:
            raise ValueError(f'num_points must be 1024 or 2048, got {num_points}')
        if not 0 <= num_views <= NUM_FIXED_VIEWS:
            raise ValueError(f'num_views must be in [0, 12], got {num_views}')
        if isinstance(splits, str):
            splits = (splits,)
        self.splits = tuple(splits)
        self.num_points = num_points
        self.num_views = num_views
        self.random_views = random_views
        self.to_zup = to_zup
        self.normalize = normalize
        self.img_size = img_size
        self._rotations = None
        # build transforms from tap3d's registry even without default_scope='tap3d'
        pipeline = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                    for t in kwargs.pop('pipeline', [])]
        super().__init__(data_root=data_root, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = []
        for split in self.splits:
            folder = osp.join(self.data_root, _POINT_DIRS[self.num_points], split)
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'{folder}: ShapeNet55 point-cloud folder not found (split {split!r}); '
                    'see data/README.md or run tools/create_data.py synthetic')
            for name in sorted(os.listdir(folder)):
                if name.endswith('.ply') and not name.startswith('.'):
                    data_list.append(dict(ply_path=osp.join(folder, name), split=split,
                                          stem=name[:-4]))
        if not data_list:
            raise FileNotFoundError(
                f'{self.data_root}: no .ply files in splits {self.splits}')
        return data_list

    def select_views(self) -> np.ndarray:
        """Indices (V,) of the views to load: random in training, fixed in test."""
        v = self.num_views
        if self.random_views and not self.test_mode:
            return np.sort(np.random.choice(NUM_FIXED_VIEWS, v, replace=False))
        return np.arange(v) * NUM_FIXED_VIEWS // max(v, 1)

    def load_sample(self, info: dict) -> dict:
        """Read the points and the selected views of one item (see class doc)."""
        results = dict(info)
        results['file'] = info['ply_path']
        results['coord'] = load_shapenet55_points(info['ply_path'], self.to_zup,
                                                   self.normalize, self.num_points)
        if self.num_views:
            if self._rotations is None:
                self._rotations = _fixed_rotations()
            idx = self.select_views()
            results['views'] = np.stack([
                read_image(shapenet55_view_path(self.data_root, info['split'],
                                                info['stem'], int(k)), self.img_size)
                for k in idx])
            results['view_rotations'] = self._rotations[idx].copy()
            results['view_indices'] = idx
        return results

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        return self.pipeline(self.load_sample(info))

    def fixed_view_paths(self, max_samples: Optional[int] = None) -> List[List[str]]:
        """The 12 view images of each shape, pose k at position k.

        Args:
            max_samples: at most this many shapes, evenly spaced over the dataset
                (None: all).

        Returns:
            list (S) of lists (12) of image paths.
        """
        n = len(self)
        idx = range(n)
        if max_samples is not None and max_samples < n:
            idx = np.linspace(0, n - 1, max_samples).round().astype(int)
        paths = []
        for i in idx:
            info = self.get_data_info(int(i))
            paths.append([shapenet55_view_path(self.data_root, info['split'], info['stem'], k)
                          for k in range(NUM_FIXED_VIEWS)])
        return paths

    def mean_views(self, max_samples: Optional[int] = None) -> np.ndarray:
        """Mean image of each fixed pose over the shapes: (12, H, W, 3) float64 in 0..255.

        The mean-view baseline of :class:`~tap3d.evaluation.metrics.ViewMetric`: for
        each pose, the average ground-truth view (see :meth:`fixed_view_paths` for
        ``max_samples``).
        """
        paths = self.fixed_view_paths(max_samples)
        total = np.zeros((NUM_FIXED_VIEWS, self.img_size, self.img_size, 3), np.float64)
        for views in paths:
            for k, path in enumerate(views):
                total[k] += read_image(path, self.img_size)
        return total / max(len(paths), 1)


def check_shapenet55_root(root: str,
                          splits: Sequence[str] = ('train', 'val', 'test'),
                          img_size: int = 224,
                          check_images: bool = True) -> Tuple[int, List[Tuple[str, str]]]:
    """Validate a whole ShapeNet55-layout root.

    Checks every .ply of both point folders (readable, complete, finite) and
    that each shape has its 12 views, each decodable at ``img_size``.

    Returns:
        (number of shapes checked, [(path, problem), ...] for every bad file).
    """
    problems: List[Tuple[str, str]] = []
    stems = {}
    for num, sub in _POINT_DIRS.items():
        for split in splits:
            folder = osp.join(root, sub, split)
            if not osp.isdir(folder):
                if num == 1024:
                    problems.append((folder, 'folder missing'))
                continue
            for name in sorted(os.listdir(folder)):
                if not name.endswith('.ply') or name.startswith('.'):
                    continue
                path = osp.join(folder, name)
                stems.setdefault((split, name[:-4]), path)
                try:  # the dataset's own rule (load_shapenet55_points)
                    check_point_count(read_ply_points(path), path, expected=num)
                except (OSError, DataFileError) as err:
                    problems.append((path, str(err).replace(path + ': ', '')))
    for (split, stem) in sorted(stems):
        for k in range(NUM_FIXED_VIEWS):
            path = shapenet55_view_path(root, split, stem, k)
            if not osp.isfile(path):
                problems.append((path, 'view image missing'))
            elif check_images:
                try:
                    read_image(path, img_size)
                except DataFileError as err:
                    problems.append((path, str(err).replace(path + ': ', '')))
    return len(stems), problems
