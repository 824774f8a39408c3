from .safe_resume_hook import SafeResumeHook

__all__ = ['SafeResumeHook']
