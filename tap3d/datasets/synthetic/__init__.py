from .scenes import make_synthetic_scene, write_synthetic_scene, write_synthetic_scenes

__all__ = ['make_synthetic_scene', 'write_synthetic_scene', 'write_synthetic_scenes']
