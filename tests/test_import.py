"""``import homl`` stays light: the heavy optional libraries load only when a model needs them."""

from __future__ import annotations

import subprocess
import sys


def test_importing_homl_and_its_models_loads_no_deep_learning_library() -> None:
    code = ("import sys, homl, homl.models, homl.tasks; "
            "print(sorted(m for m in ('keras', 'torch', 'umap', 'pyod', 'catboost') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
