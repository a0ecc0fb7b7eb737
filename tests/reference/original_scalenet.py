"""Literal re-implementation of the authors' ORIGINAL ScaleNet (zhjpqq/scalenet, ``xmodels/scalenet.py``).

Test-only reference. It is written from ``/work/shared/spec/scalenet_architecture.md`` ("spec") alone and
deliberately reproduces the original's module layout, state-dict key names and quirks:

* the stem type is inferred from ``nclass == 1000`` (spec §1);
* DEAD modules of D->S transitions are built and run, their output is thrown away (spec §7.4);
* floor-mode pooling and fixed-size deconvs, so inputs the original rejects raise here too (spec §10);
* ``forward`` returns a Python list holding one logits tensor (spec §9).

Usage::

    model = OriginalScaleNet(arch_dict)   # arch_dict as the ``arch`` entries of REFERENCE_JSON
    logits = model(images)[0]
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['OriginalScaleNet', 'expand_dstyle']


# ----------------------------------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------------------------------
def expand_dstyle(dstyle):
    """spec §2: missing -> (avgpool, convk3a, convk2); a single string s -> (s, convk3a, convk2)."""
    if dstyle is None:
        return ('avgpool', 'convk3a', 'convk2')
    if isinstance(dstyle, str):
        return (dstyle, 'convk3a', 'convk2')
    assert len(dstyle) == 3, dstyle
    return tuple(dstyle)


def _ksp(code):
    """'311' -> (kernel 3, stride 1, padding 1)  (spec §11.3 upksp / downksp)."""
    k, s, p = (int(c) for c in str(code))
    return k, s, p


def _pool2x(kind):
    """Parameter-free 2x2 stride-2 pool, floor mode (spec §7.1 P, §10)."""
    if kind == 'maxpool':
        return nn.MaxPool2d(2, 2)
    if kind == 'avgpool':
        return nn.AvgPool2d(2, 2)
    raise NotImplementedError(f'pool type {kind!r}')


def _comp(cin, cout, version):
    """Transition 1x1 conv T (no BN/ReLU/bias). Identity (no key) for version >= 2 when cin == cout (spec §6)."""
    if version >= 2 and cin == cout:
        return nn.Identity()
    return nn.Conv2d(cin, cout, 1, 1, 0, bias=False)


def _brc(x, bn):
    """BRC pre-activation: BN -> ReLU, the conv is applied by the caller (spec §1)."""
    return F.relu(bn(x))


class _Sampling:
    """Builds the block's stride-2 down conv and the 2x up unit (spec §4, §6, §11.3)."""

    def __init__(self, version, upscale='deconv', upmode='nearest', upksp='311', downscale='conv', downksp='311'):
        self.version, self.upscale, self.upmode, self.upksp = version, upscale, upmode, upksp
        self.downscale, self.downksp = downscale, downksp

    def down(self, cin, cout):
        if self.downscale == 'conv':   # method "A": Conv2d k3 s2 p1
            return nn.Conv2d(cin, cout, 3, 2, 1, bias=False)
        if self.downscale == 'pool':   # method "C": conv (downksp) + maxpool 2x2; key conv1.0.weight
            k, s, p = _ksp(self.downksp)
            return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=False), nn.MaxPool2d(2, 2))
        raise NotImplementedError(f'downscale {self.downscale!r}')

    def up(self, cin, cout):
        if self.upscale == 'deconv':   # method "B"; weight stored [cin, cout, k, k]
            if self.version == 3:
                return nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1, bias=False)
            return nn.ConvTranspose2d(cin, cout, 4, 2, 1, output_padding=0, bias=False)   # versions 1, 2
        if self.upscale == 'interp':   # method "D": upsample x2 + Conv2d (upksp); key deconv3.1.weight
            k, s, p = _ksp(self.upksp)
            return nn.Sequential(nn.Upsample(scale_factor=2, mode=self.upmode),
                                 nn.Conv2d(cin, cout, k, s, p, bias=False))
        raise NotImplementedError(f'upscale {self.upscale!r}')


# ----------------------------------------------------------------------------------------------------------------------
# stem (spec §3)
# ----------------------------------------------------------------------------------------------------------------------
class RockBlock(nn.Module):
    """Stem 'pyramid': each branch processes the raw image on its own; returns (x1, x2, x3) with None for missing."""

    def __init__(self, depth, growth, branch, rock, imagenet):
        super().__init__()
        assert 1 <= branch <= 3, branch
        self.branch = branch
        widths = [depth, depth + growth, depth + 2 * growth]
        if imagenet:
            if rock == 'U':
                k, p, first_pool = 7, 3, lambda: nn.MaxPool2d(3, 2, 1)
            elif rock == 'N':
                k, p, first_pool = 3, 1, lambda: nn.MaxPool2d(2, 2)
            else:
                raise NotImplementedError(f'rock {rock!r}')

            def conv_bn_relu(cout):
                return [nn.Conv2d(3, cout, k, 2, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

            self.branch1 = nn.Sequential(*conv_bn_relu(widths[0]), first_pool())              # stride 4
            if branch >= 2:
                self.branch2 = nn.Sequential(*conv_bn_relu(widths[1]), nn.MaxPool2d(4, 4))     # stride 8
            if branch >= 3:
                self.branch3 = nn.Sequential(*conv_bn_relu(widths[2]), nn.MaxPool2d(4, 4),
                                             nn.MaxPool2d(2, 2))                                # stride 16
        else:
            if rock not in ('U', 'N'):   # CIFAR: U == N
                raise NotImplementedError(f'rock {rock!r}')
            # no BN/ReLU in the CIFAR stem; branch1 is an identity if C1 == 3
            self.branch1 = nn.Identity() if depth == 3 else nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
            if branch >= 2:
                self.branch2 = nn.Conv2d(3, widths[1], 3, 2, 1, bias=False)
            if branch >= 3:
                self.branch3 = nn.Sequential(nn.Conv2d(3, widths[2], 3, 2, 1, bias=False), nn.MaxPool2d(2, 2))

    def forward(self, x):
        x1 = self.branch1(x)
        x2 = self.branch2(x) if self.branch >= 2 else None
        x3 = self.branch3(x) if self.branch >= 3 else None
        return x1, x2, x3


# ----------------------------------------------------------------------------------------------------------------------
# tail units of the last block of a stage
# ----------------------------------------------------------------------------------------------------------------------
class DownSize(nn.Module):
    """Strided path with a ``downsize`` child (keys ``down_res4x.downsize.0.weight`` / ``down_res2x.downsize.weight``).

    stride 4 (spec §7.1 Q, D transitions) or stride 2 (spec §7.2 R, S->S transitions); conv without BN/ReLU/bias.
    """

    def __init__(self, C, style, stride):
        super().__init__()
        if stride == 4:
            if style in ('maxpool', 'avgpool'):            # 1x1 conv + k4 s4 pool
                pool = nn.MaxPool2d(4, 4) if style == 'maxpool' else nn.AvgPool2d(4, 4)
                self.downsize = nn.Sequential(nn.Conv2d(C, C, 1, 1, 0, bias=False), pool)
            else:
                table = {'convk2m': (2, 0, 'maxpool'), 'convk2': (2, 0, 'avgpool'), 'convk2a': (2, 0, 'avgpool'),
                         'convk3m': (3, 1, 'maxpool'), 'convk3': (3, 1, 'avgpool'), 'convk3a': (3, 1, 'avgpool')}
                if style not in table:
                    raise NotImplementedError(f'stride-4 dstyle {style!r}')
                k, p, pool = table[style]
                self.downsize = nn.Sequential(nn.Conv2d(C, C, k, 2, p, bias=False), _pool2x(pool))
        elif stride == 2:
            if style in ('maxpool', 'avgpool'):            # a pool type: no parameters
                self.downsize = _pool2x(style)
            elif style.startswith('convk2'):
                self.downsize = nn.Conv2d(C, C, 2, 2, 0, bias=False)
            elif style.startswith('convk3'):
                self.downsize = nn.Conv2d(C, C, 3, 2, 1, bias=False)
            else:
                raise NotImplementedError(f'stride-2 dstyle {style!r}')
        else:
            raise ValueError(stride)

    def forward(self, x):
        return self.downsize(x)


class LastDown(nn.Module):
    """Down unit before the head, C -> C + last_expand at half resolution (spec §8): E, C or D."""

    def __init__(self, C, last_expand, kind):
        super().__init__()
        cout = C + last_expand
        self.kind = kind
        self.bn1 = nn.BatchNorm2d(C)
        if kind == 'E':                                     # BRC(conv k2 s2 p0)
            self.conv1 = nn.Conv2d(C, cout, 2, 2, 0, bias=False)
        elif kind == 'C':                                   # BRC(conv k3 s2 p1)
            self.conv1 = nn.Conv2d(C, cout, 3, 2, 1, bias=False)
        elif kind == 'D':                                   # BRC(conv k3 s1 p1) + BRC(conv k2 s2 p0)
            self.conv1 = nn.Conv2d(C, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 2, 2, 0, bias=False)
        else:
            raise NotImplementedError(f'last_dfuc {kind!r} (only E, C, D are used by real archs)')

    def forward(self, x):
        x = self.conv1(_brc(x, self.bn1))
        if self.kind == 'D':
            x = self.conv2(_brc(x, self.bn2))
        return x


# ----------------------------------------------------------------------------------------------------------------------
# blocks (spec §4, §5, §7, §8, §11.4)
# ----------------------------------------------------------------------------------------------------------------------
class DoubleCouple(nn.Module):
    """'D' block. ``tail``: None | ('trans', C_next, g_next, dstyle) | ('last', last_dfuc, last_expand)."""

    def __init__(self, C, g, slink, version, sampling, tail=None):
        super().__init__()
        assert slink in ('A', 'C'), f'slink {slink!r}'
        self.slink, self.tail = slink, tail[0] if tail else None
        self.bn1 = nn.BatchNorm2d(C)
        self.conv1 = sampling.down(C, C + g)
        self.bn2 = nn.BatchNorm2d(C + g)
        self.conv2 = sampling.down(C + g, C + 2 * g)
        self.bn3 = nn.BatchNorm2d(C + 2 * g)
        self.deconv3 = sampling.up(C + 2 * g, C + g)
        self.bn4 = nn.BatchNorm2d(C + g)
        self.deconv4 = sampling.up(C + g, C)
        if self.tail == 'trans':                            # dfunc 'O' after a D block (spec §7.1)
            _, C_next, g_next, dstyle = tail
            self.down_res4 = _pool2x(dstyle[0])             # P on y
            self.down_res3 = _pool2x(dstyle[0])             # P on a3
            self.down_res2 = _pool2x(dstyle[0])             # P on a2
            self.down_res4x = DownSize(C, dstyle[1], 4)     # Q on P(y)
            self.comp_res4 = _comp(2 * C + g, C_next, version)
            self.comp_res3 = _comp(2 * C + 3 * g, C_next + g_next, version)
            self.comp_res2 = _comp(2 * C + 2 * g, C_next + 2 * g_next, version)
        elif self.tail == 'last':
            self.down_last4 = LastDown(C, tail[2], tail[1])

    def forward(self, x):
        x1, x2, x3 = x
        a1 = self.conv1(_brc(x1, self.bn1))
        if self.slink == 'A':
            s1 = a1 if x2 is None else a1 + x2              # cross-block skip (previous a3 or stem x2)
            a2 = self.conv2(_brc(s1, self.bn2))
            s2 = a2 if x3 is None else a2 + x3              # cross-block skip (previous a2 or stem x3)
            a3 = self.deconv3(_brc(s2, self.bn3))
            a4 = self.deconv4(_brc(a3 + a1, self.bn4))      # inner skip adds the RAW a1
        else:                                               # 'C' single path (spec §11.4): x2, x3 ignored
            a2 = self.conv2(_brc(a1, self.bn2))
            a3 = self.deconv3(_brc(a2, self.bn3))
            a4 = self.deconv4(_brc(a3, self.bn4))
        y = a4 + x1
        if self.tail == 'trans':
            p = self.down_res4(y)
            out1 = self.comp_res4(torch.cat([p, a3], 1))
            out2 = self.comp_res3(torch.cat([self.down_res3(a3), a2], 1))
            out3 = self.comp_res2(torch.cat([self.down_res2(a2), self.down_res4x(p)], 1))
            return out1, out2, out3
        if self.tail == 'last':
            return self.down_last4(y), None, None
        return y, a3, a2                                    # raw a3, a2 are handed on (spec §4 (i))


class SingleCouple(nn.Module):
    """'S' block; x3 is ignored. ``tail`` as for DoubleCouple (the transition is S->S only, spec §7.2)."""

    def __init__(self, C, g, slink, version, sampling, tail=None):
        super().__init__()
        assert slink in ('A', 'C'), f'slink {slink!r}'
        self.slink, self.tail = slink, tail[0] if tail else None
        self.bn1 = nn.BatchNorm2d(C)
        self.conv1 = sampling.down(C, C + g)
        self.bn2 = nn.BatchNorm2d(C + g)
        self.deconv2 = sampling.up(C + g, C)
        if self.tail == 'trans':
            _, C_next, g_next, dstyle = tail
            self.down_res2 = _pool2x(dstyle[0])             # P on y
            self.down_res1 = _pool2x(dstyle[0])             # P on a1
            self.down_res2x = DownSize(C, dstyle[2], 2)     # R on P(y)
            self.comp_res2 = _comp(2 * C + g, C_next, version)
            self.comp_res1 = _comp(2 * C + g, C_next + g_next, version)
        elif self.tail == 'last':
            self.down_last2 = LastDown(C, tail[2], tail[1])

    def forward(self, x):
        x1, x2, _ = x                                       # x3 is IGNORED
        a1 = self.conv1(_brc(x1, self.bn1))
        s1 = a1 if x2 is None else a1 + x2                  # kept under both 'A' and 'C'
        y = self.deconv2(_brc(s1, self.bn2))
        if self.slink == 'A':
            y = y + x1                                      # 'C' drops this skip (spec §11.4)
        if self.tail == 'trans':
            p = self.down_res2(y)
            out1 = self.comp_res2(torch.cat([p, a1], 1))
            out2 = self.comp_res1(torch.cat([self.down_res1(a1), self.down_res2x(p)], 1))
            return out1, out2, None
        if self.tail == 'last':
            return self.down_last2(y), None, None
        return y, a1, None


# ----------------------------------------------------------------------------------------------------------------------
# head (spec §9)
# ----------------------------------------------------------------------------------------------------------------------
class Summary(nn.Module):
    """summer 'split', last_branch 1: classifier1 = BN[.0] ReLU[.1] GAP[.2] flatten[.3] Linear[.4]."""

    def __init__(self, width, nclass):
        super().__init__()
        self.classifier1 = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1),
                                         nn.Linear(width, nclass))

    def forward(self, x):
        return [self.classifier1(x[0])]                     # the original returns a Python list of logits


# ----------------------------------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------------------------------
class OriginalScaleNet(nn.Module):
    """The authors' ScaleNet built from an arch dict (spec §2). Keys: pyramid.*, stage{i}.{j}.*, summary.*"""

    def __init__(self, arch):
        super().__init__()
        a = dict(arch)
        S = a['stages']
        layers, blocks, slink = list(a['layers']), list(a['blocks']), list(a['slink'])
        growth, expand, dfunc = list(a['growth']), list(a['expand']), list(a['dfunc'])
        assert len(layers) == len(blocks) == len(slink) == len(growth) == S, a
        assert len(expand) >= S - 1 and len(dfunc) >= S - 1, a
        assert ''.join(blocks) == 'D' * blocks.count('D') + 'S' * blocks.count('S'), 'D stages must precede S stages'
        # auxiliary features that no real arch switches on
        assert not any(a.get('classify', [0] * S)), 'per-block classifiers not supported'
        assert a.get('fcboost', 'none') == 'none' and not a.get('kldloss', False) and not a.get('afisok', False)
        assert a.get('summer', 'split') == 'split' and a.get('last_branch', 1) == 1

        version = a.get('version', 1)                       # spec §2: default 1 if the key is missing
        dstyle = expand_dstyle(a.get('dstyle'))
        nclass = a['nclass']
        imagenet = nclass == 1000                           # spec §1: dataset mode inferred from nclass
        last_down, last_dfuc, last_expand = a['last_down'], a['last_dfuc'], a['last_expand']
        if last_down is None:
            raise NotImplementedError('last_down=None (delete the last deconvs) is unused and not supported')
        sampling = _Sampling(version, a.get('upscale', 'deconv'), a.get('upmode', 'nearest'), a.get('upksp', '311'),
                             a.get('downscale', 'conv'), a.get('downksp', '311'))

        widths = [a['depth']]                               # C_{i+1} = C_i + expand[i]
        for i in range(S - 1):
            widths.append(widths[-1] + expand[i])
        gnext = growth[1:] + [last_expand]                  # the code appends last_expand to the growth list

        self.pyramid = RockBlock(widths[0], growth[0], a['branch'], a['rock'], imagenet)
        for i in range(S):
            C, g = widths[i], growth[i]
            Block = DoubleCouple if blocks[i] == 'D' else SingleCouple
            stage = []
            for j in range(layers[i]):
                tail = None
                if j == layers[i] - 1:                      # only the last block of a stage is special (spec §6)
                    if i < S - 1:
                        if dfunc[i] != 'O':
                            raise NotImplementedError(f'dfunc {dfunc[i]!r}: only interactive "O" is supported')
                        if blocks[i] == 'S' and blocks[i + 1] != 'S':
                            raise ValueError('S -> D transition is impossible')
                        tail = ('trans', widths[i + 1], gnext[i], dstyle)
                    elif last_down:
                        tail = ('last', last_dfuc, last_expand)
                stage.append(Block(C, g, slink[i], version, sampling, tail))
            setattr(self, f'stage{i + 1}', nn.Sequential(*stage))
        self.stages = S
        head_width = widths[-1] + last_expand if last_down else widths[-1]
        self.summary = Summary(head_width, nclass)
        self._init_params()

    def _init_params(self):
        """spec §11.1: He-normal fan-out for Conv2d; ConvTranspose2d keeps PyTorch's default; BN 1/0; Linear."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):                    # ConvTranspose2d is NOT a Conv2d subclass
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)           # fan-in, gain sqrt(2)
                m.bias.data.zero_()

    def forward(self, x):
        x = self.pyramid(x)
        for i in range(self.stages):
            x = getattr(self, f'stage{i + 1}')(x)
        return self.summary(x)
