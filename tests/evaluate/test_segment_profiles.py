"""Segment profiles in the table's own words: numbers against the median, categories and yes/no
columns by the share of their most typical value, small differences left unsaid."""

from __future__ import annotations

import numpy as np
import pandas as pd

from homl.data import coerce_frame, infer_schema
from homl.evaluate import segment_profiles


def test_yes_no_columns_are_described_by_their_share_and_numbers_against_the_median() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], [180, 20])
    frame = pd.DataFrame({
        "student": np.where(labels == 1, "Yes", "No"),
        "balance": np.where(labels == 1, 2000.0, 1000.0) + rng.normal(0, 10, 200),
        "noise": rng.normal(size=200),
        "visits": np.where(np.arange(200) >= 195, 60.0, 10.0),  # segment 1: the usual median, a few far above
    })
    schema = infer_schema(frame)
    assert schema.kinds()["student"] == "boolean"
    profiles = segment_profiles(coerce_frame(frame, schema), labels, schema)
    small = profiles[1]["description"]
    assert "student = yes: 100% against 10% overall" in small
    assert "balance 2.0x the median" in small
    assert "visits" in small and "visits 1.0x" not in small and "sd above the mean" in small
    assert "noise" not in profiles[0]["description"]  # a difference of a few hundredths is left unsaid


def test_a_column_centred_on_zero_is_described_in_standard_deviations_not_a_ratio() -> None:
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1], [150, 50])
    centred = rng.normal(size=200) + np.where(labels == 1, 2.0, 0.0)
    centred -= np.median(centred) - 0.01  # the median just above 0: a ratio to it would be huge and meaningless
    frame = pd.DataFrame({"temperature": centred, "price": np.where(labels == 1, 20.0, 10.0) + rng.normal(0, 1, 200)})
    schema = infer_schema(frame)
    small = segment_profiles(coerce_frame(frame, schema), labels, schema)[1]["description"]
    traits = dict(phrase.split(" ", 1) for phrase in small.split("; ", 1)[1].split(", "))
    assert traits["temperature"].endswith("sd above the mean")  # e.g. "1.7 sd above the mean"
    assert traits["price"] == "2.0x the median"  # positive numbers: told as a ratio
