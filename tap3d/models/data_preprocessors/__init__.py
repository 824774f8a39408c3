from .point_data_preprocessor import PER_POINT_KEYS, PointDataPreprocessor, stack_batch_inputs

__all__ = ['PointDataPreprocessor', 'stack_batch_inputs', 'PER_POINT_KEYS']
