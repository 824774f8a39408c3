from .finite_check_hook import FiniteCheckHook, NonFiniteError
from .safe_resume_hook import SafeResumeHook
from .view_visualization_hook import ViewVisualizationHook

__all__ = ['FiniteCheckHook', 'NonFiniteError', 'SafeResumeHook', 'ViewVisualizationHook']
