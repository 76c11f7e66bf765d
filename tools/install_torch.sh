#!/usr/bin/env bash
# Install PyTorch into the current Python: the CUDA build where an NVIDIA GPU is visible,
# otherwise a CPU-only build (an unpinned `torch` from PyPI would pull several GB of CUDA).
set -euo pipefail
PY=${PYTHON:-python}
VERSION=2.13.0
if "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$VERSION') else 1)" 2>/dev/null; then
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  "$PY" -m pip install "torch==$VERSION"
elif ! "$PY" -m pip install "torch==$VERSION+cpu" 2>/dev/null; then
  # Not on a configured index or wheel folder: take it from PyTorch's own CPU index.
  "$PY" -m pip install "torch==$VERSION+cpu" --extra-index-url https://download.pytorch.org/whl/cpu
fi
