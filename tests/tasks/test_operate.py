"""Operating a model: ``homl monitor`` flags exactly the features drifted on purpose and stays
quiet on untouched rows; outcomes fed back through a logging server raise a live-performance
alert once they get worse; ``homl retrain`` promotes a better version and keeps a worse one out;
bad input is one clear error (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import homl
from homl.data import example_path
from homl.registry import Registry
from homl.tasks.monitor import REFERENCE_FILE, monitor

TARGET = "median_house_value"
FIT = {"models": ["lightgbm"], "tune": False, "ensemble": False, "bagging": False, "report": False, "cv": 3}


def homl_cli(*args: object, cwd: Path, registry: Registry | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m homl ARGS`` (the real entry point) in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k not in ("HOML_DEBUG", "HOML_REGISTRY")}
    if registry is not None:
        env["HOML_REGISTRY"] = registry.url
    return subprocess.run([sys.executable, "-m", "homl", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**env, "COLUMNS": "200"})


def one_line_error(run: subprocess.CompletedProcess[str], *fragments: str) -> None:
    shown = f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and "Traceback" not in run.stderr and len(lines) == 1, shown
    for fragment in fragments:
        assert fragment in lines[0], shown


@pytest.fixture(scope="module")
def housing(tmp_path_factory):
    """A model fitted on 3,000 housing rows, and 2,000 other rows of the same table."""
    folder = tmp_path_factory.mktemp("operate")
    frame = homl.data.read_table(example_path("housing")).sample(frac=1, random_state=0).reset_index(drop=True)
    homl.fit(frame.iloc[:3000], TARGET, time_limit=20, seed=0, **FIT).save(folder / "model")
    unseen = frame.iloc[3000:5000].reset_index(drop=True)
    return folder, unseen


def _drifted(rows: pd.DataFrame) -> pd.DataFrame:
    """A shifted numeric column, a new category on a fifth of the rows, and 30% missing in another column."""
    changed = rows.copy()
    changed["housing_median_age"] = changed["housing_median_age"] + 12
    rng = np.random.default_rng(1)
    changed.loc[rng.random(len(changed)) < 0.2, "ocean_proximity"] = "FLOATING CITY"
    changed.loc[rng.random(len(changed)) < 0.3, "total_rooms"] = np.nan
    return changed


def test_the_reference_is_a_summary_not_the_rows(housing):
    folder, _ = housing
    saved = json.loads((folder / "model" / REFERENCE_FILE).read_text())
    assert set(saved["columns"]) >= {"median_income", "ocean_proximity"} and saved["rows"] == 2400
    assert "predictions" in saved
    assert len(json.dumps(saved)) < 200_000  # far below the 2,400 rows it summarises


def test_monitor_flags_exactly_the_drifted_features_and_is_quiet_on_untouched_rows(housing, tmp_path):
    folder, unseen = housing
    unseen.to_csv(tmp_path / "untouched.csv", index=False)
    _drifted(unseen).to_csv(tmp_path / "drifted.csv", index=False)

    quiet = homl_cli("monitor", folder / "model", "--current", "untouched.csv", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert monitor(folder / "model", tmp_path / "untouched.csv").drift.drifted == []

    loud = homl_cli("monitor", folder / "model", "--current", "drifted.csv", "-o", "monitor.html", cwd=tmp_path)
    assert loud.returncode == 1, loud.stdout + loud.stderr
    found = monitor(folder / "model", tmp_path / "drifted.csv")
    assert sorted(found.drift.drifted) == ["housing_median_age", "ocean_proximity", "total_rooms"]
    assert "3 of 9 features drifted" in loud.stdout
    page = (tmp_path / "monitor.html").read_text()
    assert all(name in page for name in found.drift.drifted)


def test_outcomes_fed_back_to_a_logging_server_raise_the_alert_when_they_get_worse(housing, tmp_path):
    pytest.importorskip("fastapi", reason="the server needs the serve extra: pip install 'homl[serve]'")
    from fastapi.testclient import TestClient

    from homl.serve import ModelPool, PredictionLogger, create_app

    folder, unseen = housing
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.add(folder / "model", "housing")
    features = unseen.drop(columns=[TARGET]).head(1000)
    answers = []
    with TestClient(create_app(ModelPool(registry), poll_seconds=None,
                               prediction_log=PredictionLogger(registry, 1.0))) as client:
        for start in range(0, len(features), 50):
            instances = json.loads(features.iloc[start:start + 50].to_json(orient="records"))
            answers.append(client.post("/v1/models/housing/predict", json={"instances": instances}).json())
    labels = pd.DataFrame({"request_id": [a["request_id"] for a in answers for _ in range(50)],
                           "row": [i for _ in answers for i in range(50)],
                           TARGET: unseen[TARGET].head(1000).to_numpy()})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    stored = homl_cli("feedback", "housing", "labels.csv", cwd=tmp_path, registry=registry)
    assert stored.returncode == 0 and "1,000 outcomes stored" in stored.stdout, stored.stdout + stored.stderr
    holds = homl_cli("monitor", "housing", cwd=tmp_path, registry=registry)
    assert holds.returncode == 0 and "live rmse" in holds.stdout, holds.stdout + holds.stderr

    labels[TARGET] = labels[TARGET] * 1.6  # the world moved: the same inputs now fetch far more
    labels.to_csv(tmp_path / "worse.csv", index=False)
    assert homl_cli("feedback", "housing", "worse.csv", cwd=tmp_path, registry=registry).returncode == 0
    alert = homl_cli("monitor", "housing", "--since", "1d", cwd=tmp_path, registry=registry)
    assert alert.returncode == 1 and "live performance dropped" in alert.stdout, alert.stdout + alert.stderr
    assert "features drifted" not in alert.stdout

    unknown = labels.head(50).assign(request_id="never-logged")  # one outcome per row of one request
    unknown.to_csv(tmp_path / "unknown.csv", index=False)
    one_line_error(homl_cli("feedback", "housing", "unknown.csv", cwd=tmp_path, registry=registry),
                   "none of the 50 outcomes", "never-logged")


def test_retrain_promotes_a_better_version_and_keeps_a_worse_one_out(housing, tmp_path):
    folder, unseen = housing
    frame = homl.data.read_table(example_path("housing")).sample(frac=1, random_state=5).reset_index(drop=True)
    homl.fit(frame.head(150), TARGET, time_limit=8, seed=0, **FIT).save(tmp_path / "weak")
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.add(tmp_path / "weak", "housing")
    unseen.to_csv(tmp_path / "fresh.csv", index=False)

    better = homl_cli("retrain", "housing", "fresh.csv", cwd=tmp_path, registry=registry)
    assert better.returncode == 0 and "promoted" in better.stdout, better.stdout + better.stderr
    assert registry.get("housing").version == 2 and registry.get("housing").aliases == ("production",)

    worse = homl_cli("retrain", "housing", "fresh.csv", "--window", "40", cwd=tmp_path, registry=registry)
    assert worse.returncode == 3 and "kept out" in worse.stdout, worse.stdout + worse.stderr
    assert [v.version for v in registry.versions("housing")] == [1, 2, 3]
    assert registry.get("housing").version == 2  # production did not move


def test_bad_input_is_one_clear_error(housing, tmp_path):
    folder, unseen = housing
    unseen.drop(columns=["median_income"]).to_csv(tmp_path / "short.csv", index=False)
    unseen.head(0).to_csv(tmp_path / "empty.csv", index=False)
    unseen.head(1).to_csv(tmp_path / "one.csv", index=False)
    unseen.drop(columns=[TARGET]).to_csv(tmp_path / "unlabelled.csv", index=False)
    model = folder / "model"
    one_line_error(homl_cli("monitor", model, "--current", "short.csv", cwd=tmp_path), "median_income")
    one_line_error(homl_cli("monitor", model, "--current", "empty.csv", cwd=tmp_path), "empty.csv", "no data rows")
    one_line_error(homl_cli("monitor", model, "--current", "unlabelled.csv", "--reference", "one.csv", cwd=tmp_path),
                   "reference")
    one_line_error(homl_cli("monitor", model, cwd=tmp_path), "--current")
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.add(model, "housing")
    one_line_error(homl_cli("retrain", "housing", "unlabelled.csv", cwd=tmp_path, registry=registry),
                   f"'{TARGET}'", "unlabelled.csv")
    one_line_error(homl_cli("monitor", "housing", cwd=tmp_path, registry=registry), "no logged predictions")
    assert [v.version for v in registry.versions("housing")] == [1]


def test_a_classifier_is_quiet_on_fresh_rows_and_alerts_on_flipped_outcomes(tmp_path):
    """Titanic: tickets and cabins (hundreds of rare values) do not read as drift on fresh rows;
    outcomes that turned against the model do raise the live alert (ROC AUC from probabilities)."""
    frame = homl.data.read_table(example_path("titanic")).sample(frac=1, random_state=1).reset_index(drop=True)
    homl.fit(frame.head(600), "Survived", time_limit=10, seed=0, **FIT).save(tmp_path / "model")
    fresh = frame.iloc[600:].reset_index(drop=True)
    quiet = monitor(tmp_path / "model", fresh)
    assert quiet.drift.drifted == [] and quiet.live is not None and not quiet.live.alert and quiet.exit_code == 0
    assert quiet.live.metric == "roc_auc" and quiet.live.overall["rows"] == len(fresh)
    flipped = monitor(tmp_path / "model", fresh.assign(Survived=1 - fresh["Survived"]))
    assert flipped.live.alert and flipped.exit_code == 1 and flipped.drift.drifted == []
