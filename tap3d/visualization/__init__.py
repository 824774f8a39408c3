"""Visualisation helpers: image grids of views."""
from .image_grid import make_image_grid, make_view_grid, save_image

__all__ = ['make_image_grid', 'make_view_grid', 'save_image']
