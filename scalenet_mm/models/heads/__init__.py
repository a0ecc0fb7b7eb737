"""Classification heads of scalenet_mm (registered in the mmpretrain and mmdet ``MODELS`` registries)."""
from .cam_head import CAMHead, attach_cams, cam_head_maps

__all__ = ['CAMHead', 'attach_cams', 'cam_head_maps']
