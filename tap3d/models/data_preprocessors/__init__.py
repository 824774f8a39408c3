from .point_data_preprocessor import (
                                      PER_POINT_KEYS,
                                      PointDataPreprocessor,
                                      build_data_preprocessor,
                                      stack_batch_inputs,
)

__all__ = [
    'PointDataPreprocessor', 'build_data_preprocessor', 'stack_batch_inputs', 'PER_POINT_KEYS'
]
