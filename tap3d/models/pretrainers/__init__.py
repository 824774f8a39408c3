"""Pre-training wrappers."""
from .tap import TAPPretrainer

__all__ = ['TAPPretrainer']
