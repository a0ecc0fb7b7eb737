"""Packaging for scalenet_mm. Use ``make install`` for the pinned stack (mmcv needs a patched source build)."""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
version = {}
exec((ROOT / 'scalenet_mm' / 'version.py').read_text(), version)

setup(
    name='scalenet_mm',
    version=version['__version__'],
    description='ScaleNet (multi-scale conv-deconv CNN) for mmpretrain and mmdet, with CAM-based '
    'weakly supervised localisation',
    long_description=(ROOT / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['scalenet_mm', 'scalenet_mm.*']),
    package_data={'scalenet_mm.models.backbones': ['reference_archs.json']},
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.0', 'torchvision', 'mmengine>=0.10.4,<0.11', 'mmcv>=2.0.0,<2.2.0', 'mmdet>=3.3.0,<3.4',
        'mmpretrain>=1.2.0,<1.3', 'opencv-python', 'matplotlib', 'pycocotools', 'tqdm'
    ],
    extras_require={'tests': ['pytest', 'pytest-timeout']},
    license='Apache-2.0',
    zip_safe=False,
)
