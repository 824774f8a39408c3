from .part_segmentor import PartSegmentor, PretrainedSkipKeys
from .scene_segmentor import SceneSegmentor

__all__ = ['SceneSegmentor', 'PartSegmentor', 'PretrainedSkipKeys']
