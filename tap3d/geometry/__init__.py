"""Camera poses, axis conventions, the framing map (docs/tap.md §2, §4, §5) and boxes.

This is the one place these formulas live: the renderer and the TAP query
generator both call it; the transforms, the 3DETR head and the detection metric
share the boxes module.
"""
from .axes import SHAPENET_TO_ZUP, normalize_to_unit_sphere, shapenet_to_zup
from .boxes import (
                    axis_aligned_giou_3d,
                    axis_aligned_iou_3d,
                    axis_aligned_iou_3d_np,
                    box3d_corners,
                    box3d_to_minmax,
                    class_aware_nms_3d,
                    flip_boxes,
                    nms_3d,
                    rotate_boxes,
                    rotation_about_axis,
                    scale_boxes,
)
from .framing import (
                    FLOOR_TOLERANCE,
                    camera_points,
                    compute_framing,
                    optical_lines,
                    pixel_indices,
                    project_points,
)
from .poses import (
                    FIXED_VIEW_ELEVATION,
                    fixed_view_angles,
                    fixed_view_rotations,
                    random_view_rotations,
                    rodrigues,
                    rotation_matrix,
)

__all__ = [
    'rodrigues', 'rotation_matrix', 'fixed_view_rotations', 'fixed_view_angles',
    'random_view_rotations', 'FIXED_VIEW_ELEVATION', 'compute_framing', 'project_points',
    'pixel_indices', 'optical_lines', 'camera_points', 'FLOOR_TOLERANCE', 'SHAPENET_TO_ZUP',
    'shapenet_to_zup', 'normalize_to_unit_sphere', 'axis_aligned_iou_3d',
    'axis_aligned_iou_3d_np', 'axis_aligned_giou_3d', 'box3d_corners', 'box3d_to_minmax',
    'nms_3d', 'class_aware_nms_3d', 'rotation_about_axis', 'rotate_boxes', 'flip_boxes',
    'scale_boxes'
]
