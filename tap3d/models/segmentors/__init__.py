from .scene_segmentor import SceneSegmentor
__all__ = ['SceneSegmentor']
