"""Schema inference: each column gets the kind a person would give it."""

import numpy as np
import pandas as pd
import pytest

from homl.data import Schema, infer_schema


def _kinds(frame, target=None):
    return {c.name: c.kind for c in infer_schema(frame, target).columns}


def test_kinds_of_a_mixed_table():
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({
        "PassengerId": np.arange(1, n + 1),
        "age": rng.normal(40, 10, n),
        "city": rng.choice(["Paris", "Lyon", "Nice"], n),
        "member": rng.choice(["yes", "no"], n),
        "joined": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
        "review": [f"the product was {w} and shipping took {i} days" for i, w in enumerate(rng.choice(["good", "bad"], n))],
        "code": [f"X{i:05d}" for i in range(n)],
        "constant": 7,
        "empty": np.nan,
        "price_text": rng.integers(1, 100, n).astype(str),
        "y": rng.normal(size=n),
    })
    kinds = _kinds(frame, target="y")
    assert kinds == {
        "PassengerId": "identifier", "age": "numeric", "city": "categorical", "member": "boolean",
        "joined": "datetime", "review": "text", "code": "identifier", "constant": "constant",
        "empty": "empty", "price_text": "numeric",
    }


def test_target_is_never_a_feature_and_dropped_columns_have_reasons():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "k": [1, 1, 1, 1], "y": [0, 1, 0, 1]})
    schema = infer_schema(frame, target="y")
    assert schema.names() == ["x"]
    assert "k" in " ".join(schema.notes) and "every value is 1" in schema["k"].reason


def test_infinite_only_column_is_empty():
    frame = pd.DataFrame({"x": [np.inf, -np.inf, np.nan], "z": [1.0, 2.0, 3.0]})
    assert _kinds(frame)["x"] == "empty"


def test_schema_round_trips_through_plain_dicts():
    frame = pd.DataFrame({"a": [1.5, 2.5, 3.5], "b": ["u", "v", "u"]})
    schema = infer_schema(frame)
    again = Schema.from_dict(schema.to_dict())
    assert again.kinds() == schema.kinds() == {"a": "numeric", "b": "categorical"}
    assert again["b"].categories == ["u", "v"]


@pytest.mark.parametrize("name", ["id", "user_id", "customerID"])
def test_distinct_integers_named_like_ids_are_identifiers(name):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({name: rng.permutation(10_000)[:100] * 7, "x": rng.normal(size=100)})
    assert _kinds(frame)[name] == "identifier"


def test_many_repeated_levels_are_a_high_cardinality_categorical():
    shops = [f"S{i}" for i in range(200)] * 2  # 200 levels, each seen twice
    schema = infer_schema(pd.DataFrame({"shop": shops, "x": np.linspace(0, 1, 400) ** 2}))
    assert schema["shop"].kind == "categorical"
    assert schema["shop"].reason == "200 levels: high-cardinality"
    assert "shop" in schema.names()


def test_text_distinct_in_nine_rows_of_ten_is_an_identifier():
    codes = [f"C{i}" for i in range(90)] + ["C0"] * 10  # 90 distinct values in 100 rows
    schema = infer_schema(pd.DataFrame({"code": codes, "x": np.linspace(0, 1, 100) ** 2}))
    assert schema["code"].kind == "identifier"
    assert schema["code"].reason == "90 distinct values in 100 rows (ID-like)"
    assert schema.names() == ["x"]


def test_numbers_written_as_people_write_them_are_numeric():
    n = 60
    values = np.linspace(1000, 90000, n)
    frame = pd.DataFrame({
        "grouped": [f"{v:,.2f}" for v in values],
        "money": [f"${v:,.0f}" for v in values],
        "share": [f"{v / 1000:.1f}%" for v in values],
        "dashes": ["-" if i % 4 == 0 else f"{v:.1f}" for i, v in enumerate(values)],
    })
    assert set(_kinds(frame).values()) == {"numeric"}


@pytest.mark.parametrize("written, number", [
    ("$1,234.50", 1234.5), (" 12,345 ", 12345.0), ("45.2%", 45.2), ("-$5", -5.0), ("\u20ac 3", 3.0),
    ("1e3", 1000.0), ("-", None), ("1,2", None), ("abc", None),
])
def test_numbers_from_text(written, number):
    from homl.data import numbers_from_text

    got = numbers_from_text(pd.Series([written]))[0]
    assert (np.isnan(got) if number is None else got == number)
