#!/usr/bin/env bash
# Create one virtual environment per peer AutoML tool under bench/.venvs/<peer>.
#
#   bash bench/setup_peers.sh              # flaml and autogluon
#   bash bench/setup_peers.sh flaml        # only the named peers
#   bash bench/setup_peers.sh statsforecast  # the forecasting peer (bench/forecast_peers.py)
#   bash bench/setup_peers.sh surprise     # the rating-prediction peer (bench/recommend.py)
#
# Each peer lives in its own venv so its pins never touch the project's .venv.
# torch is never installed: AutoGluon gets only its tree-model extras.
# Re-running recreates the venvs from scratch.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENVS="$BENCH_DIR/.venvs"
PYTHON="${PYTHON:-python3}"
PEERS=("$@")
[ ${#PEERS[@]} -eq 0 ] && PEERS=(flaml autogluon)

# FLAML's [automl] extra pins xgboost<3, whose Linux wheel depends on nvidia-nccl-cu12
# (a ~350 MB CUDA library, useless on CPU).  We install FLAML without the extra and add
# its requirements by hand, with the CPU-only xgboost build (same `xgboost` module).
FLAML_PKGS=(flaml 'xgboost-cpu<3' 'lightgbm>=2.3.1' 'scipy>=1.4.1' 'pandas>=1.1.4'
            'scikit-learn>=1.0.0' pyarrow)
# AutoGluon: tree models only (LightGBM, CatBoost, XGBoost (CPU build), sklearn RF/ET/KNN/linear).
# Resolved without torch (~275 MB of wheels, about 10 s of download here).
AUTOGLUON_PKGS=('autogluon.tabular[lightgbm,catboost,xgboost]' pyarrow)
# statsforecast: AutoARIMA, AutoETS and AutoTheta for bench/forecast_peers.py (numba, no torch).
STATSFORECAST_PKGS=(statsforecast pyarrow)
# scikit-surprise: SVD and KNNBaseline for bench/recommend.py (compiled against numpy, no torch).
SURPRISE_PKGS=(scikit-surprise pandas)

make_venv() {  # make_venv NAME PKG...
  local name="$1"; shift
  local dir="$VENVS/$name"
  local t0=$SECONDS
  echo "== $name: creating $dir"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/python" -m pip install -q --upgrade pip
  # Refuse anything that would drag in torch or CUDA wheels.
  "$dir/bin/python" -m pip install -q --dry-run --report "$dir/resolve.json" "$@"
  if "$dir/bin/python" - "$dir/resolve.json" <<'PY'
import json, sys
names = [i["metadata"]["name"].lower() for i in json.load(open(sys.argv[1]))["install"]]
heavy = [n for n in names if n == "torch" or n.startswith("nvidia-")]
print(f"   resolves to {len(names)} packages" + (f"; HEAVY: {heavy}" if heavy else ""))
sys.exit(1 if heavy else 0)
PY
  then
    "$dir/bin/python" -m pip install -q "$@"
  else
    echo "   skipping $name: it would install torch/CUDA wheels"; rm -rf "$dir"; return 0
  fi
  echo "   $name ready in $((SECONDS - t0)) s, $(du -sh "$dir" | cut -f1) on disk"
  "$dir/bin/python" -m pip list 2>/dev/null | grep -iE '^(scikit-surprise|flaml|autogluon\.tabular|xgboost|xgboost-cpu|lightgbm|catboost|statsforecast|numba|pandas|scikit-learn) ' | sed 's/^/   /'
}

for peer in "${PEERS[@]}"; do
  case "$peer" in
    flaml) make_venv flaml "${FLAML_PKGS[@]}" ;;
    autogluon) make_venv autogluon "${AUTOGLUON_PKGS[@]}" ;;
    statsforecast) make_venv statsforecast "${STATSFORECAST_PKGS[@]}" ;;
    surprise) make_venv surprise "${SURPRISE_PKGS[@]}" ;;
    *) echo "unknown peer: $peer (known: flaml autogluon statsforecast surprise)" >&2; exit 2 ;;
  esac
done
