from .couple_blocks import RESIDUAL_WIRINGS, DoubleCouple, SingleCouple
from .resampling import StridedPath, build_down_conv, build_up_conv, crop_to, pad_to_even, pool2x
from .stems import STEM_TYPES, ScaleNetStem
from .transitions import InteractiveTransition, LastDownUnit

__all__ = [
    'DoubleCouple', 'SingleCouple', 'RESIDUAL_WIRINGS', 'ScaleNetStem', 'STEM_TYPES', 'InteractiveTransition',
    'LastDownUnit', 'StridedPath', 'build_down_conv', 'build_up_conv', 'crop_to', 'pad_to_even', 'pool2x'
]
