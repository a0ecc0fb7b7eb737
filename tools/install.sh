#!/usr/bin/env bash
# Install the pinned OpenMMLab stack into ./.venv, idempotently.
#
# Steps (each prints what it does, and a failure names the step and its log):
#   1. venv          python3.11 -m venv .venv
#   2. torch         torch==2.14.1 torchvision==0.29.1 (from the machine's local wheel store)
#   3. build tools   setuptools<81, wheel, ninja (mmcv's build needs them, without build isolation)
#   4. mmcv          2.1.0 with compiled CPU ops; built once per machine from the sdist with the
#                    C++ standard flag patched to c++20, then cached in $SCALENET_MM_CACHE
#   5. stack         mmengine, mmdet, mmpretrain, grad-cam, ONNX Runtime / OpenVINO, test and lint tools
#                    (requirements/{runtime,tests,deploy,lint}.txt)
#   6. package       scalenet_mm in editable mode
# A complete run leaves a stamp in the venv (a hash of this script, the requirement pins, setup.py and the
# checkout's path); while it matches, the install is a no-op that starts no Python (make lint / make test stay
# quick on a loaded machine). FORCE=1 checks every step again.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON_BIN=${PYTHON_BIN:-python3.11}
CACHE=${SCALENET_MM_CACHE:-$HOME/.cache/scalenet_mm}
LOGDIR=$CACHE/logs
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
mkdir -p "$LOGDIR"

PY=$VENV/bin/python
PIP="$PY -m pip --disable-pip-version-check"

STAMP=$VENV/.scalenet_mm-install
fingerprint() { cat "$ROOT/tools/install.sh" "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha256sum | cut -d' ' -f1; echo "$ROOT"; }
if [ "${FORCE:-0}" != 1 ] && [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ]; then
  echo "[install] up to date (stamp $STAMP; FORCE=1 make install rechecks every step)"
  exit 0
fi

step() { printf '\n[install] %s\n' "$*"; }
skip() { printf '[install]   skipped: %s\n' "$*"; }
run_logged() {  # run_logged STEP_NAME LOGFILE CMD...
  local name=$1 log=$2; shift 2
  if ! "$@" >"$log" 2>&1; then
    echo "[install] FAILED at step '$name'. Last lines of $log:" >&2
    tail -n 30 "$log" >&2
    echo "[install] full log: $log" >&2
    exit 1
  fi
}
have_dist() {  # have_dist NAME VERSION: is that exact distribution installed in the venv?
  "$PY" - "$1" "$2" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    ok = version(sys.argv[1]).split('+')[0] == sys.argv[2]
except PackageNotFoundError:
    ok = False
sys.exit(0 if ok else 1)
PYEOF
}

step "1/6 venv: $VENV"
if [ -x "$PY" ]; then skip "venv exists ($("$PY" --version))"; else
  run_logged venv "$LOGDIR/venv.log" "$PYTHON_BIN" -m venv "$VENV"
fi

step "2/6 torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
if have_dist torch $TORCH_VERSION && have_dist torchvision $TORCHVISION_VERSION; then
  skip "torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION already installed"
else
  echo "[install]   installing (several GB on first install; log: $LOGDIR/torch.log)"
  run_logged torch "$LOGDIR/torch.log" $PIP install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

step "3/6 build tools (setuptools<81, wheel, ninja)"
if "$PY" -c "import setuptools, wheel, ninja, sys; sys.exit(int(setuptools.__version__.split('.')[0]) >= 81)" 2>/dev/null; then
  skip "build tools present"
else
  run_logged build-tools "$LOGDIR/build-tools.log" $PIP install "setuptools<81" wheel ninja
fi

step "4/6 mmcv==$MMCV_VERSION with compiled CPU ops"
PYTAG=$("$PY" -c "import sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}')")
ARCH=$(uname -m)
WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PYTAG-$ARCH
mmcv_ops_ok() { "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'; from mmcv.ops import nms" 2>/dev/null; }
if have_dist mmcv $MMCV_VERSION && mmcv_ops_ok; then
  skip "mmcv $MMCV_VERSION with ops already installed"
else
  if ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    echo "[install]   using cached wheel in $WHEEL_DIR (no rebuild)"
  else
    echo "[install]   no cached wheel in $WHEEL_DIR: building from the sdist (~12 min on 2 cores; log: $LOGDIR/mmcv-build.log)"
    BUILD=$(mktemp -d)
    run_logged mmcv-download "$LOGDIR/mmcv-download.log" \
      $PIP download --no-deps --no-binary :all: --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
    tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
    SRC=$BUILD/mmcv-$MMCV_VERSION
    grep -q -- "-std=c++17" "$SRC/setup.py" || { echo "[install] FAILED at step 'mmcv-patch': -std=c++17 not found in $SRC/setup.py" >&2; exit 1; }
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    echo "[install]   patched $SRC/setup.py: -std=c++17 -> -std=c++20"
    mkdir -p "$WHEEL_DIR.tmp"
    ( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        run_logged mmcv-build "$LOGDIR/mmcv-build.log" \
        $PIP wheel --no-build-isolation --no-deps -w "$WHEEL_DIR.tmp" . )
    rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.tmp" "$WHEEL_DIR"
    rm -rf "$BUILD"
    echo "[install]   cached $(ls "$WHEEL_DIR")"
  fi
  run_logged mmcv-install "$LOGDIR/mmcv-install.log" $PIP install --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
fi

step "5/6 mmengine, mmdet, mmpretrain, grad-cam, deploy engines, test and lint tools (requirements/*.txt)"
if "$PY" -m pip install --dry-run --no-deps -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" -r "$ROOT/requirements/deploy.txt" -r "$ROOT/requirements/lint.txt" 2>/dev/null \
    | grep -q "Would install"; then
  echo "[install]   installing (log: $LOGDIR/stack.log)"
  run_logged stack "$LOGDIR/stack.log" $PIP install -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" -r "$ROOT/requirements/deploy.txt" -r "$ROOT/requirements/lint.txt"
else
  skip "all pinned requirements already satisfied"
fi

step "6/6 scalenet_mm (editable)"
if (cd / && "$PY" -c "import importlib.util as u, pathlib, sys; s = u.find_spec('scalenet_mm'); sys.exit(s is None or pathlib.Path(s.origin).resolve().parents[1] != pathlib.Path('$ROOT').resolve())") 2>/dev/null; then
  skip "scalenet_mm already installed in editable mode from $ROOT"
else
  echo "[install]   installing (log: $LOGDIR/package.log)"
  run_logged package "$LOGDIR/package.log" $PIP install --no-deps --no-build-isolation -e "$ROOT"
fi

(cd / && "$PY" -c "import mmcv.ops, mmdet, mmpretrain, scalenet_mm; print('[install] ready: mmcv', mmcv.__version__, '| mmdet', mmdet.__version__, '| mmpretrain', mmpretrain.__version__)")
fingerprint >"$STAMP"
