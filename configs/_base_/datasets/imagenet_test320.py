# Test pipelines of Table 2 of the paper: 320x320 crops from images resized to 350 (short side).
# Only defines new names, so it can be a base next to a full ImageNet config; the config then installs them
# (see configs/scalenet/*_test320.py).
test_pipeline_320 = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=350, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=320),
    dict(type='PackInputs'),
]
tta_pipeline_320 = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=350, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='CropAt', crop_size=320, position=p) for p in ('tl', 'tr', 'bl', 'br', 'center')],
        [dict(type='RandomFlip', prob=0.), dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='PackInputs')],
    ]),
]
