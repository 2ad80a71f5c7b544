#!/usr/bin/env bash
# Create .venv (if missing) and install homl with its development tools into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# PyTorch's CPU build first (the neural networks run on Keras over PyTorch): a plain `torch`
# requirement resolved by pip would pull a CUDA build of several GB.
TORCH=${TORCH:-torch==2.13.0}
.venv/bin/python -m pip install --quiet "$TORCH"
.venv/bin/python -m pip install --quiet -e ".[dev]"
