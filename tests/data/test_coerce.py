"""Coercing new data to a saved schema: nothing lost, everything said."""

import numpy as np
import pandas as pd
import pytest

from homl.data import Schema, coerce_frame, infer_schema
from homl.errors import SchemaError


@pytest.fixture
def schema():
    frame = pd.DataFrame({
        "age": [20.0, 30.0, 40.0, 50.0] * 5,
        "city": ["Paris", "Lyon", "Nice", "Paris"] * 5,
        "vip": ["yes", "no", "no", "yes"] * 5,
        "y": [0, 1, 0, 1] * 5,
    })
    return infer_schema(frame, "y")


def test_missing_column_is_an_error_naming_it(schema):
    with pytest.raises(SchemaError, match=r"missing required column\(s\): 'age'"):
        coerce_frame(pd.DataFrame({"city": ["Paris"], "vip": ["no"]}), schema)
    with pytest.raises(SchemaError, match=r"'city' \(did you mean 'City'\?\)"):
        coerce_frame(pd.DataFrame({"age": [1.0], "City": ["Paris"], "vip": ["no"]}), schema)


def test_bad_values_become_missing_and_are_reported_by_row(schema):
    new = pd.DataFrame({
        "age": ["33", "unknown", "41", "inf"], "city": ["Paris", "Rome", None, "Lyon"],
        "vip": ["yes", "no", "maybe", "no"], "extra": [1, 2, 3, 4],
    })
    issues = []
    out = coerce_frame(new, schema, issues=issues)
    assert list(out.columns) == ["age", "city", "vip"] and len(out) == 4
    assert out.age.iloc[0] == 33.0 and np.isnan(out.age.iloc[1]) and np.isnan(out.age.iloc[3])
    text = "\n".join(issues)
    assert "column 'age': 1 value(s) are not a number" in text and "rows 2;" in text
    assert "'age': 1 infinite value(s)" in text
    assert "'city': 1 value(s) never seen in training (e.g. 'Rome')" in text
    assert "'vip': 1 value(s) are not true/false" in text and "rows 3" in text
    assert "'extra'" in text


def test_coercer_finds_columns_by_name_and_reads_an_array_in_fitted_order():
    from homl.data import SchemaCoercer

    train = pd.DataFrame({"age": [20.0, 30.0, 40.0] * 5, "city": ["Paris", "Lyon", "Nice"] * 5})
    coercer = SchemaCoercer().fit(train)
    assert list(coercer.feature_names_in_) == ["age", "city"] and coercer.n_features_in_ == 2
    shuffled = pd.DataFrame({"note": ["x", "y"], "city": ["Lyon", None], "age": ["33", "41"]})
    out = coercer.transform(shuffled)
    assert list(out.columns) == ["age", "city"] and out.age.tolist() == [33.0, 41.0] and pd.isna(out.city.iloc[1])
    from_array = coercer.transform(np.array([[50.0, "Nice"]], dtype=object))
    assert from_array.age.iloc[0] == 50.0 and from_array.city.iloc[0] == "Nice"
    with pytest.raises(SchemaError, match="missing required column"):
        coercer.transform(shuffled.drop(columns="age"))


def test_columns_named_by_numbers_are_found_by_their_text():
    frame = pd.DataFrame({0: [1.0, 2.0, 3.0], 1: ["a", "b", "a"]})
    schema = infer_schema(frame.rename(columns=str))
    assert coerce_frame(frame, schema).columns.tolist() == ["0", "1"]


def test_a_column_written_in_another_case_is_suggested(schema):
    with pytest.raises(SchemaError, match=r"'age' \(did you mean 'AGE'\?\)"):
        coerce_frame(pd.DataFrame({"AGE": [1.0], "city": ["Paris"], "vip": ["no"]}), schema)


def test_dates_with_different_offsets_are_read_as_one_utc_column():
    written = pd.Series(["2020-03-01T10:00:00+01:00", "2020-03-02T10:00:00-05:00", "2020-03-03"] * 10, name="when")
    schema = infer_schema(written.to_frame())
    assert schema.columns[0].kind == "datetime"
    out = coerce_frame(written.head(3).to_frame(), schema)["when"]
    assert out.tolist() == [pd.Timestamp("2020-03-01 09:00"), pd.Timestamp("2020-03-02 15:00"), pd.Timestamp("2020-03-03")]


def test_a_day_first_column_is_read_day_first_throughout_even_where_a_date_is_ambiguous():
    days = pd.Series(pd.date_range("2021-01-01", periods=60, freq="D").strftime("%d/%m/%Y"), name="when")
    schema = infer_schema(days.to_frame())
    assert schema.columns[0].date_format == "%d/%m/%Y"
    assert Schema.from_dict(schema.to_dict()).columns[0].date_format == "%d/%m/%Y"
    new = pd.DataFrame({"when": ["03/04/2021", "2021-05-06", "not a date"]})
    read = coerce_frame(new, schema)["when"]
    assert read.tolist()[:2] == [pd.Timestamp("2021-04-03"), pd.Timestamp("2021-05-06")] and pd.isna(read[2])


def test_a_month_first_column_stays_month_first():
    days = pd.Series(pd.date_range("2021-01-01", periods=60, freq="D").strftime("%m/%d/%Y"), name="when")
    schema = infer_schema(days.to_frame())
    assert coerce_frame(pd.DataFrame({"when": ["03/04/2021"]}), schema)["when"][0] == pd.Timestamp("2021-03-04")
