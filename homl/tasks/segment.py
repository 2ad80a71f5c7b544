"""Segmentation of a table, end to end: read → schema → prepare → choose method and k → profile → save.

>>> import homl
>>> result = homl.segment("customers.csv")              # doctest: +SKIP
>>> result.profiles[0]["description"]                    # doctest: +SKIP
'segment 0: 39% of rows (78); Spending Score 1.0x the median, ...'
>>> homl.load("models/segments").predict_frame("new.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from homl._progress import Progress
from homl.errors import ConfigError

from ._image_segment import ImageSegmentResult, is_image, segment_image
from ._kinds import ModelInfo
from ._model import check_output
from ._resume import data_hash
from ._unsupervised import UnsupervisedModel, UnsupervisedResult, distance_pipeline, read_rows

#: The most segments "auto" tries.
MAX_CLUSTERS = 10


class SegmentModel(UnsupervisedModel):
    """A fitted segmentation: ``schema → preparation → Segmenter``, with what it found.

    ``predict_frame`` gives each row its ``segment`` (numbered from the largest, -1 for rows
    a density method leaves out), its ``distance`` to that segment's centre in the prepared
    space and, for mixtures, the ``probability`` of that segment.
    """

    kind: ClassVar[str] = "segment"
    TABLES = ("candidates",)

    @property
    def candidates(self) -> pd.DataFrame | None:
        """Every method and number of segments tried, with their scores."""
        return self.tables.get("candidates")

    @property
    def segmenter(self) -> Any:
        return self.pipeline[-1]

    def predict(self, data: Any, *, issues: list[str] | None = None) -> np.ndarray:
        """The segment of each row, in input order."""
        X = self._checked(data, issues)
        return self.pipeline.predict(X) if len(X) else np.empty(0, dtype=int)

    def _output_columns(self) -> dict[str, str]:
        probability = {"probability": "float64"} if hasattr(self.segmenter, "predict_proba") else {}
        return {"segment": "int64", "distance": "float64", **probability}

    def _predict_rows(self, X: pd.DataFrame) -> pd.DataFrame:
        prepared = self.pipeline[:-1].transform(X)
        segmenter = self.segmenter
        segments = segmenter.predict(prepared)
        distances = segmenter.transform(prepared)
        out = pd.DataFrame(index=X.index)
        out["segment"] = segments
        kept = segments >= 0
        nearest = np.full(len(segments), np.nan)
        nearest[kept] = distances[kept, segments[kept]]
        out["distance"] = nearest
        if hasattr(segmenter, "predict_proba"):
            proba = segmenter.predict_proba(prepared)
            chosen = np.full(len(segments), np.nan)
            chosen[kept] = proba[kept, segments[kept]]
            out["probability"] = chosen
        return out

    def info(self) -> ModelInfo:
        meta = self.metadata
        lines = [f"segments: {meta.get('n_clusters')} by {meta.get('method_name', meta.get('method'))}",
                 f"why: {meta.get('choice', '')}"]
        lines += [profile["description"] for profile in meta.get("profiles", [])]
        lines.append(f"trained {meta.get('created', '?')} on {meta.get('n_rows', '?')} rows, "
                     f"data sha256 {meta.get('data_sha256', '?')[:16]}…")
        return ModelInfo(kind=self.kind, summary=lines, schema=self.schema, leaderboard=self.candidates,
                         metric="silhouette", versions=dict(meta.get("library_versions", {})))

    def _build_report(self, metadata: dict[str, Any], diagnostics: dict[str, Any] | None) -> Any:
        from homl.report.segments import build_segment_report

        return build_segment_report(metadata, diagnostics)

    def __repr__(self) -> str:
        return (f"SegmentModel(kind='segment', method={self.metadata.get('method')!r}, "
                f"n_clusters={self.metadata.get('n_clusters')})")


@dataclass
class SegmentResult(UnsupervisedResult):
    """What ``segment`` found: the model, each training row's segment, the tries and the profiles."""

    model: SegmentModel
    labels: np.ndarray
    candidates: pd.DataFrame
    profiles: list[dict[str, Any]]
    diagnostics: dict[str, Any] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def n_clusters(self) -> int:
        return int(self.model.metadata["n_clusters"])

    def predict(self, data: Any, *, issues: list[str] | None = None) -> np.ndarray:
        return self.model.predict(data, issues=issues)

    def __repr__(self) -> str:
        meta = self.model.metadata
        return f"SegmentResult(method={meta.get('method')!r}, n_clusters={self.n_clusters}, rows={len(self.labels)})"


def segment(
    data: Any,
    *,
    k: int | None = None,
    method: str = "auto",
    max_clusters: int = MAX_CLUSTERS,
    output: str | Path | None = None,
    overwrite: bool = False,
    seed: int = 42,
    query: str | None = None,
    progress: Progress | None = None,
) -> SegmentResult | ImageSegmentResult:
    """Split the rows of a table into segments of similar rows and say what sets each apart.

    ``data`` is a DataFrame or anything :func:`homl.data.read_table` reads. Identifier
    columns are dropped, missing values imputed, heavy tails logged and every feature
    scaled (distances need it). ``method`` ("auto" or a name of
    :data:`homl.models.SEGMENT_METHODS`) and ``k`` override the choice, which is otherwise made
    by silhouette (and BIC for the Gaussian mixture) for 2 to ``max_clusters`` segments.
    With ``output`` the model directory is written there (with its report).

    An image file (``.png``, ``.jpg``...) is segmented by colour instead: its pixels' colours are
    clustered into ``k`` colours (8 if not given) and the image painted with
    them is written to ``output`` (a ``.png``; default: beside the image).
    """
    from homl.evaluate import segment_diagnostics, segment_profiles
    from homl.models import SEGMENT_METHODS, Segmenter, most_segments

    if is_image(data):
        output = output if output is not None else Path(str(data)).with_name(f"{Path(str(data)).stem}-segments.png")
        return segment_image(data, output, k=k, seed=seed, overwrite=overwrite)
    progress = progress or Progress()
    if method != "auto" and method not in SEGMENT_METHODS:
        raise ConfigError(f"unknown segmentation method {method!r}; expected auto or one of {', '.join(SEGMENT_METHODS)}")
    if k is not None and (not isinstance(k, (int, np.integer)) or k < 1):
        raise ConfigError(f"k must be a whole number of segments of at least 1; got {k!r}")
    if max_clusters < 2:
        raise ConfigError(f"max_clusters must be at least 2; got {max_clusters}")
    if output is not None:
        check_output(Path(output), overwrite)
    rows = read_rows(data, query=query, what="segmenting", progress=progress)
    frame, schema, X, name, notes = rows.frame, rows.schema, rows.features, rows.name, rows.notes
    most = most_segments(method, len(frame))
    if k is not None and k > most:
        made_by = " by spectral clustering" if method == "spectral" else ""
        raise ConfigError(f"k={k} segments asked{made_by} of {len(frame)} rows in {name}; ask for at most {most}")
    if method == "spectral" and most < 2:
        raise ConfigError(f"spectral clustering needs at least 3 rows to make 2 segments; {name} has {len(frame)}")
    segmenter = Segmenter(method=method, n_clusters=k if k is not None else "auto", max_clusters=max_clusters,
                          random_state=seed)
    pipeline = distance_pipeline(schema, ("segmenter", segmenter), seed)
    progress.phase("choosing the segmentation")
    prepared = pipeline[:-1].fit_transform(frame)  # the pipeline's own fit, one preparation pass
    segmenter = pipeline[-1].fit(prepared)
    labels = segmenter.labels_
    progress.note(segmenter.choice_)
    progress.phase("profiling the segments")
    profiles = segment_profiles(X, labels, schema)
    diagnostics = segment_diagnostics(prepared, labels, segmenter, profiles, seed=seed)
    candidates = pd.DataFrame(segmenter.candidates_)
    best = candidates[(candidates["method"] == segmenter.method_)]
    chosen = best[best["n_clusters"] == segmenter.n_clusters_]
    silhouette = float(chosen["silhouette"].iloc[0]) if len(chosen) else float("nan")
    metadata = {
        "method": segmenter.method_, "method_name": SEGMENT_METHODS[segmenter.method_],
        "n_clusters": int(segmenter.n_clusters_), "silhouette": silhouette if np.isfinite(silhouette) else None,
        "choice": segmenter.choice_, "profiles": profiles, "n_rows": len(frame), "source": name,
        "data_sha256": data_hash(frame), "notes": notes, "seed": seed,
        "trained": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    result = SegmentResult(SegmentModel(pipeline, schema, metadata, {"candidates": candidates}), labels, candidates,
                           profiles,
                           diagnostics, notes)
    for profile in profiles:
        progress.note(profile["description"])
    progress.end_phase()
    if output is not None:
        result.save(output, overwrite=overwrite)
    return result
