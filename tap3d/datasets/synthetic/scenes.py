"""Synthetic ScanNet-like rooms, written in both ScanNet layouts of DATA.md.

A scene is a rectangular room: a floor, 2–4 walls, furniture standing on the floor
(boxes, tables and chairs built from boxes, cylinders) and thin objects hung on the
walls (doors, windows, pictures, curtains). Every object belongs to one of the 18
detection classes; walls and floor complete the 20 segmentation classes. Points are
sampled on the visible surfaces with a density proportional to area, coloured per
class with a per-instance tint and per-point noise, and carry the exact surface
normal. Scenes are axis-aligned, z up, metres, with the room's corner at the origin,
like ScanNet scans after their ``axisAlignment``.

Both layouts are written from the same points, so a detection box is exactly the
extent of its instance's points in the segmentation layout:

```
root/scannet_train_detection_data/sceneXXXX_00_{vert,bbox,ins_label,sem_label}.npy
root/{train,val}/sceneXXXX_00/{coord,color,normal,segment20,instance}.npy
root/meta_data/scannetv2_{train,val}.txt
```

Train scenes are numbered 0..num_train−1 and val scenes follow; scene ``i`` is drawn
from ``np.random.default_rng([seed, i])``, so a scene does not depend on how many
others are written, and an interrupted run resumes where it stopped.
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np

from ..io import atomic_path, write_text
from ..scannet_constants import DET_NYU40_IDS, SEG_NYU40_IDS, SEG_PALETTE, nyu40_to_seg20

DET_DIR = 'scannet_train_detection_data'
META_DIR = 'meta_data'
DET_SUFFIXES = ('vert', 'bbox', 'ins_label', 'sem_label')
SEG_FILES = ('coord', 'color', 'normal', 'segment20', 'instance')

WALL_ID, FLOOR_ID = 1, 2

# name: (nyu40 id, shape, (dx lo, hi), (dy lo, hi), (dz lo, hi), placement, (z lo, hi))
# Sizes in metres, roughly those of real furniture; 'wall' objects lie flat on a
# wall with dy as their thickness.
_SPECS = {
    'cabinet': (3, 'box', (0.4, 1.0), (0.4, 0.6), (0.6, 1.2), 'floor', (0, 0)),
    'bed': (4, 'box', (1.8, 2.1), (0.9, 1.8), (0.4, 0.7), 'floor', (0, 0)),
    'chair': (5, 'chair', (0.4, 0.6), (0.4, 0.6), (0.8, 1.0), 'floor', (0, 0)),
    'sofa': (6, 'sofa', (1.5, 2.4), (0.8, 1.0), (0.7, 0.9), 'floor', (0, 0)),
    'table': (7, 'table', (0.8, 1.6), (0.6, 1.0), (0.7, 0.8), 'floor', (0, 0)),
    'door': (8, 'box', (0.8, 1.0), (0.04, 0.08), (1.9, 2.1), 'wall', (0, 0)),
    'window': (9, 'box', (0.8, 1.6), (0.05, 0.12), (0.9, 1.3), 'wall', (0.8, 1.0)),
    'bookshelf': (10, 'box', (0.6, 1.2), (0.3, 0.4), (1.5, 2.0), 'floor', (0, 0)),
    'picture': (11, 'box', (0.4, 0.9), (0.02, 0.05), (0.3, 0.7), 'wall', (1.2, 1.5)),
    'counter': (12, 'box', (1.2, 2.4), (0.5, 0.7), (0.85, 0.95), 'floor', (0, 0)),
    'desk': (14, 'table', (1.0, 1.6), (0.6, 0.8), (0.72, 0.78), 'floor', (0, 0)),
    'curtain': (16, 'box', (1.0, 2.0), (0.08, 0.15), (1.8, 2.2), 'wall', (0.1, 0.3)),
    'refrigerator': (24, 'box', (0.6, 0.8), (0.6, 0.75), (1.6, 1.9), 'floor', (0, 0)),
    'shower curtain': (28, 'box', (0.8, 1.4), (0.03, 0.06), (1.7, 2.0), 'floor', (0.05, 0.1)),
    'toilet': (33, 'cylinder', (0.38, 0.45), (0.55, 0.7), (0.7, 0.8), 'floor', (0, 0)),
    'sink': (34, 'cylinder', (0.4, 0.6), (0.4, 0.5), (0.15, 0.25), 'floor', (0.75, 0.85)),
    'bathtub': (36, 'box', (1.5, 1.8), (0.7, 0.8), (0.5, 0.6), 'floor', (0, 0)),
    'otherfurniture': (39, 'cylinder', (0.3, 0.8), (0.3, 0.8), (0.3, 1.2), 'floor', (0, 0)),
}
_FLOOR_CLASSES = [k for k, v in _SPECS.items() if v[5] == 'floor']
_WALL_CLASSES = [k for k, v in _SPECS.items() if v[5] == 'wall']


# ---------------------------------------------------------------- primitives ----
# A primitive is ('box' | 'cyl', centre (3,), size (3,), skip_bottom: bool).

def _box_faces(centre, size, skip_bottom):
    """List of (area, axis, sign) for the faces of an axis-aligned box."""
    faces = []
    for axis in range(3):
        other = [a for a in range(3) if a != axis]
        area = size[other[0]] * size[other[1]]
        for sign in (-1.0, 1.0):
            if axis == 2 and sign < 0 and skip_bottom:
                continue
            faces.append((area, axis, sign))
    return faces


def _prim_area(prim) -> float:
    kind, centre, size, skip_bottom = prim
    if kind == 'box':
        return float(sum(f[0] for f in _box_faces(centre, size, skip_bottom)))
    a, b, h = size[0] / 2, size[1] / 2, size[2]
    caps = np.pi * a * b * (1 if skip_bottom else 2)
    return float(np.pi * (a + b) * h + caps)


def _sample_box(rng, centre, size, skip_bottom, n):
    faces = _box_faces(centre, size, skip_bottom)
    areas = np.array([f[0] for f in faces])
    counts = rng.multinomial(n, areas / areas.sum())
    pts, nrm = [], []
    for (_, axis, sign), k in zip(faces, counts):
        if k == 0:
            continue
        u = rng.uniform(-0.5, 0.5, size=(k, 3)) * size
        u[:, axis] = sign * size[axis] / 2
        normal = np.zeros((k, 3))
        normal[:, axis] = sign
        pts.append(u + centre)
        nrm.append(normal)
    return np.concatenate(pts), np.concatenate(nrm)


def _sample_cylinder(rng, centre, size, skip_bottom, n):
    a, b, h = size[0] / 2, size[1] / 2, size[2]
    side, cap = np.pi * (a + b) * h, np.pi * a * b
    areas = np.array([side, cap, 0.0 if skip_bottom else cap])
    k_side, k_top, k_bot = rng.multinomial(n, areas / areas.sum())
    t = rng.uniform(0, 2 * np.pi, k_side)
    side_p = np.stack([a * np.cos(t), b * np.sin(t), rng.uniform(-h / 2, h / 2, k_side)], 1)
    side_n = np.stack([np.cos(t) / a, np.sin(t) / b, np.zeros(k_side)], 1)
    side_n /= np.linalg.norm(side_n, axis=1, keepdims=True)
    pts, nrm = [side_p], [side_n]
    for k, sign in ((k_top, 1.0), (k_bot, -1.0)):
        r, t = np.sqrt(rng.uniform(0, 1, k)), rng.uniform(0, 2 * np.pi, k)
        pts.append(np.stack([a * r * np.cos(t), b * r * np.sin(t), np.full(k, sign * h / 2)], 1))
        nrm.append(np.tile([0.0, 0.0, sign], (k, 1)))
    return np.concatenate(pts) + centre, np.concatenate(nrm)


def _sample_prims(rng, prims, n):
    """Sample n surface points (and normals) over a list of primitives by area."""
    areas = np.array([_prim_area(p) for p in prims])
    counts = rng.multinomial(n, areas / areas.sum())
    pts, nrm = [], []
    for (kind, centre, size, skip_bottom), k in zip(prims, counts):
        if k == 0:
            continue
        fn = _sample_box if kind == 'box' else _sample_cylinder
        p, q = fn(rng, np.asarray(centre, float), np.asarray(size, float), skip_bottom, k)
        pts.append(p)
        nrm.append(q)
    return np.concatenate(pts), np.concatenate(nrm)


def _object_prims(shape, centre, size):
    """Primitives of one object whose axis-aligned extent is (centre, size)."""
    cx, cy, cz = centre
    dx, dy, dz = size
    z0 = cz - dz / 2
    on_floor = z0 <= 1e-6
    if shape == 'box':
        return [('box', centre, size, on_floor)]
    if shape == 'cylinder':
        return [('cyl', centre, size, on_floor)]
    if shape == 'table':
        top = 0.04
        leg = 0.05
        prims = [('box', (cx, cy, z0 + dz - top / 2), (dx, dy, top), False)]
        for sx in (-1, 1):
            for sy in (-1, 1):
                prims.append(('box', (cx + sx * (dx - leg) / 2, cy + sy * (dy - leg) / 2,
                                      z0 + (dz - top) / 2), (leg, leg, dz - top), True))
        return prims
    if shape == 'chair':
        seat_h, seat_t, leg = 0.45 * dz / 0.9, 0.05, 0.04
        back_t = 0.05
        prims = [('box', (cx, cy, z0 + seat_h), (dx, dy, seat_t), False),
                 ('box', (cx, cy + (dy - back_t) / 2, z0 + (seat_h + dz) / 2 + seat_t / 4),
                  (dx, back_t, dz - seat_h - seat_t / 2), False)]
        for sx in (-1, 1):
            for sy in (-1, 1):
                prims.append(('box', (cx + sx * (dx - leg) / 2, cy + sy * (dy - leg) / 2,
                                      z0 + (seat_h - seat_t / 2) / 2),
                              (leg, leg, seat_h - seat_t / 2), True))
        return prims
    if shape == 'sofa':
        seat_h, back_t, arm = 0.45 * dz, 0.2, 0.15
        return [('box', (cx, cy - back_t / 2, z0 + seat_h / 2), (dx, dy - back_t, seat_h), True),
                ('box', (cx, cy + (dy - back_t) / 2, z0 + dz / 2), (dx, back_t, dz), True),
                ('box', (cx - (dx - arm) / 2, cy - back_t / 2, z0 + seat_h + 0.1),
                 (arm, dy - back_t, 0.2), False),
                ('box', (cx + (dx - arm) / 2, cy - back_t / 2, z0 + seat_h + 0.1),
                 (arm, dy - back_t, 0.2), False)]
    raise ValueError(f'unknown synthetic shape {shape!r}')


# ------------------------------------------------------------------- layout ----

def _overlap_ok(box, placed, max_frac=0.1):
    """True if the xy footprint overlaps no placed footprint by more than max_frac."""
    x0, y0, x1, y1 = box
    for p0, q0, p1, q1 in placed:
        w = min(x1, p1) - max(x0, p0)
        h = min(y1, q1) - max(y0, q0)
        if w > 0 and h > 0:
            smaller = min((x1 - x0) * (y1 - y0), (p1 - p0) * (q1 - q0))
            if w * h > max_frac * smaller:
                return False
    return True


def _layout_room(rng) -> Tuple[List[dict], Tuple[float, float, float]]:
    """Draw a room and its objects. Each object: name, nyu40, prims."""
    room_w, room_l, height = rng.uniform(3.5, 7.0), rng.uniform(3.0, 6.0), rng.uniform(2.4, 3.0)
    objects = [dict(name='floor', nyu40=FLOOR_ID,
                    prims=[('box', (room_w / 2, room_l / 2, -0.005), (room_w, room_l, 0.01), True)],
                    top_only=True)]
    # walls: (side name, thin axis, position)
    sides = [('west', 0, 0.0), ('east', 0, room_w), ('south', 1, 0.0), ('north', 1, room_l)]
    order = rng.permutation(4)
    walls = [sides[i] for i in order[:int(rng.integers(2, 5))]]
    for _, axis, pos in walls:
        if axis == 0:
            centre, size = (pos, room_l / 2, height / 2), (0.01, room_l, height)
        else:
            centre, size = (room_w / 2, pos, height / 2), (room_w, 0.01, height)
        objects.append(dict(name='wall', nyu40=WALL_ID, prims=[('box', centre, size, True)],
                            inward=(axis, 1.0 if pos == 0.0 else -1.0)))

    placed = []
    for _ in range(int(rng.integers(4, 11))):
        name = _FLOOR_CLASSES[rng.integers(len(_FLOOR_CLASSES))]
        nyu40, shape, rx, ry, rz, _, rzo = _SPECS[name]
        size = np.array([rng.uniform(*rx), rng.uniform(*ry), rng.uniform(*rz)])
        if rng.random() < 0.5 and shape in ('box', 'cylinder'):
            size[[0, 1]] = size[[1, 0]]  # a quarter turn keeps the box axis-aligned
        for _try in range(30):
            cx = rng.uniform(size[0] / 2 + 0.05, room_w - size[0] / 2 - 0.05)
            cy = rng.uniform(size[1] / 2 + 0.05, room_l - size[1] / 2 - 0.05)
            foot = (cx - size[0] / 2, cy - size[1] / 2, cx + size[0] / 2, cy + size[1] / 2)
            if _overlap_ok(foot, placed):
                placed.append(foot)
                cz = rng.uniform(*rzo) + size[2] / 2
                objects.append(dict(name=name, nyu40=nyu40,
                                    prims=_object_prims(shape, (cx, cy, cz), size)))
                break

    on_wall = []  # intervals already used along each wall
    for _ in range(int(rng.integers(1, 4))):
        name = _WALL_CLASSES[rng.integers(len(_WALL_CLASSES))]
        nyu40, shape, rx, ry, rz, _, rzo = _SPECS[name]
        side, axis, pos = walls[rng.integers(len(walls))]
        length = room_l if axis == 0 else room_w
        width, thick, tall = rng.uniform(*rx), rng.uniform(*ry), rng.uniform(*rz)
        if width > length - 0.2:
            continue
        along = rng.uniform(width / 2 + 0.1, length - width / 2 - 0.1)
        if any(s == side and abs(a - along) < (w + width) / 2 for s, a, w in on_wall):
            continue
        on_wall.append((side, along, width))
        inner = pos + (thick / 2 + 0.005) * (1.0 if pos == 0.0 else -1.0)
        cz = rng.uniform(*rzo) + tall / 2
        if axis == 0:
            centre, size = (inner, along, cz), (thick, width, tall)
        else:
            centre, size = (along, inner, cz), (width, thick, tall)
        on_floor = cz - tall / 2 <= 1e-6
        objects.append(dict(name=name, nyu40=nyu40, prims=[('box', centre, size, on_floor)]))
    return objects, (room_w, room_l, height)


def make_synthetic_scene(num_points: int, seed: int = 0, index: int = 0) -> Dict[str, np.ndarray]:
    """Draw one synthetic room.

    Args:
        num_points: total number of surface points N.
        seed: global seed.
        index: scene index; the scene is drawn from ``default_rng([seed, index])``.

    Returns:
        dict with ``coord (N,3) float32``, ``color (N,3) uint8``, ``normal (N,3) float32``
        (unit), ``nyu40 (N,) int64``, ``segment20 (N,) int64`` (0..19),
        ``instance (N,) int64`` (0..I−1, every point belongs to an instance, walls and
        floor included) and ``bbox (K,7) float32`` = cx cy cz dx dy dz nyu40id, the
        axis-aligned extent of each detection-class instance's points.
    """
    if num_points < 500:
        raise ValueError(f'a synthetic scene needs at least 500 points, got {num_points}')
    rng = np.random.default_rng([seed, index])
    objects, _ = _layout_room(rng)

    # Wall/floor get points only on their room-facing side: keep a thin slab's one face.
    areas = []
    for obj in objects:
        if obj['name'] in ('floor', 'wall'):
            _, _, size, _ = obj['prims'][0]
            dims = sorted(size)
            areas.append(dims[1] * dims[2])
        else:
            areas.append(sum(_prim_area(p) for p in obj['prims']))
    areas = np.array(areas)
    min_pts = max(32, num_points // 400)
    spare = num_points - min_pts * len(objects)
    if spare < 0:
        raise ValueError(f'{num_points} points are too few for {len(objects)} objects')
    counts = min_pts + np.floor(spare * areas / areas.sum()).astype(int)
    counts[0] += num_points - counts.sum()  # the floor takes the rounding remainder

    coords, normals, colors, nyu, inst = [], [], [], [], []
    for i, (obj, k) in enumerate(zip(objects, counts)):
        if obj['name'] == 'floor':
            _, centre, size, _ = obj['prims'][0]
            p = np.stack([rng.uniform(0, size[0], k), rng.uniform(0, size[1], k), np.zeros(k)], 1)
            q = np.tile([0.0, 0.0, 1.0], (k, 1))
        elif obj['name'] == 'wall':
            _, centre, size, _ = obj['prims'][0]
            axis, sign = obj['inward']
            p = np.asarray(centre) + rng.uniform(-0.5, 0.5, (k, 3)) * np.asarray(size)
            p[:, axis] = centre[axis]
            q = np.zeros((k, 3))
            q[:, axis] = sign
        else:
            p, q = _sample_prims(rng, obj['prims'], int(k))
        seg = SEG_NYU40_IDS.index(obj['nyu40'])
        tint = rng.normal(0, 18, 3)
        c = np.asarray(SEG_PALETTE[seg], float) + tint + rng.normal(0, 8, (k, 3))
        coords.append(p)
        normals.append(q)
        colors.append(c)
        nyu.append(np.full(k, obj['nyu40']))
        inst.append(np.full(k, i))

    coord = np.concatenate(coords) + rng.normal(0, 0.004, (num_points, 3))  # sensor noise
    perm = rng.permutation(num_points)
    coord = coord[perm].astype(np.float32)
    normal = np.concatenate(normals)[perm].astype(np.float32)
    color = np.clip(np.concatenate(colors)[perm], 0, 255).round().astype(np.uint8)
    nyu40 = np.concatenate(nyu)[perm].astype(np.int64)
    instance = np.concatenate(inst)[perm].astype(np.int64)
    segment = nyu40_to_seg20(nyu40)

    boxes = []
    for i, obj in enumerate(objects):
        if obj['nyu40'] not in DET_NYU40_IDS:
            continue
        pts = coord[instance == i]
        lo, hi = pts.min(0), pts.max(0)
        boxes.append(np.concatenate([(lo + hi) / 2, hi - lo, [obj['nyu40']]]))
    bbox = np.asarray(boxes, dtype=np.float32).reshape(-1, 7)
    return dict(coord=coord, color=color, normal=normal, nyu40=nyu40, segment20=segment,
                instance=instance, bbox=bbox)


# -------------------------------------------------------------------- writing ----

def _save_atomic(path: str, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, array)


def _scene_paths(root: str, split: str, scene_id: str) -> List[str]:
    det = [osp.join(root, DET_DIR, f'{scene_id}_{s}.npy') for s in DET_SUFFIXES]
    seg = [osp.join(root, split, scene_id, f'{n}.npy') for n in SEG_FILES]
    return det + seg


def write_synthetic_scene(root: str, split: str, scene_id: str,
                          scene: Dict[str, np.ndarray]) -> None:
    """Write one scene (from :func:`make_synthetic_scene`) in both layouts under root."""
    os.makedirs(osp.join(root, DET_DIR), exist_ok=True)
    os.makedirs(osp.join(root, split, scene_id), exist_ok=True)
    vert = np.concatenate([scene['coord'], scene['color'].astype(np.float32)], 1)
    det = dict(vert=vert.astype(np.float32), bbox=scene['bbox'].astype(np.float32),
               ins_label=(scene['instance'] + 1).astype(np.int32),
               sem_label=scene['nyu40'].astype(np.int32))
    seg = dict(coord=scene['coord'], color=scene['color'], normal=scene['normal'],
               segment20=scene['segment20'], instance=scene['instance'])
    for suffix in DET_SUFFIXES:
        _save_atomic(osp.join(root, DET_DIR, f'{scene_id}_{suffix}.npy'), det[suffix])
    for name in SEG_FILES:
        _save_atomic(osp.join(root, split, scene_id, f'{name}.npy'), seg[name])


def write_synthetic_scenes(root: str,
                           num_train: int,
                           num_val: int,
                           points_per_scene: int = 40000,
                           seed: int = 0) -> None:
    """Write ``num_train + num_val`` synthetic rooms in both ScanNet layouts.

    Scenes whose files all exist are skipped, so a second call resumes an interrupted
    run. Files are written to a temporary name and renamed, so a reader never sees a
    half-written array.

    Args:
        root: output root, e.g. ``data/synthetic/scannet``.
        num_train: number of train scenes (``scene0000_00`` …).
        num_val: number of val scenes (numbered after the train scenes).
        points_per_scene: points per scene N.
        seed: global seed; output is identical for identical arguments.
    """
    if num_train < 0 or num_val < 0:
        raise ValueError(f'scene counts must be >= 0, got {num_train}, {num_val}')
    os.makedirs(osp.join(root, META_DIR), exist_ok=True)
    splits = {'train': range(num_train), 'val': range(num_train, num_train + num_val)}
    for split, indices in splits.items():
        ids = []
        for index in indices:
            scene_id = f'scene{index:04d}_00'
            ids.append(scene_id)
            if all(osp.isfile(p) for p in _scene_paths(root, split, scene_id)):
                continue
            write_synthetic_scene(root, split, scene_id,
                                  make_synthetic_scene(points_per_scene, seed, index))
        write_text(osp.join(root, META_DIR, f'scannetv2_{split}.txt'),
                   ''.join(f'{s}\n' for s in ids))


__all__ = ['make_synthetic_scene', 'write_synthetic_scene', 'write_synthetic_scenes']
