from .original_scalenet import (
                                OriginalKeyError,
                                convert_original_state_dict,
                                load_original_checkpoint,
                                original_key_to_ours,
)

__all__ = ['convert_original_state_dict', 'load_original_checkpoint', 'original_key_to_ours', 'OriginalKeyError']
