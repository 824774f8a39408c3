from .objects import (
                      write_shapenet55_shape,
                      write_synthetic_modelnet40,
                      write_synthetic_objects,
                      write_synthetic_scanobjectnn,
                      write_synthetic_shapenet55,
                      write_synthetic_shapenetpart,
)
from .scenes import make_synthetic_scene, write_synthetic_scene, write_synthetic_scenes

__all__ = [
    'write_shapenet55_shape', 'write_synthetic_objects', 'write_synthetic_shapenet55',
    'write_synthetic_scanobjectnn', 'write_synthetic_modelnet40', 'write_synthetic_shapenetpart',
    'make_synthetic_scene', 'write_synthetic_scene', 'write_synthetic_scenes']
