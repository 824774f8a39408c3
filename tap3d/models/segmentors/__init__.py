from .scene_segmentor import SceneSegmentor
from .part_segmentor import PartSegmentor, PretrainedSkipKeys
__all__ = ['SceneSegmentor', 'PartSegmentor', 'PretrainedSkipKeys']
