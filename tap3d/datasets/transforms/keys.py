"""The one vocabulary of per-point data, shared by object and scene pipelines.

Pipelines pass a ``results`` dict of numpy arrays. Its per-point arrays (Pointcept's
names) share their first dimension N:

==============  ==========  ==================================================
key             shape       meaning
==============  ==========  ==================================================
``coord``       (N, 3)      xyz (z up after tap3d's readers)
``normal``      (N, 3)      unit normals
``color``       (N, 3)      RGB, 0..255 until :class:`NormalizeColor`
``height``      (N, 1)      height above the floor (:class:`AddHeight`)
``feat``        (N, C)      the model's per-point input (:class:`BuildFeat`)
``segment``     (N,)        per-point class: a part (ShapeNetPart) or a
                            semantic class (ScanNet)
``instance``    (N,)        instance id (ScanNet)
``grid_coord``  (N, 3)      integer voxel of the point (:class:`GridSample`)
==============  ==========  ==================================================

Per-sample keys: ``gt_label`` (object class), ``views (V, H, W, 3) uint8`` and
``view_rotations (V, 3, 3)`` (TAP), ``gt_bboxes_3d (K, 6)`` and ``gt_labels_3d (K,)``
(detection), plus metadata (``file``, ``sample_idx``, ...).

Every transform that drops or reorders points goes through :func:`index_points`, so
all per-point arrays present stay aligned. All randomness comes from numpy's global
RNG, which mmengine seeds per dataloader worker.
"""
from typing import Optional

import numpy as np

__all__ = ['POINT_KEYS', 'index_points', 'get_boxes', 'float_color']

POINT_KEYS = ('coord', 'normal', 'color', 'height', 'feat', 'segment', 'instance',
              'grid_coord')


def index_points(results: dict, index: np.ndarray) -> dict:
    """Apply ``index`` (M,) to every per-point array of ``results`` in place.

    Args:
        results: pipeline dict whose per-point arrays (:data:`POINT_KEYS`) have N rows.
        index: (M,) integer rows to keep, in order (repeats allowed).

    Raises:
        ValueError: if a per-point array's length differs from ``coord``'s, or if
            ``results`` holds a grid-sampling ``inverse`` map or test fragments that
            the index would invalidate.
    """
    # the inverse map and the test fragments point at rows of the current scene;
    # dropping or reordering them afterwards would silently scramble predictions
    if results.get('inverse') is not None:
        raise ValueError('points cannot be dropped or reordered after '
                         'GridSample(return_inverse=True)')
    if results.get('fragment_index') is not None:
        raise ValueError("points cannot be dropped or reordered after GridSample(mode='test')")
    n = len(results['coord'])
    for key in POINT_KEYS:
        if results.get(key) is not None:
            if len(results[key]) != n:
                raise ValueError(f'per-point key {key!r} has {len(results[key])} rows '
                                 f'but coord has {n}')
            results[key] = results[key][index]
    return results


def get_boxes(results: dict) -> Optional[np.ndarray]:
    """The sample's ``gt_bboxes_3d`` as a (K, 6) float32 array (stored back), or None."""
    boxes = results.get('gt_bboxes_3d')
    if boxes is None:
        return None
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 6)
    results['gt_bboxes_3d'] = boxes
    return boxes


def float_color(results: dict) -> Optional[np.ndarray]:
    """The sample's ``color`` as float32 (stored back), or None."""
    color = results.get('color')
    if color is None:
        return None
    color = np.asarray(color, dtype=np.float32)
    results['color'] = color
    return color
