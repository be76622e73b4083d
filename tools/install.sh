#!/usr/bin/env bash
# Install mmfreqkd and its OpenMMLab stack into the current Python environment.
#
# Idempotent: every step checks whether it is already satisfied and skips it.
# The mmcv 2.1.0 wheel (compiled ops) is cached outside the repository in
# $MMFREQKD_CACHE (default ~/.cache/mmfreqkd), keyed by the torch version and
# by CPU/CUDA, so it is compiled once per machine.
#
# Usage:   bash tools/install.sh
# Env:     PYTHON=python3   interpreter to install into
#          FORCE_CUDA=1     compile mmcv's CUDA ops as well (needs nvcc)
#          MAX_JOBS=N       parallel compile jobs (default: number of cores)
set -euo pipefail

PYTHON=${PYTHON:-python3}
# an absolute path: py() below runs it from /
PYTHON_PATH=$(command -v "$PYTHON") || { echo "[install] no interpreter '$PYTHON'" >&2; exit 1; }
case "$PYTHON_PATH" in /*) PYTHON=$PYTHON_PATH ;; *) PYTHON=$(cd "$(dirname "$PYTHON_PATH")" && pwd)/$(basename "$PYTHON_PATH") ;; esac
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${MMFREQKD_CACHE:-$HOME/.cache/mmfreqkd}

TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMENGINE_VERSION=0.10.7
MMCV_VERSION=2.1.0
MMDET_VERSION=3.3.0
MMSEG_VERSION=1.2.2
MMPRETRAIN_VERSION=1.2.0

log() { printf '[install] %s\n' "$*"; }
# Python run from / so that the checkout (and its mmfreqkd.egg-info) on
# sys.path cannot pass for an installed package.
py() { (cd / && "$PYTHON" "$@"); }
pip_install() { "$PYTHON" -m pip install --quiet "$@"; }

# has_dist NAME [VERSION]: true when NAME is installed (at VERSION if given).
has_dist() {
    py - "$@" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
name, want = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
try:
    got = version(name)
except PackageNotFoundError:
    sys.exit(1)
sys.exit(0 if want is None or got.split('+')[0] == want else 1)
PY
}

# ensure NAME==VERSION|NAME ... : install the requirements that are missing.
ensure() {
    local missing=()
    for req in "$@"; do
        local name=${req%%[=<>]*} want=
        [[ $req == *==* ]] && want=${req#*==}
        has_dist "$name" $want || missing+=("$req")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        pip_install "${missing[@]}"
    else
        log "already installed: $*"
    fi
}

log "python: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"

# 1. torch first: mmcv's build imports it.
ensure "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"

# 2. build tooling and mmengine; mmcv's setup.py and mmengine need
#    pkg_resources, which setuptools >= 82 no longer ships.
if "$PYTHON" -c 'import pkg_resources, wheel' 2>/dev/null; then
    log "already installed: setuptools with pkg_resources, wheel"
else
    log "installing setuptools>=77,<82 and wheel"
    pip_install 'setuptools>=77,<82' wheel
fi
ensure ninja "mmengine==$MMENGINE_VERSION"

# 3. mmcv with compiled ops, from the cached wheel or built from source.
#    Installed means: this version, its compiled _ext module, ops that import
#    against the torch now installed (a torch change breaks their ABI) and,
#    with FORCE_CUDA=1, ops compiled with CUDA.
mmcv_installed() {
    has_dist mmcv "$MMCV_VERSION" && py - <<'PY' 2>/dev/null
import glob, importlib.util, os, sys
spec = importlib.util.find_spec('mmcv')
sys.exit(0 if glob.glob(os.path.join(os.path.dirname(spec.origin), '_ext*.so')) else 1)
PY
}
mmcv_ops_ok() {
    py -c "from mmcv.ops import nms" 2>/dev/null
}
mmcv_has_cuda_ops() {
    py -c "import sys; from mmcv.ops import get_compiling_cuda_version as v; sys.exit(v() == 'not available')" 2>/dev/null
}
flavour=cpu
[[ ${FORCE_CUDA:-0} == 1 ]] && flavour=cuda
if mmcv_installed && mmcv_ops_ok && { [[ $flavour == cpu ]] || mmcv_has_cuda_ops; }; then
    log "already installed: mmcv $MMCV_VERSION with compiled ops"
else
    wheel_dir="$CACHE_DIR/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$flavour"
    py_tag=$("$PYTHON" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
    mkdir -p "$wheel_dir"
    if ! ls "$wheel_dir"/mmcv-*-"$py_tag"-*.whl >/dev/null 2>&1; then
        build_dir=$(mktemp -d)
        log "fetching the mmcv $MMCV_VERSION source archive"
        url=$(curl -fsSL https://pypi.org/simple/mmcv/ \
              | grep -o "https://[^\"#]*/mmcv-$MMCV_VERSION\.tar\.gz" | head -n1)
        [[ -n $url ]] || { echo "[install] error: mmcv-$MMCV_VERSION.tar.gz not found on PyPI" >&2; exit 1; }
        curl -fsSL "$url" | tar -xz -C "$build_dir"
        src="$build_dir/mmcv-$MMCV_VERSION"
        # torch >= 2.10 headers need C++20; mmcv 2.1.0 asks for C++17.
        sed -i 's/c++17/c++20/g; s/c++14/c++20/g' "$src/setup.py"
        log "compiling mmcv ops ($flavour, MAX_JOBS=${MAX_JOBS:-$(nproc)}); this takes 15-45 minutes on 2 cores"
        (cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
            "$PYTHON" -m pip wheel --no-build-isolation --no-deps -w "$wheel_dir" .)
        rm -rf "$build_dir"
    else
        log "using cached wheel in $wheel_dir"
    fi
    pip_install --no-deps --force-reinstall "$wheel_dir"/mmcv-*-"$py_tag"-*.whl
    # mmcv's runtime requirements (mmengine is already here).
    ensure addict packaging Pillow pyyaml yapf opencv-python
    mmcv_ops_ok || { echo "[install] error: mmcv.ops does not import after install" >&2; exit 1; }
fi

# 4. the downstream codebases and the remaining libraries.
ensure "mmdet==$MMDET_VERSION" "mmsegmentation==$MMSEG_VERSION" "mmpretrain==$MMPRETRAIN_VERSION" \
       timm pycocotools matplotlib scipy PyWavelets ftfy regex tqdm pytest

# 5. mmfreqkd itself, editable from this checkout (read from pip's metadata).
if py - "$REPO_ROOT" <<'PY' 2>/dev/null
import json, os, sys
from importlib.metadata import distribution
from urllib.parse import unquote, urlparse
url = json.loads(distribution('mmfreqkd').read_text('direct_url.json') or '{}')
editable = url.get('dir_info', {}).get('editable', False)
# pip writes the path percent-encoded (a space as %20)
installed = unquote(urlparse(url.get('url', '')).path)
sys.exit(0 if editable and installed == os.path.abspath(sys.argv[1]) else 1)
PY
then
    log "already installed: mmfreqkd (editable, $REPO_ROOT)"
else
    log "installing mmfreqkd in editable mode from $REPO_ROOT"
    pip_install --no-deps --no-build-isolation -e "$REPO_ROOT"
fi

log "done: $(py -c 'from importlib.metadata import version as v; print(", ".join(f"{n} {v(n)}" for n in ("torch", "mmengine", "mmcv", "mmdet", "mmsegmentation", "mmpretrain", "mmfreqkd")))')"
