__all__ = ['make_image_grid', 'make_view_grid', 'save_image']
from .image_grid import make_image_grid, make_view_grid, save_image
