"""Inference-only conversions and deployment: BN folding and oneDNN packing for PyTorch on CPU, ONNX export
with per-engine export forms, and ONNX Runtime / OpenVINO sessions."""
from .bn_fusion import AffineReLU, bn_scale_shift, fold_bn_into_conv, has_running_stats
from .cpu_inference import deploy_for_cpu, fold_conv_bn, switch_to_deploy
from .engines import ENGINES, create_session, engine_available, max_abs_diff
from .export_forms import DECONV_FORMS, NORM_FORMS, BatchNormReLU, PhaseConvDeconv
from .form_selection import prepare_for_export, select_export_model
from .onednn import OneDNNConv2d, OneDNNConvTranspose2d, onednn_available
from .onnx_export import OPSET, ExportError, add_metadata, export_onnx, read_metadata, verify_onnx

__all__ = [
    'AffineReLU', 'bn_scale_shift', 'fold_bn_into_conv', 'has_running_stats', 'deploy_for_cpu', 'switch_to_deploy',
    'fold_conv_bn', 'OneDNNConv2d', 'OneDNNConvTranspose2d', 'onednn_available', 'ENGINES', 'create_session',
    'engine_available', 'max_abs_diff', 'DECONV_FORMS', 'NORM_FORMS', 'BatchNormReLU', 'PhaseConvDeconv',
    'prepare_for_export', 'select_export_model', 'OPSET', 'ExportError', 'add_metadata', 'export_onnx',
    'read_metadata', 'verify_onnx'
]
