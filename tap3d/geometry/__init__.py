"""Camera poses, axis conventions and the framing map (docs/tap.md §2, §4, §5).

This is the one place these formulas live: the renderer and the TAP query
generator both call it.
"""
from .axes import SHAPENET_TO_ZUP, normalize_to_unit_sphere, shapenet_to_zup
from .framing import (FLOOR_TOLERANCE, camera_points, compute_framing, optical_lines,
                      pixel_indices, project_points)
from .poses import (FIXED_VIEW_ELEVATION, fixed_view_angles, fixed_view_rotations,
                    random_view_rotations, rodrigues, rotation_matrix)

__all__ = [
    'rodrigues', 'rotation_matrix', 'fixed_view_rotations', 'fixed_view_angles',
    'random_view_rotations', 'FIXED_VIEW_ELEVATION', 'compute_framing', 'project_points',
    'pixel_indices', 'optical_lines', 'camera_points', 'FLOOR_TOLERANCE', 'SHAPENET_TO_ZUP',
    'shapenet_to_zup', 'normalize_to_unit_sphere'
]
