import pytest
import torch

from scalenet_mm.wsol import CAMResult, MultiScaleCAM, fuse_cams, resize_maps


def test_resize_and_fused_normalisation():
    m = torch.arange(8.).reshape(2, 2, 2)
    r = resize_maps(m, (4, 6))
    assert r.shape == (2, 4, 6)
    n = fuse_cams([torch.stack([m[0], torch.full((2, 2), 3.)])], (2, 2))['stack'][0]
    assert n[0].min() == 0 and n[0].max() == 1
    assert torch.all(n[1] == 0)  # constant map


def test_fuse_mean_max_semantics():
    a = torch.tensor([[[0., 1.], [2., 3.]]])           # (1, 2, 2)
    b = torch.tensor([[[3., 0.], [0., 0.]]])
    out = fuse_cams([a, b], (2, 2), normalize=False)
    assert out['stack'].shape == (2, 1, 2, 2)
    torch.testing.assert_close(out['mean'], (a + b) / 2)
    torch.testing.assert_close(out['max'], torch.maximum(a, b))
    normed = fuse_cams([a, b], (2, 2), normalize=True)
    torch.testing.assert_close(normed['max'], torch.maximum(a / 3, b / 3))
    with pytest.raises(ValueError):
        fuse_cams([a], (2, 2), modes=('median', ))


def test_fuse_different_resolutions_shapes():
    maps = [torch.rand(3, 2, 2), torch.rand(3, 8, 8), torch.rand(3, 16, 16)]
    out = fuse_cams(maps, (32, 24))
    assert out['mean'].shape == (3, 32, 24) and out['max'].shape == (3, 32, 24)
    assert torch.all(out['max'] >= out['mean'] - 1e-6)


class FakeExtractor:
    """Map = input's first channel downsampled by 4; records the sizes and targets it saw."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, targets=None):
        n = x.shape[0]
        scores = torch.zeros(n, 3)
        scores[:, 1] = 1
        t = scores.argmax(1) if targets is None else torch.as_tensor(targets)
        self.calls.append((tuple(x.shape[-2:]), t.tolist()))
        cams = torch.nn.functional.avg_pool2d(x[:, :1], 4)[:, 0]
        return CAMResult(cams=cams, scores=scores, targets=t)


def test_multiscale_cam_runs_sizes_and_fixes_targets():
    ext = FakeExtractor()
    ms = MultiScaleCAM(ext, sizes=(8, 16, 32, 64), min_input_size=16)
    x = torch.rand(2, 3, 32, 32)
    out = ms(x)
    assert ms.skipped == [(8, 8)]
    assert out['sizes'] == [(16, 16), (32, 32), (64, 64)]
    assert out['mean'].shape == (2, 32, 32) and out['stack'].shape == (3, 2, 32, 32)
    assert [c[0] for c in ext.calls] == [(32, 32), (16, 16), (32, 32), (64, 64)]
    assert all(c[1] == [1, 1] for c in ext.calls)  # top-1 of the reference pass, for every scale
    out = ms(x, torch.tensor([2, 0]))
    assert ext.calls[-1][1] == [2, 0]
    with pytest.raises(ValueError):
        MultiScaleCAM(ext, sizes=(8, ), min_input_size=16)
