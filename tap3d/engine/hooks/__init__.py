from .safe_resume_hook import SafeResumeHook
from .view_visualization_hook import ViewVisualizationHook

__all__ = ['SafeResumeHook', 'ViewVisualizationHook']
