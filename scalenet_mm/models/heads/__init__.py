"""Classification heads of scalenet_mm (registered in the mmpretrain and mmdet ``MODELS`` registries)."""
from .cam_head import CAMHead, attach_cams, cam_head_maps

__all__ = ['CAMHead', 'attach_cams', 'cam_head_maps']
from .multilabel_cam_head import CAM_POOLINGS, MultiLabelCAMHead  # noqa: E402

__all__ += ['MultiLabelCAMHead', 'CAM_POOLINGS']
