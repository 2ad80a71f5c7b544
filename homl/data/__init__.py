"""Data layer: read tables, infer their schema, frame the task, split off a test set and say how to split the rest."""

from ._chunks import read_chunks
from ._coerce import SchemaCoercer, coerce_frame
from ._dates import read_dates
from ._examples import EXAMPLES, example_path, example_target
from ._interactions import Interactions, identifiers, read_interactions
from ._numbers import numbers_from_text
from ._readers import read_table
from ._schema import MAX_STORED_CATEGORIES, ColumnInfo, Schema, infer_schema
from ._series import (
    SeriesTable,
    detect_frequency,
    detect_seasons,
    future_frame,
    known_future,
    parse_times,
    read_series,
    require_column,
)
from ._series_frame import SINGLE_ID, SeriesData, future_index
from ._split import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    TASKS,
    check_split_columns,
    check_target,
    detect_task,
    split_train_test,
    stratification_labels,
)
from ._strategy import SplitStrategy, time_order
from ._user_split import per_user_folds, per_user_split

__all__ = [
    "read_dates",
    "numbers_from_text",
    "Interactions",
    "identifiers",
    "read_interactions",
    "require_column",
    "per_user_folds",
    "per_user_split",
    "MAX_STORED_CATEGORIES",
    "BINARY",
    "EXAMPLES",
    "MULTICLASS",
    "REGRESSION",
    "TASKS",
    "ColumnInfo",
    "Schema",
    "SchemaCoercer",
    "SeriesData",
    "SINGLE_ID",
    "future_index",
    "SeriesTable",
    "detect_frequency",
    "detect_seasons",
    "future_frame",
    "known_future",
    "parse_times",
    "read_series",
    "SplitStrategy",
    "check_split_columns",
    "check_target",
    "coerce_frame",
    "detect_task",
    "example_path",
    "example_target",
    "infer_schema",
    "read_chunks",
    "read_table",
    "split_train_test",
    "stratification_labels",
    "time_order",
]
