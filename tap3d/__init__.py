"""tap3d: pre-train any point-cloud backbone by teaching it to take photos (TAP)."""
__version__ = '0.1.0'

__all__ = ['__version__']
