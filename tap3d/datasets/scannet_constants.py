"""ScanNetV2 label sets for the two benchmarks tap3d reads.

Raw ScanNet labels map to NYU40 ids through ``scannetv2-labels.combined.tsv``.
The benchmarks keep a subset of the NYU40 ids and number them densely:

- semantic segmentation: 20 classes (``SEG_NYU40_IDS``), index −1 = ignore;
- 3D detection: 18 classes (``DET_NYU40_IDS``), the segmentation classes minus
  wall and floor.

These tables are the single source for datasets, converters, synthetic scenes and
visualisation, so every layout numbers the classes identically.
"""
import numpy as np

IGNORE_INDEX = -1

SEG_CLASSES = ('wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
               'window', 'bookshelf', 'picture', 'counter', 'desk', 'curtain',
               'refrigerator', 'shower curtain', 'toilet', 'sink', 'bathtub',
               'otherfurniture')
SEG_NYU40_IDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39)

DET_CLASSES = ('cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window',
               'bookshelf', 'picture', 'counter', 'desk', 'curtain', 'refrigerator',
               'shower curtain', 'toilet', 'sink', 'bathtub', 'otherfurniture')
DET_NYU40_IDS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39)

# At most this many boxes per scene in the detection benchmark (3DETR / VoteNet).
MAX_NUM_OBJ = 64

# The usual ScanNet colour per segmentation class (RGB 0..255), also used for
# detection classes through their NYU40 id.
SEG_PALETTE = (
    (174, 199, 232), (152, 223, 138), (31, 119, 180), (255, 187, 120), (188, 189, 34),
    (140, 86, 75), (255, 152, 150), (214, 39, 40), (197, 176, 213), (148, 103, 189),
    (196, 156, 148), (23, 190, 207), (247, 182, 210), (219, 219, 141), (255, 127, 14),
    (158, 218, 229), (44, 160, 44), (112, 128, 144), (227, 119, 194), (82, 84, 163))
DET_PALETTE = tuple(SEG_PALETTE[SEG_NYU40_IDS.index(i)] for i in DET_NYU40_IDS)


def _lookup(ids, size: int = 256) -> np.ndarray:
    table = np.full(size, IGNORE_INDEX, dtype=np.int64)
    table[list(ids)] = np.arange(len(ids))
    return table


# Dense lookup tables indexed by NYU40 id (0..40; 0 = unannotated) -> class index or −1.
NYU40_TO_SEG20 = _lookup(SEG_NYU40_IDS)
NYU40_TO_DET18 = _lookup(DET_NYU40_IDS)


def nyu40_to_seg20(nyu40: np.ndarray) -> np.ndarray:
    """Map NYU40 ids to the 20 segmentation classes.

    Args:
        nyu40: (N,) integer NYU40 ids (0 = unannotated; ids > 255 are invalid).

    Returns:
        (N,) int64 class index in 0..19, or −1 for ids outside the benchmark.
    """
    nyu40 = np.asarray(nyu40).astype(np.int64)
    out = np.full(nyu40.shape, IGNORE_INDEX, dtype=np.int64)
    ok = (nyu40 >= 0) & (nyu40 < len(NYU40_TO_SEG20))
    out[ok] = NYU40_TO_SEG20[nyu40[ok]]
    return out


def nyu40_to_det18(nyu40: np.ndarray) -> np.ndarray:
    """Map NYU40 ids to the 18 detection classes.

    Args:
        nyu40: (K,) integer NYU40 ids.

    Returns:
        (K,) int64 class index in 0..17, or −1 for ids outside the benchmark.
    """
    nyu40 = np.asarray(nyu40).astype(np.int64)
    out = np.full(nyu40.shape, IGNORE_INDEX, dtype=np.int64)
    ok = (nyu40 >= 0) & (nyu40 < len(NYU40_TO_DET18))
    out[ok] = NYU40_TO_DET18[nyu40[ok]]
    return out


__all__ = [
    'IGNORE_INDEX', 'SEG_CLASSES', 'SEG_NYU40_IDS', 'DET_CLASSES', 'DET_NYU40_IDS',
    'MAX_NUM_OBJ', 'SEG_PALETTE', 'DET_PALETTE', 'NYU40_TO_SEG20', 'NYU40_TO_DET18',
    'nyu40_to_seg20', 'nyu40_to_det18'
]
