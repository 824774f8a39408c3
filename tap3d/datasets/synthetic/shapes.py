"""Procedural shapes: triangle meshes of recognisable categories, z-up.

Every builder takes a ``numpy.random.Generator`` and returns a list of
``(trimesh.Trimesh, part)`` pieces: primitives with random proportions, each
tagged with a part index local to its category. :func:`make_shape` joins them
into one mesh; :func:`make_part_shape` also returns per-face global
ShapeNetPart labels. Shapes are roughly centred at the origin and about 1-2
units large; writers normalise them anyway.
"""
import math
from typing import Callable, Dict, List, Tuple

import numpy as np

__all__ = [
    'CATEGORIES', 'PART_CATEGORIES', 'PART_RANGES', 'SHAPENETPART_SYNSETS',
    'MODELNET40_CLASSES', 'make_shape', 'make_part_shape', 'make_modelnet40_shape',
    'sample_surface'
]

Pieces = List[Tuple['trimesh.Trimesh', int]]  # noqa: F821


def _trimesh():
    try:
        import trimesh
    except ImportError as err:  # pragma: no cover - trimesh is a core requirement
        raise ImportError('procedural shapes need the package `trimesh` '
                          '(pip install trimesh)') from err
    return trimesh


def _move(mesh, center):
    mesh.apply_translation(np.asarray(center, dtype=np.float64))
    return mesh


def _align_z_to(mesh, axis: str):
    # primitives are built along z; turn them onto x or y when asked
    tm = _trimesh()
    if axis == 'x':
        mesh.apply_transform(tm.transformations.rotation_matrix(math.pi / 2, [0, 1, 0]))
    elif axis == 'y':
        mesh.apply_transform(tm.transformations.rotation_matrix(math.pi / 2, [1, 0, 0]))
    return mesh


def _box(extents, center=(0, 0, 0)):
    return _move(_trimesh().creation.box(extents=extents), center)


def _cyl(radius, height, center=(0, 0, 0), axis='z', sections=24):
    mesh = _trimesh().creation.cylinder(radius=radius, height=height, sections=sections)
    return _move(_align_z_to(mesh, axis), center)


def _cone(radius, height, base=(0, 0, 0), axis='z', sections=24, flip=False):
    tm = _trimesh()
    mesh = tm.creation.cone(radius=radius, height=height, sections=sections)
    if flip:  # apex pointing down
        mesh.apply_transform(tm.transformations.rotation_matrix(math.pi, [1, 0, 0]))
    return _move(_align_z_to(mesh, axis), base)


def _sphere(radius, center=(0, 0, 0), subdivisions=2):
    return _move(_trimesh().creation.icosphere(subdivisions=subdivisions, radius=radius), center)


def _torus(major, minor, center=(0, 0, 0), axis='z'):
    mesh = _trimesh().creation.torus(major_radius=major, minor_radius=minor,
                                     major_sections=32, minor_sections=12)
    return _move(_align_z_to(mesh, axis), center)


def _keep_above(mesh, z0: float, axis: int = 2):
    """The faces of ``mesh`` whose vertices all lie at coordinate ``axis`` >= z0 (no capping)."""
    keep = (mesh.vertices[mesh.faces][:, :, axis] >= z0 - 1e-9).all(axis=1)
    part = mesh.submesh([np.nonzero(keep)[0]], append=True)
    return part


def _legs(rng, half_x, half_y, height, thickness, z0=0.0, round_legs=False):
    legs = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            c = (sx * half_x, sy * half_y, z0 + height / 2)
            legs.append(_cyl(thickness / 2, height, c, sections=10) if round_legs
                        else _box((thickness, thickness, height), c))
    return legs


# ----------------------------------------------------------------------------
# object categories (also the 15 labels of the ScanObjectNN-style data)
# ----------------------------------------------------------------------------
def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def build_box(rng) -> Pieces:
    return [(_box((_u(rng, .6, 1.6), _u(rng, .6, 1.6), _u(rng, .4, 1.4))), 0)]


def build_cylinder(rng) -> Pieces:
    return [(_cyl(_u(rng, .3, .6), _u(rng, .8, 2.0), sections=32), 0)]


def build_cone(rng) -> Pieces:
    return [(_cone(_u(rng, .4, .8), _u(rng, 1.0, 2.0), sections=32), 0)]


def build_sphere(rng) -> Pieces:
    return [(_sphere(_u(rng, .5, 1.0), subdivisions=3), 0)]


def build_torus(rng) -> Pieces:
    return [(_torus(_u(rng, .7, 1.0), _u(rng, .15, .35)), 0)]


def build_capsule(rng) -> Pieces:
    tm = _trimesh()
    return [(tm.creation.capsule(height=_u(rng, .8, 1.8), radius=_u(rng, .25, .45)), 0)]


def build_pyramid(rng) -> Pieces:
    return [(_cone(_u(rng, .7, 1.1), _u(rng, .8, 1.6), sections=4), 0)]


def build_ring(rng) -> Pieces:
    tm = _trimesh()
    r_max = _u(rng, .8, 1.1)
    mesh = tm.creation.annulus(r_min=r_max * _u(rng, .55, .8), r_max=r_max,
                               height=_u(rng, .15, .4), sections=40)
    return [(mesh, 0)]


def build_chair(rng) -> Pieces:
    w, d = _u(rng, .8, 1.1), _u(rng, .8, 1.1)
    seat_h, leg_t = _u(rng, .8, 1.1), _u(rng, .06, .12)
    seat_t, back_h = _u(rng, .08, .15), _u(rng, .8, 1.3)
    pieces = [(_box((w, d, seat_t), (0, 0, seat_h + seat_t / 2)), 1)]
    pieces.append((_box((w, .08, back_h), (0, d / 2 - .04, seat_h + seat_t + back_h / 2)), 0))
    pieces += [(m, 2) for m in _legs(rng, w / 2 - leg_t, d / 2 - leg_t, seat_h, leg_t)]
    if rng.random() < .5:  # arm rests
        for sx in (-1, 1):
            pieces.append((_box((.08, d * .9, .06), (sx * (w / 2 - .04), 0, seat_h + .35)), 3))
            pieces.append((_box((.06, .06, .3), (sx * (w / 2 - .04), -d / 2 + .1,
                                                 seat_h + .2)), 3))
    return pieces


def build_table(rng) -> Pieces:
    w, d = _u(rng, 1.2, 2.0), _u(rng, .7, 1.2)
    h, t, leg = _u(rng, .7, 1.0), _u(rng, .05, .12), _u(rng, .06, .14)
    pieces = [(_box((w, d, t), (0, 0, h + t / 2)), 0)]
    pieces += [(m, 1) for m in _legs(rng, w / 2 - leg, d / 2 - leg, h, leg,
                                     round_legs=rng.random() < .5)]
    if rng.random() < .6:  # a drawer block or a low shelf
        pieces.append((_box((w * .5, d * .8, .15), (0, 0, h - .1)), 2))
    return pieces


def build_lamp(rng) -> Pieces:
    base_r, stem_h = _u(rng, .3, .5), _u(rng, 1.0, 1.8)
    shade_r = _u(rng, .35, .6)
    pieces = [(_cyl(base_r, .08, (0, 0, .04)), 0),
              (_cyl(.04, stem_h, (0, 0, .08 + stem_h / 2), sections=10), 1)]
    top = .08 + stem_h
    pieces.append((_cone(shade_r, shade_r * 1.1, (0, 0, top - .15), sections=24), 2))
    pieces.append((_sphere(.1, (0, 0, top - .1), subdivisions=1), 3))
    return pieces


def build_mug(rng) -> Pieces:
    r, h = _u(rng, .4, .6), _u(rng, .8, 1.3)
    body = _trimesh().creation.annulus(r_min=r * .85, r_max=r, height=h, sections=32)
    body.apply_translation((0, 0, h / 2))
    bottom = _cyl(r, .06, (0, 0, .03))
    # the outer part of a ring; its cut ends sit inside the wall, not in the cup
    ring_r = h * .28
    handle = _keep_above(_torus(ring_r, .06, (r + ring_r * .55, 0, h / 2), axis='y'),
                         r * .92, axis=0)
    return [(body, 0), (bottom, 0), (handle, 1)]


def build_sofa(rng) -> Pieces:
    w, d = _u(rng, 1.8, 2.6), _u(rng, .8, 1.1)
    seat_h, back_h = _u(rng, .35, .5), _u(rng, .4, .7)
    arm_w = _u(rng, .15, .3)
    return [(_box((w, d, seat_h), (0, 0, seat_h / 2)), 0),
            (_box((w, .25, back_h), (0, d / 2 - .125, seat_h + back_h / 2)), 0),
            (_box((arm_w, d, seat_h * .6), (-(w - arm_w) / 2, 0, seat_h * 1.3)), 0),
            (_box((arm_w, d, seat_h * .6), ((w - arm_w) / 2, 0, seat_h * 1.3)), 0)]


def build_shelf(rng) -> Pieces:
    w, d, h = _u(rng, .8, 1.4), _u(rng, .3, .5), _u(rng, 1.4, 2.2)
    n, t = int(rng.integers(3, 6)), .05
    pieces = [(_box((t, d, h), (sx * (w / 2 - t / 2), 0, h / 2)), 0) for sx in (-1, 1)]
    pieces.append((_box((w, t, h), (0, d / 2 - t / 2, h / 2)), 0))
    for i in range(n):
        pieces.append((_box((w, d, t), (0, 0, t / 2 + i * (h - t) / (n - 1))), 0))
    return pieces


def build_bottle(rng) -> Pieces:
    r, h = _u(rng, .25, .4), _u(rng, .9, 1.4)
    neck_r, neck_h = r * _u(rng, .3, .45), _u(rng, .3, .5)
    shoulder = _trimesh().creation.cone(radius=r, height=r * 1.2, sections=32)
    return [(_cyl(r, h, (0, 0, h / 2), sections=32), 0),
            (_move(shoulder, (0, 0, h)), 0),
            (_cyl(neck_r, neck_h, (0, 0, h + r * .6 + neck_h / 2), sections=16), 0)]


_OBJECT_BUILDERS: Dict[str, Callable] = {
    'box': build_box, 'cylinder': build_cylinder, 'cone': build_cone,
    'sphere': build_sphere, 'torus': build_torus, 'capsule': build_capsule,
    'pyramid': build_pyramid, 'ring': build_ring, 'chair': build_chair,
    'table': build_table, 'lamp': build_lamp, 'mug': build_mug, 'sofa': build_sofa,
    'shelf': build_shelf, 'bottle': build_bottle,
}

#: The 15 object categories, in label order.
CATEGORIES = tuple(_OBJECT_BUILDERS)


# ----------------------------------------------------------------------------
# part-labelled categories (ShapeNetPart)
# ----------------------------------------------------------------------------
def build_airplane(rng) -> Pieces:
    length, r = _u(rng, 2.0, 2.8), _u(rng, .14, .22)
    span, chord = _u(rng, 1.8, 2.6), _u(rng, .35, .55)
    body = _cyl(r, length, axis='x', sections=16)
    nose = _cone(r, r * 2, (length / 2, 0, 0), axis='x', sections=16)
    pieces = [(body, 0), (nose, 0),
              (_box((chord, span, .04), (_u(rng, -.1, .2), 0, 0)), 1),
              (_box((.3, span * .35, .04), (-length / 2 + .15, 0, r * .5)), 2),
              (_box((.3, .04, .45), (-length / 2 + .15, 0, r + .2)), 2)]
    for sy in (-1, 1):
        pieces.append((_cyl(.09, .4, (.1, sy * span * .25, -.15), axis='x', sections=12), 3))
    return pieces


def build_bag(rng) -> Pieces:
    w, d, h = _u(rng, .9, 1.3), _u(rng, .3, .5), _u(rng, .7, 1.0)
    return [(_box((w, d, h), (0, 0, h / 2)), 0),
            (_torus(w * .25, .04, (0, 0, h), axis='y'), 1)]


def build_cap(rng) -> Pieces:
    r = _u(rng, .5, .7)
    tm = _trimesh()
    crown = tm.creation.icosphere(subdivisions=3, radius=r)
    crown = _keep_above(crown, 0.0)  # open dome
    return [(crown, 0), (_box((r * 1.1, r * 1.6, .04), (r * 1.2, 0, .02)), 1)]


def build_car(rng) -> Pieces:
    length, w, h = _u(rng, 2.0, 2.8), _u(rng, .9, 1.2), _u(rng, .35, .5)
    wheel_r = _u(rng, .18, .26)
    pieces = [(_box((length, w, h), (0, 0, wheel_r + h / 2)), 0),
              (_box((length * .5, w * .9, h * .8), (-length * .05, 0, wheel_r + h * 1.4)), 1),
              (_box((length * .2, w * .95, .05), (length * .38, 0, wheel_r + h + .025)), 3)]
    for sx in (-1, 1):
        for sy in (-1, 1):
            pieces.append((_cyl(wheel_r, .15, (sx * length * .33, sy * w / 2, wheel_r),
                                axis='y', sections=16), 2))
    return pieces


def build_earphone(rng) -> Pieces:
    r, span = _u(rng, .25, .35), _u(rng, .8, 1.1)
    pieces = [(_cyl(r, .15, (sx * span, 0, 0), axis='x'), 0) for sx in (-1, 1)]
    band = _keep_above(_torus(span, .05, (0, 0, 0), axis='y'), 0.0)
    pieces.append((band, 1))
    pieces.append((_cyl(.03, .8, (span, 0, -.5), sections=8), 2))
    return pieces


def build_guitar(rng) -> Pieces:
    r1, r2 = _u(rng, .4, .5), _u(rng, .3, .38)
    neck = _u(rng, 1.2, 1.6)
    return [(_cyl(r1, .15, (0, 0, 0), axis='y'), 0),
            (_cyl(r2, .15, (0, 0, r1 + r2 * .6), axis='y'), 0),
            (_box((.12, .06, neck), (0, 0, r1 + r2 + neck / 2)), 1),
            (_box((.2, .08, .3), (0, 0, r1 + r2 + neck + .15)), 2)]


def build_knife(rng) -> Pieces:
    blade, handle = _u(rng, 1.0, 1.5), _u(rng, .5, .7)
    return [(_box((blade, .03, _u(rng, .15, .25)), (blade / 2, 0, 0)), 0),
            (_box((handle, .08, .12), (-handle / 2, 0, 0)), 1)]


def build_laptop(rng) -> Pieces:
    w, d = _u(rng, 1.2, 1.6), _u(rng, .8, 1.1)
    tilt = _u(rng, .1, .45)
    screen = _box((w, .04, d), (0, 0, d / 2))
    tm = _trimesh()
    screen.apply_transform(tm.transformations.rotation_matrix(-tilt, [1, 0, 0]))
    screen.apply_translation((0, d / 2, .05))
    return [(_box((w, d, .06), (0, 0, .03)), 0), (screen, 1)]


def build_motorbike(rng) -> Pieces:
    length, wheel_r = _u(rng, 1.8, 2.3), _u(rng, .3, .4)
    pieces = [(_cyl(.2, .5, (.1, 0, wheel_r * 2 + .1), axis='x', sections=12), 0),  # gas tank
              (_box((.5, .3, .08), (-.35, 0, wheel_r * 2 + .05)), 1)]               # seat
    for sx in (-1, 1):
        pieces.append((_torus(wheel_r * .8, wheel_r * .2, (sx * length / 2 * .8, 0, wheel_r),
                              axis='y'), 2))
    pieces.append((_cyl(.03, .7, (length * .42, 0, wheel_r * 2 + .5), axis='y', sections=8), 3))
    pieces.append((_sphere(.1, (length * .48, 0, wheel_r * 2 + .3), subdivisions=1), 4))
    pieces.append((_box((length * .8, .12, .12), (0, 0, wheel_r * 1.5)), 5))
    return pieces


def build_pistol(rng) -> Pieces:
    barrel = _u(rng, .8, 1.2)
    return [(_box((barrel, .12, .2), (barrel / 2, 0, 0)), 0),
            (_box((.22, .12, _u(rng, .5, .7)), (0, 0, -.3)), 1),
            (_box((.06, .04, .15), (.2, 0, -.17)), 2)]


def build_rocket(rng) -> Pieces:
    r, h = _u(rng, .18, .28), _u(rng, 1.6, 2.4)
    pieces = [(_cyl(r, h, (0, 0, h / 2), sections=20), 0),
              (_cone(r, r * 3, (0, 0, h), sections=20), 2)]
    for k in range(3):
        a = 2 * math.pi * k / 3
        fin = _box((.5, .03, .4), (0, 0, 0))
        fin.apply_transform(_trimesh().transformations.rotation_matrix(a, [0, 0, 1]))
        fin.apply_translation((math.cos(a) * (r + .2), math.sin(a) * (r + .2), .25))
        pieces.append((fin, 1))
    return pieces


def build_skateboard(rng) -> Pieces:
    length, w = _u(rng, 1.8, 2.4), _u(rng, .45, .6)
    pieces = [(_box((length, w, .05), (0, 0, .3)), 0)]
    for sx in (-1, 1):
        pieces.append((_box((.1, w * .8, .1), (sx * length * .33, 0, .22)), 2))
        for sy in (-1, 1):
            pieces.append((_cyl(.08, .07, (sx * length * .33, sy * w * .4, .08), axis='y',
                                sections=12), 1))
    return pieces


_PART_BUILDERS: Dict[str, Callable] = {
    'airplane': build_airplane, 'bag': build_bag, 'cap': build_cap, 'car': build_car,
    'chair': build_chair, 'earphone': build_earphone, 'guitar': build_guitar,
    'knife': build_knife, 'lamp': build_lamp, 'laptop': build_laptop,
    'motorbike': build_motorbike, 'mug': build_mug, 'pistol': build_pistol,
    'rocket': build_rocket, 'skateboard': build_skateboard, 'table': build_table,
}

#: The 16 ShapeNetPart categories, in their usual order.
PART_CATEGORIES = tuple(_PART_BUILDERS)

#: First global part id and number of parts per category (docs DATA layout).
PART_RANGES = {
    'airplane': (0, 4), 'bag': (4, 2), 'cap': (6, 2), 'car': (8, 4), 'chair': (12, 4),
    'earphone': (16, 3), 'guitar': (19, 3), 'knife': (22, 2), 'lamp': (24, 4),
    'laptop': (28, 2), 'motorbike': (30, 6), 'mug': (36, 2), 'pistol': (38, 3),
    'rocket': (41, 3), 'skateboard': (44, 3), 'table': (47, 3),
}

#: ShapeNetPart's synset offsets (the folder names of the real data).
SHAPENETPART_SYNSETS = {
    'airplane': '02691156', 'bag': '02773838', 'cap': '02954340', 'car': '02958343',
    'chair': '03001627', 'earphone': '03261776', 'guitar': '03467517',
    'knife': '03624134', 'lamp': '03636649', 'laptop': '03642767',
    'motorbike': '03790512', 'mug': '03797390', 'pistol': '03948459',
    'rocket': '04099429', 'skateboard': '04225987', 'table': '04379243',
}


def _join(pieces: Pieces):
    tm = _trimesh()
    mesh = tm.util.concatenate([m for m, _ in pieces])
    parts = np.concatenate([np.full(len(m.faces), p, dtype=np.int64) for m, p in pieces])
    return mesh, parts


def make_shape(category: str, rng: np.random.Generator):
    """One random mesh of an object category (any of CATEGORIES or PART_CATEGORIES).

    Returns:
        trimesh.Trimesh, z-up.
    """
    builder = _OBJECT_BUILDERS.get(category) or _PART_BUILDERS.get(category)
    if builder is None:
        raise KeyError(f'unknown shape category {category!r}; known: '
                       f'{sorted(set(_OBJECT_BUILDERS) | set(_PART_BUILDERS))}')
    return _join(builder(rng))[0]


def make_part_shape(category: str, rng: np.random.Generator):
    """One random part-labelled mesh of a ShapeNetPart category.

    Returns:
        mesh: trimesh.Trimesh, z-up.
        face_parts: (F,) int64 global part ids (e.g. mug: 36 body, 37 handle).
    """
    if category not in _PART_BUILDERS:
        raise KeyError(f'unknown part category {category!r}; known: {PART_CATEGORIES}')
    mesh, parts = _join(_PART_BUILDERS[category](rng))
    first, count = PART_RANGES[category]
    assert parts.max() < count
    return mesh, parts + first


#: ModelNet40 class names, each built by one of the generators above with its
#: own fixed proportions, so the 40 labels stay distinguishable in principle.
MODELNET40_CLASSES = (
    'airplane', 'bathtub', 'bed', 'bench', 'bookshelf', 'bottle', 'bowl', 'car', 'chair',
    'cone', 'cup', 'curtain', 'desk', 'door', 'dresser', 'flower_pot', 'glass_box',
    'guitar', 'keyboard', 'lamp', 'laptop', 'mantel', 'monitor', 'night_stand', 'person',
    'piano', 'plant', 'radio', 'range_hood', 'sink', 'sofa', 'stairs', 'stool', 'table',
    'tent', 'toilet', 'tv_stand', 'vase', 'wardrobe', 'xbox')


def _boxy(ext):
    def build(rng):
        jitter = rng.uniform(.85, 1.15, 3)
        return [(_box(np.asarray(ext) * jitter), 0)]
    return build


def _person(rng):
    h = _u(rng, 1.6, 1.9)
    return [(_box((.35, .2, h * .35), (0, 0, h * .62)), 0), (_sphere(.12, (0, 0, h * .88)), 0),
            (_box((.12, .12, h * .48), (-.1, 0, h * .24)), 0),
            (_box((.12, .12, h * .48), (.1, 0, h * .24)), 0),
            (_box((.08, .08, h * .35), (-.25, 0, h * .6)), 0),
            (_box((.08, .08, h * .35), (.25, 0, h * .6)), 0)]


def _bowl(rng):
    r = _u(rng, .6, .9)
    bowl = _trimesh().creation.icosphere(subdivisions=3, radius=r)
    # keep the part below z = 0.3 r: mirror, keep the upper part, mirror back
    bowl.apply_transform(np.diag([1., 1., -1., 1.]))
    bowl = _keep_above(bowl, -r * .3)
    bowl.apply_transform(np.diag([1., 1., -1., 1.]))
    return [(bowl, 0)]


def _stairs(rng):
    n = int(rng.integers(4, 7))
    return [(_box((1, .3, .2 * (i + 1)), (0, .3 * i, .1 * (i + 1))), 0) for i in range(n)]


def _tent(rng):
    return [(_cone(_u(rng, .9, 1.2), _u(rng, .8, 1.2), sections=3), 0)]


def _stool(rng):
    h = _u(rng, .6, .9)
    legs = _legs(rng, .15, .15, h, .05, round_legs=True)
    return [(_cyl(.3, .06, (0, 0, h)), 0)] + [(m, 0) for m in legs]


def _toilet(rng):
    return [(_cyl(.3, .4, (0, 0, .2)), 0), (_torus(.28, .07, (0, 0, .42)), 0),
            (_box((.6, .2, .5), (0, .35, .6)), 0)]


def _plant(rng):
    return [(_cyl(.25, .35, (0, 0, .175)), 0), (_sphere(_u(rng, .4, .6), (0, 0, .8)), 0)]


def _monitor(rng):
    return [(_box((1.2, .06, .75), (0, 0, .7)), 0), (_box((.08, .08, .35), (0, 0, .2)), 0),
            (_box((.4, .25, .04), (0, 0, .02)), 0)]


_MODELNET_BUILDERS: Dict[str, Callable] = {
    'airplane': build_airplane, 'bathtub': _boxy((1.7, .8, .5)), 'bed': build_sofa,
    'bench': _boxy((1.8, .4, .45)), 'bookshelf': build_shelf, 'bottle': build_bottle,
    'bowl': _bowl, 'car': build_car, 'chair': build_chair, 'cone': build_cone,
    'cup': build_mug, 'curtain': _boxy((1.5, .05, 2.0)), 'desk': build_table,
    'door': _boxy((.9, .06, 2.0)), 'dresser': _boxy((1.2, .5, 1.0)),
    'flower_pot': _plant, 'glass_box': _boxy((1, 1, 1)), 'guitar': build_guitar,
    'keyboard': _boxy((1.6, .5, .05)), 'lamp': build_lamp, 'laptop': build_laptop,
    'mantel': _boxy((1.6, .3, 1.2)), 'monitor': _monitor, 'night_stand': _boxy((.5, .4, .6)),
    'person': _person, 'piano': _boxy((1.5, .6, 1.3)), 'plant': _plant,
    'radio': _boxy((.8, .3, .5)), 'range_hood': build_pyramid, 'sink': build_ring,
    'sofa': build_sofa, 'stairs': _stairs, 'stool': _stool, 'table': build_table,
    'tent': _tent, 'toilet': _toilet, 'tv_stand': _boxy((1.5, .45, .5)),
    'vase': build_bottle, 'wardrobe': _boxy((1.2, .6, 2.0)), 'xbox': _boxy((.3, .6, .75)),
}
assert tuple(_MODELNET_BUILDERS) == MODELNET40_CLASSES


def make_modelnet40_shape(name: str, rng: np.random.Generator):
    """One random mesh for a ModelNet40 class name (see MODELNET40_CLASSES)."""
    if name not in _MODELNET_BUILDERS:
        raise KeyError(f'unknown ModelNet40 class {name!r}')
    return _join(_MODELNET_BUILDERS[name](rng))[0]


def sample_surface(vertices: np.ndarray, faces: np.ndarray, num: int,
                   rng: np.random.Generator):
    """Area-weighted uniform samples on a triangle mesh.

    Args:
        vertices: (V, 3), faces: (F, 3) int.
        num: number of samples.
        rng: random generator.

    Returns:
        points (num, 3) float32, normals (num, 3) float32 (face normals),
        face_index (num,) int64.
    """
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(cross, axis=1)
    if area.sum() <= 0:
        raise ValueError('sample_surface: the mesh has zero area')
    face = rng.choice(len(tri), size=num, p=area / area.sum())
    r1, r2 = rng.random(num), rng.random(num)
    flip = r1 + r2 > 1  # fold the unit square onto the triangle
    r1[flip], r2[flip] = 1 - r1[flip], 1 - r2[flip]
    t = tri[face]
    pts = t[:, 0] + r1[:, None] * (t[:, 1] - t[:, 0]) + r2[:, None] * (t[:, 2] - t[:, 0])
    normals = cross[face] / np.maximum(area[face], 1e-12)[:, None]
    return pts.astype(np.float32), normals.astype(np.float32), face.astype(np.int64)
