from .finite_check_hook import FiniteCheckHook, NonFiniteError
from .mean_view_baseline_hook import MeanViewBaselineHook
from .safe_resume_hook import SafeResumeHook
from .view_visualization_hook import ViewVisualizationHook

__all__ = [
    'FiniteCheckHook', 'MeanViewBaselineHook', 'NonFiniteError', 'SafeResumeHook',
    'ViewVisualizationHook'
]
