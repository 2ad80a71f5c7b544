"""The search state kept beside the output, so an interrupted ``fit`` can resume.

``<output>.homl-work/`` holds ``state.json`` (what the search was for), the Optuna
study (``study.db``) and each short-listed family's result and out-of-fold predictions.
It is removed once the model directory is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from homl import select
from homl._atomic import write_text_atomic
from homl._json import to_json
from homl._progress import Progress


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's values and column names (what the model was trained on)."""
    import hashlib

    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def open_workdir(output, resume: bool, state: dict[str, str | int], progress: Progress
                 ) -> tuple[Path | None, str | None]:
    """The folder beside the output that holds the search study, so a killed run can resume.

    ``state`` says what the search is for (data, target, metric, seed, how rows are split): a
    stored search is resumed only when it was for the same.
    """
    if output is None:
        return None, None
    output = Path(output)
    workdir = output.parent / f"{output.name}.homl-work"
    state_file = workdir / "state.json"
    if workdir.exists():
        previous = json.loads(state_file.read_text()) if state_file.exists() else None
        if resume and previous == state:
            progress.note(f"resuming the search stored in {workdir}")
        else:
            if resume:
                progress.note("resume=True: the stored search was for other data or options; starting afresh")
            shutil.rmtree(workdir)
    elif resume:
        progress.note("resume=True: no interrupted search found; starting afresh")
    workdir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(state_file, json.dumps(state))
    return workdir, f"sqlite:///{(workdir / 'study.db').as_posix()}"


def save_shortlist(workdir: Path | None, evaluation: select.Evaluation) -> None:
    if workdir is None:
        return
    np.save(workdir / f"short-{evaluation.name}.npy", evaluation.oof)
    write_text_atomic(workdir / f"short-{evaluation.name}.json", json.dumps(to_json({
        "params": evaluation.params, "fold_scores": evaluation.fold_scores, "fit_time": evaluation.fit_time,
        "rounds": evaluation.rounds,
    })))


def load_shortlist(workdir: Path | None) -> dict[str, select.Evaluation]:
    if workdir is None:
        return {}
    done = {}
    for path in workdir.glob("short-*.json"):
        name = path.stem[len("short-"):]
        oof_path = workdir / f"short-{name}.npy"
        if not oof_path.exists():
            continue
        saved = json.loads(path.read_text())
        done[name] = select.Evaluation(name, saved["params"], saved["fold_scores"], saved["fit_time"], np.load(oof_path),
                                       rounds=saved.get("rounds"))
    return done
