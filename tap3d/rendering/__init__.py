"""Ground-truth view renderer (docs/tap.md §12): meshes and coloured point clouds.

Both renderers frame with :func:`tap3d.geometry.compute_framing`, batch all
views of a shape in one call and run unchanged on CPU and CUDA tensors. The
camera looks along -z_cam: the surface with the largest z_cam is visible.
"""
from .mesh import closed_mesh_orientation, load_mesh, render_mesh, sample_surface_points
from .points import render_points
from .rasterize import rasterize_triangles

__all__ = [
    'render_mesh', 'render_points', 'load_mesh', 'sample_surface_points', 'rasterize_triangles',
    'closed_mesh_orientation'
]
