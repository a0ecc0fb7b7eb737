"""ScaleNet architecture presets, arch-dict parsing and the paper's depth/naming rule.

An architecture is described by a dict in the key format of the authors' ``arch_params`` files
(``stages``, ``depth``, ``layers``, ``blocks``, ``slink``, ``growth``, ``expand``, ``dfunc``, ``dstyle``,
``rock``, ``branch``, ``last_down``, ``last_dfuc``, ``last_expand``, ``version``, ...). Every architecture of
the reference implementation is a preset here, addressable by the authors' id (``'vo21'``), by the config-file
style name (``'imagenet_d4d5s5'``) and, for the paper's Table-2 rows, by the paper name (``'D4D5S5'``,
``'ScaleNet54-D4D5S5'``).

Naming scheme of the CIFAR presets: ``{dataset}_{layout}_{depth}l[_singlepath]``, e.g. ``cifar10_d20s5_98l``
is the 98-layer D20S5 net of Tables 1 and 5 on CIFAR-10 (authors' id ``ci13``).

Keys that only the authors' training code used (``nclass``, ``classify``, ``fcboost``, ``kldloss``, ``afisok``,
``summer``, ``last_branch``) are accepted for compatibility; the auxiliary features they switch on are not
implemented, so non-default values raise.
"""
import copy
import difflib
from dataclasses import dataclass
from typing import Dict, Optional, Tuple, Union

__all__ = ['ARCH_ZOO', 'ARCH_ALIASES', 'PAPER_NAMES', 'ScaleNetArch', 'resolve_arch', 'scalenet_depth',
           'scalenet_name']

# yapf: disable
ARCH_ZOO: Dict[str, dict] = {
    'vo69': dict(stages=1, depth=64, layers=(25,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), dstyle=('maxpool', 'convk2m', 'convk2'), rock='N', branch=1, last_down=True, last_dfuc='E',
        last_expand=1036, version=3, stem='imagenet', nclass=1000),
    'vo37': dict(stages=2, depth=80, layers=(8, 8), blocks=('D', 'D'), slink=('A', 'A'), growth=(0, 0),
        expand=(80,), dfunc=('O',), dstyle=('maxpool', 'convk2m', 'convk2'), rock='U', branch=1,
        last_down=True, last_dfuc='E', last_expand=352, version=3, upscale='deconv', stem='imagenet',
        nclass=1000),
    'vo6': dict(stages=3, depth=64, layers=(3, 3, 3), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(6, 7, 8), expand=(64, 128), dfunc=('O', 'O'), dstyle='maxpool', rock='U', branch=3,
        last_down=True, last_dfuc='D', last_expand=256, version=3, stem='imagenet', nclass=1000),
    'vo20': dict(stages=3, depth=80, layers=(3, 3, 3), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(0, 0, 0), expand=(80, 240), dfunc=('O', 'O'), dstyle=('maxpool', 'convk2m', 'convk2'),
        rock='U', branch=1, last_down=True, last_dfuc='E', last_expand=520, version=3, stem='imagenet',
        nclass=1000),
    'vo19': dict(stages=3, depth=80, layers=(4, 4, 4), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(0, 0, 0), expand=(80, 240), dfunc=('O', 'O'), dstyle=('maxpool', 'convk2m', 'convk2'),
        rock='U', branch=1, last_down=True, last_dfuc='E', last_expand=914, version=3, stem='imagenet',
        nclass=1000),
    'vo21': dict(stages=3, depth=80, layers=(4, 5, 5), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(0, 0, 0), expand=(80, 240), dfunc=('O', 'O'), dstyle=('maxpool', 'convk2m', 'convk2'),
        rock='U', branch=1, last_down=True, last_dfuc='E', last_expand=1346, version=3, stem='imagenet',
        nclass=1000),
    'vo72': dict(stages=3, depth=80, layers=(4, 5, 6), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(-8, -20, -50), expand=(120, 240), dfunc=('O', 'O'), dstyle=('maxpool', 'convk2m', 'convk2'),
        rock='N', branch=1, last_down=True, last_dfuc='E', last_expand=1260, version=3, stem='imagenet',
        nclass=1000),
    'vo76': dict(stages=3, depth=80, layers=(4, 5, 6), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(-8, -8, -8), expand=(80, 160), dfunc=('O', 'O'), dstyle=('maxpool', 'convk2m', 'convk2'),
        rock='N', branch=1, last_down=True, last_dfuc='E', last_expand=1410, version=3, stem='imagenet',
        nclass=1000),
    'vo53': dict(stages=1, depth=64, layers=(25,), blocks=('D',), slink=('A',), growth=(6,), expand=(),
        dfunc=(), dstyle=('maxpool', 'convk2m', 'convk2'), rock='N', branch=1, last_down=True, last_dfuc='E',
        last_expand=456, version=3, upscale='deconv', stem='imagenet', nclass=1000),
    'ao1': dict(stages=1, depth=64, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=10),
    'ci7': dict(stages=3, depth=22, layers=(3, 3, 3), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(0, 0, 0), expand=(22, 44), dfunc=('O', 'O'), dstyle='maxpool', rock='U', branch=3,
        last_down=False, last_dfuc='D', last_expand=32, version=2, stem='cifar', nclass=10),
    'ao2': dict(stages=1, depth=56, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=10),
    'ao3': dict(stages=1, depth=48, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=10),
    'ao4': dict(stages=1, depth=40, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=10),
    'ao5': dict(stages=1, depth=36, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=10),
    'bo1': dict(stages=1, depth=100, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=1, last_down=False, last_dfuc='D', last_expand=36, version=3, stem='cifar',
        nclass=100),
    'bo2': dict(stages=1, depth=90, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=1, last_down=False, last_dfuc='D', last_expand=36, version=3, stem='cifar',
        nclass=100),
    'bo3': dict(stages=1, depth=80, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=1, last_down=False, last_dfuc='D', last_expand=36, version=3, stem='cifar',
        nclass=100),
    'bo4': dict(stages=1, depth=70, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=1, last_down=False, last_dfuc='D', last_expand=36, version=3, stem='cifar',
        nclass=100),
    'bo5': dict(stages=1, depth=60, layers=(10,), blocks=('D',), slink=('A',), growth=(0,), expand=(),
        dfunc=(), rock='U', branch=1, last_down=False, last_dfuc='D', last_expand=36, version=3, stem='cifar',
        nclass=100),
    'wa1': dict(stages=1, depth=64, layers=(7,), blocks=('D',), slink=('A',), growth=(-10,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=10),
    'ax14a': dict(stages=1, depth=64, layers=(7,), blocks=('D',), slink=('C',), growth=(-10,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=10),
    'ro2': dict(stages=1, depth=64, layers=(7,), blocks=('D',), slink=('A',), growth=(-10,), expand=(),
        dfunc=(), rock='U', branch=3, last_down=False, last_dfuc='D', last_expand=36, version=2, stem='cifar',
        nclass=100),
    'ci13': dict(stages=2, depth=27, layers=(20, 5), blocks=('D', 'S'), slink=('A', 'A'), growth=(8, 8),
        expand=(27,), dfunc=('O',), dstyle='avgpool', rock='U', branch=3, last_down=True, last_dfuc='C',
        last_expand=64, version=2, stem='cifar', nclass=10),
    'cu13': dict(stages=2, depth=27, layers=(20, 5), blocks=('D', 'S'), slink=('C', 'C'), growth=(8, 8),
        expand=(27,), dfunc=('O',), dstyle='avgpool', rock='U', branch=3, last_down=True, last_dfuc='C',
        last_expand=64, version=2, stem='cifar', nclass=10),
    'ci4': dict(stages=3, depth=48, layers=(9, 8, 5), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(2, 4, 8), expand=(48, 96), dfunc=('O', 'O'), dstyle='avgpool', rock='U', branch=3,
        last_down=False, last_dfuc='D', last_expand=32, version=2, stem='cifar', nclass=10),
    'cc1': dict(stages=3, depth=48, layers=(9, 8, 5), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(2, 5, 8), expand=(48, 96), dfunc=('O', 'O'), rock='U', branch=3, last_down=False,
        last_dfuc='D', last_expand=32, stem='cifar', nclass=100),
    'ci5': dict(stages=3, depth=48, layers=(23, 10, 7), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(4, 4, 8), expand=(48, 96), dfunc=('O', 'O'), dstyle='maxpool', rock='U', branch=3,
        last_down=False, last_dfuc='D', last_expand=32, version=2, stem='cifar', nclass=10),
    'cs6': dict(stages=3, depth=48, layers=(23, 10, 7), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(4, 4, 8), expand=(48, 96), dfunc=('O', 'O'), dstyle='maxpool', rock='U', branch=3,
        last_down=False, last_dfuc='D', last_expand=32, version=2, stem='cifar', nclass=100),
    'vx8': dict(stages=2, depth=16, layers=(50, 5), blocks=('D', 'S'), slink=('A', 'A'), growth=(4, 4),
        expand=(16,), dfunc=('O',), rock='U', branch=3, last_down=True, last_dfuc='D', last_expand=32,
        stem='cifar', nclass=100),
    'vx32': dict(stages=3, depth=16, layers=(78, 28, 4), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(-3, -3, 4), expand=(11, 16), dfunc=('O', 'O'), rock='U', branch=3, last_down=False,
        last_dfuc='D', last_expand=32, version=1, stem='cifar', nclass=100),
    'tx2': dict(stages=3, depth=16, layers=(272, 200, 50), blocks=('D', 'D', 'S'), slink=('A', 'A', 'A'),
        growth=(2, 2, 4), expand=(10, 20), dfunc=('O', 'O'), rock='U', branch=3, last_down=False,
        last_dfuc='D', last_expand=32, stem='cifar', nclass=10),}
# yapf: enable

#: Alternative names of the presets (matching is case-insensitive and treats '-' like '_').
ARCH_ALIASES: Dict[str, Tuple[str, ...]] = {
    'vo69': ('imagenet_d25', 'D25', 'ScaleNet103-D25'),
    'vo37': ('imagenet_d8d8', 'D8D8', 'ScaleNet68-D8D8'),
    'vo6': ('imagenet_d3d3s3_44l', 'D3D3S3-44L', 'ScaleNet44-D3D3S3'),
    'vo20': ('imagenet_d3d3s3_38l', 'D3D3S3-38L', 'ScaleNet38-D3D3S3'),
    'vo19': ('imagenet_d4d4s4', 'D4D4S4', 'ScaleNet48-D4D4S4'),
    'vo21': ('imagenet_d4d5s5', 'D4D5S5', 'ScaleNet54-D4D5S5'),
    'vo72': ('imagenet_d4d5s6', 'D4D5S6', 'ScaleNet59-D4D5S6'),
    'vo53': ('imagenet_d25_g6', 'ScaleNet103-D25-G6'),
    'ao1': ('cifar10_d10_44l', 'ScaleNet44-D10'),
    'wa1': ('cifar10_d7_32l', 'ScaleNet32-D7'),
    'ax14a': ('cifar10_d7_32l_singlepath',),
    'ro2': ('cifar100_d7_32l',),
    'ci13': ('cifar10_d20s5_98l', 'ScaleNet98-D20S5'),
    'cu13': ('cifar10_d20s5_98l_singlepath',),
    'ci4': ('cifar10_d9d8s5_90l',),
    'cc1': ('cifar100_d9d8s5_90l',),
    'ci5': ('cifar10_d23d10s7_157l',),
    'cs6': ('cifar100_d23d10s7_157l',),
    'vx8': ('cifar100_d50s5_220l',),
    'vx32': ('cifar100_d78d28s4_444l',),
    'tx2': ('cifar10_d272d200s50_2000l', 'ScaleNet2000-D272D200S50'),
}

#: The paper row each preset corresponds to, where there is one (from the spec's matching).
PAPER_NAMES: Dict[str, str] = {
    'vo69': 'ScaleNet-D25 (ScaleNet103), Table 2 row 1',
    'vo37': 'ScaleNet-D8D8, Table 2 row 2',
    'vo6': 'ScaleNet-D3D3S3 (44L), Table 2 row 3',
    'vo20': 'ScaleNet-D3D3S3 (38L), Table 2 row 4',
    'vo19': 'ScaleNet-D4D4S4, Table 2 row 5',
    'vo21': 'ScaleNet-D4D5S5, Table 2 row 6',
    'vo72': 'ScaleNet-D4D5S6, Table 2 row 7',
    'vo53': 'ScaleNet103 as quoted in Sec. IV-G (5.08M, 5.26G); also a D25',
    'ao1': 'ScaleNet44-D10 (2.0M), Table 3 row 4 / Fig. 1',
    'wa1': 'ScaleNet32-D7 (1.0M): Table 1 wide "ScaleNet-D 32L 1.0M" C10, Table 3, Table 5 MultiPath',
    'ax14a': 'ScaleNet32 SinglePath (Table 5, C10 6.96%) = wa1 with slink C',
    'ro2': 'ScaleNet32-D7 on CIFAR-100 (Table 1 C100 25.18 / Table 5)',
    'ci13': 'ScaleNet98-D20S5 (1.7M): Table 1 wide "98L 1.7M" C10, Table 5 MultiPath',
    'cu13': 'ScaleNet98 SinglePath (Table 5, C10 6.72%) = ci13 with slink C',
    'ci4': 'candidate B for Table 1 wide "ScaleNet-DDS 90L 10.0M" (C10)',
    'cc1': 'Table 1 wide "ScaleNet-DDS 90L 10.0M" on CIFAR-100 (likely)',
    'ci5': 'Table 1 wide "ScaleNet-DDS 157L 15.0M" (C10)',
    'cs6': 'Table 1 wide "ScaleNet-DDS 157L 15.0M" (C100)',
    'vx8': 'Table 1 deep "ScaleNet-DS 222L 1.2M" (C100, likely)',
    'vx32': 'Table 1 deep "ScaleNet-DS 444L 1.7M" (C100, likely; it is D78D28S4)',
    'tx2': 'ScaleNet2000-D272D200S50 (15M, Fig. 3; Table 1 deep DDS 2000L 15.0M C10 4.53)',
}

_DEFAULT_DSTYLE = ('avgpool', 'convk3a', 'convk2')
_POOLS = ('maxpool', 'avgpool')
_STRIDE4_PATHS = ('convk2', 'convk2a', 'convk2m', 'convk3', 'convk3a', 'convk3m') + _POOLS
_STRIDE2_PATHS = ('convk2', 'convk3') + _POOLS
#: slink codes: 'A' multipath (the paper's), 'C' the Table-5 single path, 'N' no skip connection at all.
SLINKS = {'A': 'multipath', 'C': 'singlepath', 'N': 'none'}

# key -> (default, check). A check returns an error string or None.
_COMPAT_KEYS = dict(nclass=None, classify=None, fcboost='none', kldloss=False, afisok=False, summer='split',
                    last_branch=1)
_KNOWN_KEYS = {'stages', 'depth', 'layers', 'blocks', 'slink', 'growth', 'expand', 'dfunc', 'dstyle', 'rock',
               'branch', 'last_down', 'last_dfuc', 'last_expand', 'version', 'upscale', 'upmode', 'upksp',
               'downscale', 'downksp', 'stem'} | set(_COMPAT_KEYS)


class ArchError(ValueError):
    """An architecture name or dict that cannot describe a ScaleNet."""


def _normalise_name(name: str) -> str:
    return name.strip().lower().replace('-', '_')


def _name_index() -> Dict[str, str]:
    index = {_normalise_name(k): k for k in ARCH_ZOO}
    for key, names in ARCH_ALIASES.items():
        for name in names:
            index[_normalise_name(name)] = key
    return index


def resolve_arch(arch: Union[str, dict]) -> Tuple[Optional[str], dict]:
    """Return ``(preset_id or None, a copy of the arch dict)`` for a preset name or a custom dict."""
    if isinstance(arch, dict):
        return None, copy.deepcopy(arch)
    if not isinstance(arch, str):
        raise ArchError(f'arch must be a preset name or a dict, got {type(arch).__name__}')
    from .named_archs import NAMED_ARCHS, get_named_arch
    if arch in NAMED_ARCHS:  # our configs' small archs: not presets, so no reference numbers apply
        return None, get_named_arch(arch)
    index = _name_index()
    key = index.get(_normalise_name(arch))
    if key is None:
        if _normalise_name(arch) == 'd3d3s3':
            raise ArchError("arch 'D3D3S3' is ambiguous: Table 2 has 'D3D3S3-44L' (vo6) and 'D3D3S3-38L' (vo20)")
        close = difflib.get_close_matches(_normalise_name(arch), list(index), n=3, cutoff=0.6)
        hint = f' Did you mean {", ".join(repr(index[c]) for c in close)}?' if close else ''
        raise ArchError(f'Unknown ScaleNet arch {arch!r}.{hint} Available presets: {", ".join(ARCH_ZOO)} '
                        f'(aliases: scalenet_mm.models.backbones.scalenet_arch.ARCH_ALIASES), a named arch of '
                        'scalenet_mm.models.backbones.NAMED_ARCHS, or pass a dict.')
    return key, copy.deepcopy(ARCH_ZOO[key])


def _seq(value, n: int, key: str, expand_scalar: bool = True) -> tuple:
    if isinstance(value, (str, int, float)) and expand_scalar and not isinstance(value, bool):
        value = (value, ) * n
    value = tuple(value)
    if len(value) != n:
        raise ArchError(f"arch key '{key}' needs {n} entries, got {len(value)}: {value!r}")
    return value


@dataclass(frozen=True)
class ScaleNetArch:
    """A validated, normalised ScaleNet architecture.

    Widths: stage ``i`` has width ``widths[i]`` (``C_1 = depth``, ``C_{i+1} = C_i + expand[i]``) and growth
    ``growth[i]``; ``next_growth[i]`` is the following stage's growth (``last_expand`` for the last stage,
    as in the reference code).
    """
    stages: int
    width: int
    layers: Tuple[int, ...]
    blocks: Tuple[str, ...]
    slink: Tuple[str, ...]
    growth: Tuple[int, ...]
    expand: Tuple[int, ...]
    dstyle: Tuple[str, str, str]
    rock: str
    branch: int
    last_down: bool
    last_dfuc: str
    last_expand: int
    version: int
    upscale: str
    upksp: str
    downscale: str
    downksp: str
    stem: Optional[str]

    @property
    def widths(self) -> Tuple[int, ...]:
        widths = [self.width]
        for e in self.expand:
            widths.append(widths[-1] + e)
        return tuple(widths)

    @property
    def next_growth(self) -> Tuple[int, ...]:
        return self.growth[1:] + (self.last_expand, )

    @property
    def deconv_kernel(self) -> int:
        """3 (k3 s2 p1 op1) for version 3, else 4 (k4 s2 p1 op0)."""
        return 3 if self.version == 3 else 4

    @property
    def out_channels(self) -> int:
        """Channels of the head input."""
        return self.widths[-1] + (self.last_expand if self.last_down else 0)

    def is_identity_fusion(self, in_channels: int, out_channels: int) -> bool:
        """Version >= 2 replaces a 1x1 transition conv whose widths are equal by an identity."""
        return self.version >= 2 and in_channels == out_channels

    @classmethod
    def from_dict(cls, arch: dict) -> 'ScaleNetArch':
        unknown = sorted(set(arch) - _KNOWN_KEYS)
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, sorted(_KNOWN_KEYS), n=1)
                hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ''))
            raise ArchError(f'Unknown arch key(s) {", ".join(hints)}. Known keys: {", ".join(sorted(_KNOWN_KEYS))}')
        for key, default in _COMPAT_KEYS.items():
            value = arch.get(key, default)
            if key == 'classify' and value is not None and any(value):
                raise ArchError("arch key 'classify' (per-block auxiliary classifiers) is not supported; use 0s")
            if key not in ('nclass', 'classify') and value != default:
                raise ArchError(f"arch key '{key}'={value!r} is not supported (only {default!r}): the reference's "
                                'auxiliary heads/losses are outside the backbone')
        missing = [k for k in ('stages', 'depth', 'layers', 'blocks') if k not in arch]
        if missing:
            raise ArchError(f'arch dict is missing required key(s): {", ".join(missing)}')
        n = arch['stages']
        if not isinstance(n, int) or n < 1:
            raise ArchError(f"arch key 'stages' must be a positive int, got {n!r}")
        layers = _seq(arch['layers'], n, 'layers', expand_scalar=False)
        if any(not isinstance(x, int) or x < 1 for x in layers):
            raise ArchError(f"arch key 'layers' must hold positive ints, got {layers!r}")
        blocks = _seq(arch['blocks'], n, 'blocks', expand_scalar=False)
        if any(b not in ('D', 'S') for b in blocks):
            raise ArchError(f"arch key 'blocks' must hold 'D' (DoubleCouple) or 'S' (SingleCouple), got {blocks!r}")
        if 'S' in blocks and 'D' in blocks[blocks.index('S'):]:
            raise ArchError(f"arch key 'blocks'={blocks!r}: all 'D' stages must come before all 'S' stages")
        slink = _seq(arch.get('slink', 'A'), n, 'slink')
        if any(s not in SLINKS for s in slink):
            raise ArchError(f"arch key 'slink' must hold {'/'.join(SLINKS)} ({SLINKS}), got {slink!r}")
        growth = _seq(arch.get('growth', 0), n, 'growth')
        expand = _seq(arch.get('expand', ()), n - 1, 'expand', expand_scalar=False)
        dfunc = _seq(arch.get('dfunc', 'O'), n - 1, 'dfunc')
        if any(d != 'O' for d in dfunc):
            raise ArchError(f"arch key 'dfunc'={dfunc!r}: only the interactive transition 'O' is implemented "
                            '(every released arch uses it)')
        dstyle = arch.get('dstyle', _DEFAULT_DSTYLE)
        if isinstance(dstyle, str):
            dstyle = (dstyle, 'convk3a', 'convk2')
        dstyle = tuple(dstyle)
        if (len(dstyle) != 3 or dstyle[0] not in _POOLS or dstyle[1] not in _STRIDE4_PATHS
                or dstyle[2] not in _STRIDE2_PATHS):
            raise ArchError(f"arch key 'dstyle'={dstyle!r}: expected (pool in {_POOLS}, stride-4 path in "
                            f'{_STRIDE4_PATHS}, stride-2 path in {_STRIDE2_PATHS}) or a single pool name')
        width = arch['depth']
        widths = [width]
        for e in expand:
            widths.append(widths[-1] + e)
        for i, (c, g) in enumerate(zip(widths, growth)):
            low = c + (2 * g if blocks[i] == 'D' else g)
            if c < 1 or low < 1:
                raise ArchError(f'stage {i + 1}: width {c} with growth {g} gives a non-positive channel count')
        checks = dict(rock=('U', 'N'), branch=(1, 2, 3), last_down=(True, False), last_dfuc=('E', 'C', 'D'),
                      version=(1, 2, 3), upscale=('deconv', 'interp'), downscale=('conv', 'pool'),
                      upksp=('311', '110'), downksp=('311', ), stem=(None, 'imagenet', 'cifar'))
        values = dict(rock=arch.get('rock', 'U'), branch=arch.get('branch', 1), last_down=arch.get('last_down', False),
                      last_dfuc=arch.get('last_dfuc', 'E'), version=arch.get('version', 1),
                      upscale=arch.get('upscale', 'deconv'), downscale=arch.get('downscale', 'conv'),
                      upksp=str(arch.get('upksp', '311')), downksp=str(arch.get('downksp', '311')),
                      stem=arch.get('stem'))
        for key, allowed in checks.items():
            if values[key] not in allowed:
                raise ArchError(f"arch key '{key}'={values[key]!r} is not supported; use one of {allowed}")
        if arch.get('upmode', 'nearest') != 'nearest':
            raise ArchError("arch key 'upmode' must be 'nearest' (the Table-4 'D' method)")
        last_expand = arch.get('last_expand', 0)
        if values['last_down'] and (not isinstance(last_expand, int) or widths[-1] + last_expand < 1):
            raise ArchError(f"arch key 'last_expand'={last_expand!r} gives no head channels")
        return cls(stages=n, width=width, layers=layers, blocks=blocks, slink=slink, growth=growth, expand=expand,
                   dstyle=dstyle, last_expand=last_expand, **values)


def _fusion_convs(arch: ScaleNetArch) -> int:
    """Number of non-identity 1x1 convs plus strided-path convs in all transitions (dead ones included)."""
    count = 0
    widths, growth, nxt = arch.widths, arch.growth, arch.next_growth
    for i in range(arch.stages - 1):
        c, g, g2, c_next = widths[i], growth[i], nxt[i], widths[i + 1]
        if arch.blocks[i] == 'D':
            fusions = [(2 * c + g, c_next), (2 * c + 3 * g, c_next + g2), (2 * c + 2 * g, c_next + 2 * g2)]
            count += arch.dstyle[1].startswith('conv') or arch.dstyle[1] in _POOLS
        else:
            fusions = [(2 * c + g, c_next), (2 * c + g, c_next + g2)]
            count += arch.dstyle[2].startswith('conv')
        count += sum(not arch.is_identity_fusion(a, b) for a, b in fusions)
    return count


def scalenet_depth(arch: Union[str, dict, ScaleNetArch]) -> int:
    """The paper's depth: the number of Conv2d + ConvTranspose2d + Linear modules of the reference model.

    It counts the stem branches, 4 (D) or 2 (S) per block, the transitions' strided-path and non-identity 1x1
    convs (including the dead D->S ones, which this package does not build), the last-down convs and the
    classifier's Linear.
    """
    if not isinstance(arch, ScaleNetArch):
        arch = ScaleNetArch.from_dict(resolve_arch(arch)[1])
    per_block = {'D': 4, 'S': 2}
    blocks = sum(per_block[b] * n for b, n in zip(arch.blocks, arch.layers))
    last_down = {'E': 1, 'C': 1, 'D': 2}[arch.last_dfuc] if arch.last_down else 0
    return arch.branch + blocks + _fusion_convs(arch) + last_down + 1


def scalenet_name(arch: Union[str, dict, ScaleNetArch]) -> str:
    """The paper's model name, e.g. ``'ScaleNet54-D4D5S5'`` for vo21."""
    if not isinstance(arch, ScaleNetArch):
        arch = ScaleNetArch.from_dict(resolve_arch(arch)[1])
    layout = ''.join(f'{b}{n}' for b, n in zip(arch.blocks, arch.layers))
    return f'ScaleNet{scalenet_depth(arch)}-{layout}'
