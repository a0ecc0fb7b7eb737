"""Inference-only conversions (BN folding, oneDNN weight packing) for fast CPU deployment."""
from .bn_fusion import AffineReLU, bn_scale_shift, fold_bn_into_conv
from .cpu_inference import deploy_for_cpu
from .onednn import OneDNNConv2d, OneDNNConvTranspose2d, onednn_available

__all__ = ['AffineReLU', 'bn_scale_shift', 'fold_bn_into_conv', 'deploy_for_cpu', 'OneDNNConv2d',
           'OneDNNConvTranspose2d', 'onednn_available']
