"""``table_stream``: every row once per epoch in a new seeded order, from CSV and Parquet, with bounded
blocks, Keras training on it, its errors and its temporary file. Skipped without the deep extra."""

from __future__ import annotations

import gc
import os
import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # as homl sets it before importing Keras
keras = pytest.importorskip("keras", reason="the stream feeds Keras: pip install 'homl[deep]'")

from homl.errors import DataError  # noqa: E402
from homl.models._stream import table_stream  # noqa: E402

ROWS = 5_000


def _features(frame: pd.DataFrame) -> np.ndarray:
    """The transform: the feature columns as they are, ``id`` first so that a batch names its rows."""
    return frame.to_numpy(dtype=np.float32)


def _table(rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(rows), "a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    frame["y"] = 3 * frame["a"] - 2 * frame["b"] + 1
    return frame


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "table.csv"
    _table().to_csv(path, index=False)
    return path


@pytest.fixture
def parquet(tmp_path):
    path = tmp_path / "table.parquet"
    pq.write_table(pa.Table.from_pandas(_table(), preserve_index=False), path, row_group_size=2_000)
    return path


def _epochs(stream, epochs: int = 3) -> list[np.ndarray]:
    """The row ids of each epoch in the order the batches give them, ending each epoch as Keras does."""
    orders = []
    for _ in range(epochs):
        orders.append(np.concatenate([stream[i][0][:, 0] for i in range(len(stream))]).astype(int))
        stream.on_epoch_end()
    return orders


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_each_epoch_gives_every_row_once_in_a_new_order_set_by_the_seed(source, request) -> None:
    path = request.getfixturevalue(source)
    stream = table_stream(path, "y", transform=_features, batch_size=32, block_rows=700, seed=0)
    assert (stream.n_rows, stream.n_features, len(stream)) == (ROWS, 3, 157)
    assert stream.columns == ["id", "a", "b", "y"] and stream.feature_names == ["id", "a", "b"]
    # CSV: 8 row groups of at most 700 rows; Parquet: row groups of 2,000, 2,000 and 1,000 rows, cut in 3, 3, 2
    assert stream.n_blocks == 8
    orders = _epochs(stream)
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(ROWS))
        if source == "parquet":  # the blocks of a row group follow each other: it is decoded once an epoch
            assert np.count_nonzero(np.diff(order // 2_000)) == 2
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(orders[0], np.arange(ROWS))
    again = _epochs(table_stream(path, "y", transform=_features, batch_size=32, block_rows=700, seed=0))
    other = _epochs(table_stream(path, "y", transform=_features, batch_size=32, block_rows=700, seed=1), 1)
    for first, second in zip(orders, again):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(orders[0], other[0])


def test_batches_are_full_but_the_last_and_carry_their_rows_targets(csv) -> None:
    stream = table_stream(csv, "y", transform=_features, batch_size=32, block_rows=700, seed=0)
    sizes = [len(stream[i][0]) for i in range(len(stream))]
    assert sizes[:-1] == [32] * 156 and sizes[-1] == ROWS - 156 * 32  # batches cross block boundaries
    X, y = stream[40]
    assert X.dtype == y.dtype == np.float32 and y.shape == (32,)
    np.testing.assert_allclose(y, 3 * X[:, 1] - 2 * X[:, 2] + 1, rtol=1e-5, atol=1e-5)
    with pytest.raises(IndexError):
        stream[len(stream)]


@pytest.mark.parametrize("source", ["csv", "parquet"])
def test_without_shuffle_the_batches_follow_the_file(source, request) -> None:
    path = request.getfixturevalue(source)
    stream = table_stream(path, "y", transform=_features, batch_size=64, block_rows=700, shuffle=False)
    for order in _epochs(stream, 2):
        np.testing.assert_array_equal(order, np.arange(ROWS))


def test_a_batch_larger_than_a_block_spans_several_blocks(parquet) -> None:
    stream = table_stream(parquet, "y", transform=_features, batch_size=1_000, block_rows=300, seed=0)
    order = _epochs(stream, 1)[0]
    np.testing.assert_array_equal(np.sort(order), np.arange(ROWS))


def test_without_target_batches_are_features_only_and_a_text_target_can_be_encoded(tmp_path) -> None:
    path = tmp_path / "labels.csv"
    frame = _table(300).assign(y=lambda f: np.where(f["a"] > 0, "high", "low"))
    frame.to_csv(path, index=False)
    raw = table_stream(path, "y", transform=_features, batch_size=50, block_rows=100, shuffle=False)
    assert list(raw[0][1][:3]) == list(frame["y"][:3])  # text is left as it is
    coded = table_stream(path, "y", transform=_features, encode_target=lambda y: (y == "high").to_numpy(np.int64),
                         batch_size=50, block_rows=100, seed=0)
    X, y = coded[2]
    np.testing.assert_array_equal(y, (X[:, 1] > 0).astype(np.int64))


def test_unlabeled_batches_are_arrays(csv) -> None:
    stream = table_stream(csv, None, transform=lambda f: f[["a", "b"]].to_numpy(np.float32), batch_size=100)
    batch = stream[0]
    assert isinstance(batch, np.ndarray) and batch.shape == (100, 2) and stream.feature_names == ["id", "a", "b", "y"]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_keras_model_learns_from_the_stream(csv, workers) -> None:
    keras.utils.set_random_seed(0)
    stream = table_stream(csv, "y", transform=lambda f: f[["a", "b"]].to_numpy(np.float32), batch_size=32,
                          block_rows=700, seed=0, workers=workers)
    model = keras.Sequential([keras.Input((stream.n_features,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(stream, epochs=2, shuffle=False, verbose=0).history["loss"]
    assert history[1] < history[0] and history[1] < 0.5  # y = 3a - 2b + 1 has a variance of 13
    weights, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(weights.ravel(), [3, -2], atol=0.3)
    np.testing.assert_allclose(bias, [1], atol=0.3)


def test_a_column_whose_type_changes_after_the_first_block(tmp_path) -> None:
    path = tmp_path / "drift.csv"
    frame = _table(2_000)
    frame["n"] = np.arange(2_000)
    frame.to_csv(path, index=False)
    with open(path, "a") as f:
        f.write("2000,0.5,0.5,1.5,\n")  # a missing count: the last block reads it as floats
    stream = table_stream(path, "y", transform=lambda f: f[["a", "n"]].to_numpy(np.float32), block_rows=700)
    assert stream.n_rows == 2_001
    with open(path, "a") as f:
        f.write("2001,0.5,0.5,1.5,many\n")
    with pytest.raises(DataError, match=r"drift\.csv, rows 1,401 to 2,002: column 'n' holds (large_)?string values, "
                                        "the first rows int64"):
        table_stream(path, "y", transform=_features, block_rows=700)


def test_errors_name_the_file_and_what_was_expected(tmp_path, csv, parquet) -> None:
    for path in (csv, parquet):
        with pytest.raises(DataError, match=rf"{path.name}: no column 'price' for the target; columns are 'id'"):
            table_stream(path, "price", transform=_features)
    header_only = tmp_path / "empty.csv"
    header_only.write_text("id,a,y\n")
    with pytest.raises(DataError, match=r"empty\.csv: has column names but no data rows"):
        table_stream(header_only, "y", transform=_features)
    no_rows = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"id": pa.array([], pa.int64()), "y": pa.array([], pa.float64())}), no_rows)
    with pytest.raises(DataError, match=r"empty\.parquet: has column names but no data rows"):
        table_stream(no_rows, "y", transform=_features)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\0" * 100)
    with pytest.raises(DataError, match=r"broken\.parquet: cannot be read as Parquet"):
        table_stream(broken, "y", transform=_features)
    with pytest.raises(DataError, match=r"missing\.csv: no such file"):
        table_stream(tmp_path / "missing.csv", "y", transform=_features)
    with pytest.raises(DataError, match=r"rows 1 to 700: transform gave an array of shape \(700,\)"):
        table_stream(csv, "y", transform=lambda f: f["a"].to_numpy(), block_rows=700, shuffle=False)
    gap = tmp_path / "gap.csv"
    _table(50).assign(y=lambda f: f["y"].where(f["id"] != 4)).to_csv(gap, index=False)
    with pytest.raises(DataError, match=r"gap\.csv, rows 1 to 50: target 'y' is missing in row 5;"):
        table_stream(gap, "y", transform=_features)
    with pytest.raises(ValueError, match="batch_size=0: expected a whole number of rows"):
        table_stream(csv, "y", transform=_features, batch_size=0)


def test_the_temporary_parquet_goes_with_the_stream(csv, parquet) -> None:
    stream = table_stream(csv, "y", transform=_features, block_rows=700)
    folder = stream._path.parent
    assert pq.ParquetFile(stream._path).metadata.row_group(0).num_rows == 700  # one row group a block
    stream.close()
    assert not folder.exists()
    with table_stream(csv, "y", transform=_features) as stream:
        folder = stream._path.parent
    assert not folder.exists()
    stream = table_stream(csv, "y", transform=_features)
    folder = stream._path.parent
    del stream
    gc.collect()
    assert not folder.exists()
    kept = table_stream(parquet, "y", transform=_features)
    kept.close()
    assert parquet.exists()  # a Parquet source is read in place, never removed


def test_a_pickled_copy_reads_the_same_batches_and_leaves_the_file_to_the_original(csv) -> None:
    stream = table_stream(csv, "y", transform=_features, batch_size=32, block_rows=700, seed=0)
    copy = pickle.loads(pickle.dumps(stream))  # what use_multiprocessing does with a spawned worker
    for i in (0, 50, 156):
        np.testing.assert_array_equal(copy[i][0], stream[i][0])
    del copy
    gc.collect()
    assert stream._path.exists()
    stream.close()
