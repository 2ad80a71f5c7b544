"""A fitted table pipeline (``schema → prep → model``) as one ONNX graph, from the raw columns.

The graph takes one input per feature column of the schema, shaped ``(rows, 1)``: numbers
(numeric and boolean columns) as doubles, missing ones NaN; categories and text as strings,
missing ones the empty string. It gives ``prediction`` (regression, ``(rows,)``) or ``label``
and ``probabilities`` (classification, columns in the order of the classes).

homl's preparation steps and model wrappers are written as ONNX operators here, in double
precision; the estimators at the leaves (scikit-learn's, LightGBM, XGBoost) are converted by
skl2onnx and onnxmltools. A part with no ONNX form raises :class:`NotConvertible` naming it;
:func:`onnx_feeds` turns rows, as the pipeline's schema step gives them, into the inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._onnx_graph import GraphBuilder, NotConvertible, sklearn_to_onnx

#: Kinds of schema column, by the ONNX type of their input.
NUMBER_KINDS = ("numeric", "boolean")
STRING_KINDS = ("categorical", "text")


def table_to_onnx(pipeline: Any, columns: dict[str, str], classes: np.ndarray | None = None) -> Any:
    """The ModelProto of a fitted ``pipeline`` whose first step reads the columns ``{name: kind}``."""
    from onnx import TensorProto
    from sklearn.pipeline import Pipeline

    graph = GraphBuilder()
    table = {}
    for name, kind in columns.items():
        if kind in NUMBER_KINDS:
            table[name] = ("number", graph.input(name, TensorProto.DOUBLE))
        elif kind in STRING_KINDS:
            table[name] = ("string", graph.input(name, TensorProto.STRING))
        else:
            raise NotConvertible(f"column {name!r} holds {kind} values; ONNX inputs take numbers and strings")
    converter = _Converter(graph)
    out = converter.predict(pipeline, Table(table))
    if classes is None:
        prediction = graph.node("Reshape", [out.values, graph.const(np.array([-1], dtype=np.int64))])
        graph.output(prediction, "prediction", TensorProto.DOUBLE, [None])
    else:
        classes = np.asarray(classes)
        last = pipeline.steps[-1][1] if isinstance(pipeline, Pipeline) else pipeline
        threshold = last.threshold if type(last).__name__ == "DecisionThreshold" else None
        label, label_type = converter.labels(out, classes, threshold)
        graph.output(label, "label", label_type, [None])
        graph.output(out.values, "probabilities", TensorProto.DOUBLE, [None, len(classes)])
    return graph.model(doc="homl table model: one input per column")


def onnx_feeds(X: pd.DataFrame, columns: dict[str, str]) -> dict[str, np.ndarray]:
    """The graph's inputs for rows as the schema step gives them (see :func:`table_to_onnx`)."""
    feeds = {}
    for name, kind in columns.items():
        values = X[name]
        if kind in NUMBER_KINDS:
            feeds[name] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
        else:
            text = values.astype(object).where(values.notna(), "")
            feeds[name] = np.asarray(text.map(str).to_numpy(dtype=object)).reshape(-1, 1)
    return feeds


class Table:
    """Columns by name, each ``(kind, tensor)`` of shape ``(rows, 1)``: what a table step reads."""

    def __init__(self, columns: dict[str, tuple[str, str]]):
        self.columns = columns


class Matrix:
    """A ``(rows, width)`` tensor of doubles (or strings, ``kind``)."""

    def __init__(self, values: str, width: int, kind: str = "number"):
        self.values, self.width, self.kind = values, width, kind


class _Converter:
    """Walks a fitted pipeline, writing each step's ONNX form into ``graph``."""

    def __init__(self, graph: GraphBuilder):
        self.g = graph
        #: Whether some model's probabilities come out as floats (tree votes, whose exact ties float sums blur).
        self.float_probabilities = False

    # -- estimators: a table or matrix in, values (regression) or probabilities out ------------
    def predict(self, model: Any, data: Table | Matrix) -> Matrix:
        from sklearn.compose import TransformedTargetRegressor
        from sklearn.pipeline import Pipeline

        name = type(model).__name__
        if isinstance(model, Pipeline):
            for _, step in model.steps[:-1]:
                data = self.transform(step, data)
            return self.predict(model.steps[-1][1], data)
        if name in ("EarlyStopping", "RowCap", "LabelEncoded", "DecisionThreshold"):
            inner = getattr(model, "estimator_", None)  # a threshold given a fitted model keeps it as it came
            return self.predict(model.estimator if inner is None else inner, data)
        if name == "FrozenEstimator":
            return self.predict(model.estimator, data)
        if name == "ClippedOutput":
            low, high = (self.g.const(np.array([v])) for v in model.target_range_)
            return Matrix(self.g.node("Min", [self.g.node("Max", [self.predict(model.estimator_, data).values, low]), high]), 1)
        if isinstance(model, TransformedTargetRegressor):
            return self._inverse(model.transformer_, self.predict(model.regressor_, data))
        if name in ("VotingRegressor", "VotingClassifier"):
            return self._voting(model, data)
        if name == "LayeredStack":
            raise NotConvertible("the two-layer stack has no ONNX form yet")
        if hasattr(model, "model_"):  # a Keras network: export_network_onnx writes the network alone
            raise NotConvertible(f"the neural network {name} has no ONNX form inside a pipeline yet")
        if isinstance(data, Table):
            raise NotConvertible(f"{name} reads a table; only homl's preparation step does in ONNX")
        if name == "FoldBagged":
            return self._average(model, model.estimators_, [1.0 / len(model.estimators_)] * len(model.estimators_), data)
        return self._leaf(model, data)

    def _voting(self, model: Any, data: Table | Matrix) -> Matrix:
        if type(model).__name__ == "VotingClassifier" and model.voting != "soft":
            raise NotConvertible("a VotingClassifier with hard voting has no ONNX form yet")
        weights = np.ones(len(model.estimators_)) if model.weights is None else np.asarray(model.weights, dtype=float)
        return self._average(model, model.estimators_, weights / weights.sum(), data)

    def _average(self, model: Any, members: list[Any], weights: Any, data: Table | Matrix) -> Matrix:
        """The weighted sum of the members' outputs (each member's classes must be the model's)."""
        classes = getattr(model, "classes_", None)
        total, width = None, 0
        for weight, member in zip(weights, members):
            member_classes = getattr(member, "classes_", None)
            if classes is not None and member_classes is not None and list(member_classes) != list(classes):
                raise NotConvertible(f"a member of {type(model).__name__} knows classes {list(member_classes)}, "
                                     f"not all of {list(classes)}")
            out = self.predict(member, data)
            term = self.g.node("Mul", [out.values, self.g.const(np.array([weight], dtype=float))])
            total = term if total is None else self.g.node("Add", [total, term])
            width = out.width
        return Matrix(total, width)

    def _leaf(self, model: Any, data: Matrix) -> Matrix:
        from onnx import TensorProto

        classifier = hasattr(model, "classes_") and hasattr(model, "predict_proba")
        proto, outputs = self._embed(model, data, classifier=classifier)
        values = outputs[1] if classifier else outputs[0]
        if classifier and proto.graph.output[1].type.tensor_type.elem_type == TensorProto.FLOAT:
            self.float_probabilities = True
        values = self.g.node("Cast", [values], to=TensorProto.DOUBLE)
        if classifier:
            return Matrix(values, len(model.classes_))
        return Matrix(self.g.node("Reshape", [values, self.g.const(np.array([-1, 1], dtype=np.int64))]), 1)

    def _inverse(self, transformer: Any, out: Matrix) -> Matrix:
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import FunctionTransformer, PowerTransformer, StandardScaler

        if isinstance(transformer, Pipeline):
            for _, step in reversed(transformer.steps):
                out = self._inverse(step, out)
            return out
        if isinstance(transformer, StandardScaler):
            values = out.values
            if transformer.scale_ is not None:
                values = self.g.node("Mul", [values, self.g.const(transformer.scale_)])
            if transformer.mean_ is not None:
                values = self.g.node("Add", [values, self.g.const(transformer.mean_)])
            return Matrix(values, out.width)
        if isinstance(transformer, PowerTransformer) and transformer.method == "yeo-johnson":
            return self._yeo_johnson_inverse(transformer, out)
        if isinstance(transformer, FunctionTransformer) and transformer.inverse_func is np.expm1:
            exp = self.g.node("Exp", [out.values])
            return Matrix(self.g.node("Sub", [exp, self.g.const(np.array([1.0]))]), out.width)
        raise NotConvertible(f"the target transform {type(transformer).__name__} has no ONNX form yet")

    def _yeo_johnson_inverse(self, transformer: Any, out: Matrix) -> Matrix:
        """scikit-learn's inverse Yeo-Johnson transform of one column (after undoing its standardising)."""
        if out.width != 1 or len(transformer.lambdas_) != 1:
            raise NotConvertible("a Yeo-Johnson transform of several targets has no ONNX form yet")
        if transformer.standardize:
            out = self._inverse(transformer._scaler, out)
        x, lam = out.values, float(transformer.lambdas_[0])
        one = self.g.const(np.array([1.0]))

        def power(base: str, exponent: float) -> str:
            return self.g.node("Pow", [base, self.g.const(np.array([exponent]))])

        if abs(lam) < np.spacing(1.0):
            positive = self.g.node("Sub", [self.g.node("Exp", [x]), one])
        else:  # (x * lam + 1) ** (1 / lam) - 1
            base = self.g.node("Add", [self.g.node("Mul", [x, self.g.const(np.array([lam]))]), one])
            positive = self.g.node("Sub", [power(base, 1.0 / lam), one])
        if abs(lam - 2) < np.spacing(1.0):
            negative = self.g.node("Sub", [one, self.g.node("Exp", [self.g.node("Neg", [x])])])
        else:  # 1 - (-(2 - lam) * x + 1) ** (1 / (2 - lam))
            base = self.g.node("Add", [self.g.node("Mul", [x, self.g.const(np.array([-(2 - lam)]))]), one])
            negative = self.g.node("Sub", [one, power(base, 1.0 / (2 - lam))])
        at_least_zero = self.g.node("GreaterOrEqual", [x, self.g.const(np.array([0.0]))])
        return Matrix(self.g.node("Where", [at_least_zero, positive, negative]), 1)

    def labels(self, out: Matrix, classes: np.ndarray, threshold: float | None = None) -> tuple[str, int]:
        """The label tensor (and its ONNX type) of probabilities ``out``: the most probable class, or
        with a ``threshold`` the second class where its probability reaches it (else the first)."""
        from onnx import TensorProto

        if threshold is None and self.float_probabilities:
            # Trees count votes: two classes may tie exactly, which float sums blur by a bit or two.
            # Ties are broken for the first class, as in Python, once a millionth apart is a tie.
            scale = self.g.const(np.array([1e6]))
            rounded = self.g.node("Round", [self.g.node("Mul", [out.values, scale])])
            index = self.g.node("ArgMax", [rounded], axis=1, keepdims=0)
        elif threshold is None:
            index = self.g.node("ArgMax", [out.values], axis=1, keepdims=0)
        else:
            second = self.g.node("Gather", [out.values, self.g.const(np.array(1, dtype=np.int64))], axis=1)
            reached = self.g.node("GreaterOrEqual", [second, self.g.const(np.array(float(threshold)))])
            index = self.g.node("Cast", [reached], to=TensorProto.INT64)
        if classes.dtype.kind in "iub":
            table, kind = classes.astype(np.int64), TensorProto.INT64
        elif classes.dtype.kind == "f":
            table, kind = classes.astype(np.float64), TensorProto.DOUBLE
        else:
            table, kind = classes.astype(str).astype(object), TensorProto.STRING
        return self.g.node("Gather", [self.g.const(table), index], axis=0), kind

    # -- transformers: a table or matrix in, a matrix out ----------------------------------
    def transform(self, step: Any, data: Table | Matrix) -> Table | Matrix:
        from sklearn.pipeline import Pipeline

        name = type(step).__name__
        if isinstance(step, Pipeline):
            for _, inner in step.steps:
                data = self.transform(inner, data)
            return data
        if name == "TablePreprocessor":
            return self._columns(step.transformer_, data)
        if name == "SchemaCoercer" and isinstance(data, Table):
            return data  # the graph's inputs are the schema's columns already
        if isinstance(data, Table):
            raise NotConvertible(f"{name} reads a table; only homl's preparation step does in ONNX")
        method = getattr(self, f"_{name}", None)
        if method is not None:
            return method(step, data)
        if data.kind != "number":
            raise NotConvertible(f"the step {name} of strings has no ONNX form yet")
        return self._leaf_transform(step, data)

    def _leaf_transform(self, step: Any, data: Matrix) -> Matrix:
        """A scikit-learn transformer of numbers, converted by skl2onnx."""
        from onnx import TensorProto

        _, outputs = self._embed(step, data)
        values = self.g.node("Cast", [outputs[0]], to=TensorProto.DOUBLE)
        return Matrix(values, len(step.get_feature_names_out()))

    def _embed(self, estimator: Any, data: Matrix, *, classifier: bool = False) -> tuple[Any, list[str]]:
        """``estimator`` converted by skl2onnx and wired to ``data``, cast to what it reads: its
        graph and the names of its outputs."""
        from onnx import TensorProto

        proto, reads = sklearn_to_onnx(estimator, data.width, classifier=classifier)
        source = data.values if reads == "double" else self.g.node("Cast", [data.values], to=TensorProto.FLOAT)
        if reads == "float as double":
            source = self.g.node("Cast", [source], to=TensorProto.DOUBLE)
        return proto, self.g.embed(proto, [source])

    def _columns(self, transformer: Any, data: Table | Matrix) -> Matrix:
        if not isinstance(data, Table):
            raise NotConvertible("homl's preparation step reads the table's columns")
        blocks = []
        for part, step, columns in transformer.transformers_:
            if step == "drop" or (not isinstance(columns, str) and len(columns) == 0):
                continue
            if isinstance(columns, str):  # one text column, given as a 1-D array to the vectorizer
                kind, tensor = data.columns[columns]
                block = self._text(step, Matrix(tensor, 1, kind))
            else:
                picked = [data.columns[c] for c in columns]
                kinds = {kind for kind, _ in picked}
                if len(kinds) != 1:
                    raise NotConvertible(f"the part {part!r} mixes numbers and strings")
                tensors = [tensor for _, tensor in picked]
                joined = tensors[0] if len(tensors) == 1 else self.g.node("Concat", tensors, axis=1)
                block = Matrix(joined, len(tensors), kinds.pop())
                block = block if step == "passthrough" else self.transform(step, block)
            if block.kind != "number":
                raise NotConvertible(f"the part {part!r} gives strings, not numbers")
            width = transformer.output_indices_[part].stop - transformer.output_indices_[part].start
            if block.width != width:
                raise NotConvertible(f"the part {part!r} gives {block.width} columns in ONNX, {width} in Python")
            blocks.append(block)
        if not blocks:
            raise NotConvertible("the preparation step gives no columns")
        values = blocks[0].values if len(blocks) == 1 else self.g.node("Concat", [b.values for b in blocks], axis=1)
        return Matrix(values, sum(b.width for b in blocks))

    def _text(self, step: Any, data: Matrix) -> Matrix:
        if type(step).__name__ == "TfidfVectorizer":
            # skl2onnx's form of it misses n-grams whose words fall outside the vocabulary and
            # counts repeated words differently: its features differ from scikit-learn's.
            raise NotConvertible("free-text columns (TF-IDF) have no exact ONNX form")
        raise NotConvertible(f"the text step {type(step).__name__} has no ONNX form yet")

    def _TextStatistics(self, step: Any, data: Matrix) -> Matrix:
        raise NotConvertible("free-text columns (their counts of characters, words and symbols) have no ONNX form yet")

    # homl's numeric steps
    def _ClipToRange(self, step: Any, data: Matrix) -> Matrix:
        empty = step.min_ > step.max_
        low = self.g.const(np.where(empty, -np.inf, step.min_)[None, :])
        high = self.g.const(np.where(empty, np.inf, step.max_)[None, :])
        clipped = self.g.node("Min", [self.g.node("Max", [data.values, low]), high])
        return Matrix(self.g.node("Where", [self.g.node("IsNaN", [data.values]), data.values, clipped]), data.width)

    def _LogTransform(self, step: Any, data: Matrix) -> Matrix:
        magnitude = self.g.node("Log", [self.g.node("Add", [self.g.node("Abs", [data.values]), self.g.const(np.array([1.0]))])])
        return Matrix(self.g.node("Mul", [self.g.node("Sign", [data.values]), magnitude]), data.width)

    def _RatioFeatures(self, step: Any, data: Matrix) -> Matrix:
        pairs = step._pairs()
        if not pairs:
            raise NotConvertible("RatioFeatures of one column gives no columns")
        top = self.g.node("Gather", [data.values, self.g.const(np.array([i for i, _ in pairs], dtype=np.int64))], axis=1)
        bottom = self.g.node("Gather", [data.values, self.g.const(np.array([j for _, j in pairs], dtype=np.int64))], axis=1)
        ratio = self.g.node("Div", [top, bottom])
        finite = self.g.node("Not", [self.g.node("Or", [self.g.node("IsNaN", [ratio]), self.g.node("IsInf", [ratio])])])
        return Matrix(self.g.node("Where", [finite, ratio, self.g.const(np.array([np.nan]))]), len(pairs))

    def _GeoFeatures(self, step: Any, coords: Matrix) -> Matrix:
        blocks = []
        column = [self.g.node("Gather", [coords.values, self.g.const(np.array([j], dtype=np.int64))], axis=1)
                  for j in range(2)]
        if step.n_clusters_ > 0:
            decimals = step.similarity_decimals_
            if decimals is None:
                raise NotConvertible("the geographic similarities of a model fitted before homl rounded them "
                                     "have no exact ONNX form: fit it again")
            blocks.append(self._similarities(column, step.centres_, step.gamma, decimals))
        if step.rotations:  # longitude * cos + latitude * sin, in the order GeoFeatures computes it
            theta = np.deg2rad(np.array([15, 30, 45, 60]))
            across = self.g.node("Mul", [column[1], self.g.const(np.cos(theta)[None, :])])
            along = self.g.node("Mul", [column[0], self.g.const(np.sin(theta)[None, :])])
            blocks.append(self.g.node("Add", [across, along]))
        if step.neighbor_targets_:
            # Training rows often share a location: which of several equally near rows count
            # among the nearest is the search tree's choice, which no ONNX operator repeats.
            raise NotConvertible("GeoFeatures' nearest-neighbour targets have no exact ONNX form "
                                 "(equally near training rows are chosen differently)")
        if not blocks:
            raise NotConvertible("GeoFeatures gives no columns")
        values = blocks[0] if len(blocks) == 1 else self.g.node("Concat", blocks, axis=1)
        return Matrix(values, len(step.get_feature_names_out()))

    def _similarities(self, column: list[str], centres: np.ndarray, gamma: float, decimals: int) -> str:
        """GeoFeatures' rounded similarities, operation for operation (see ``GeoFeatures._similarities``)."""
        squared = []
        for j in range(2):
            difference = self.g.node("Sub", [column[j], self.g.const(np.asarray(centres, dtype=float)[None, :, j])])
            squared.append(self.g.node("Mul", [difference, difference]))
        total = self.g.node("Add", squared)
        kernel = self.g.node("Exp", [self.g.node("Mul", [total, self.g.const(np.array([-gamma]))])])
        scale = self.g.const(np.array([10.0 ** decimals]))
        return self.g.node("Div", [self.g.node("Round", [self.g.node("Mul", [kernel, scale])]), scale])

    def _squared_distances(self, values: str, centres: np.ndarray) -> str:
        """Squared Euclidean distances ``(rows, len(centres))``, ``(x - c)²`` summed."""
        diff = self.g.node("Sub", [self.g.node("Unsqueeze", [values, self.g.const(np.array([1], dtype=np.int64))]),
                                   self.g.const(np.asarray(centres, dtype=float)[None, :, :])])
        return self.g.node("ReduceSum", [self.g.node("Mul", [diff, diff]), self.g.const(np.array([2], dtype=np.int64))],
                           keepdims=0)

    def _KMeans(self, step: Any, data: Matrix) -> Matrix:
        distances = self.g.node("Sqrt", [self._squared_distances(data.values, step.cluster_centers_)])
        return Matrix(distances, len(step.cluster_centers_))

    # scikit-learn's preparation steps, written in double precision
    def _SimpleImputer(self, step: Any, data: Matrix) -> Matrix:
        missing = step.missing_values
        if not (missing is None or (isinstance(missing, float) and np.isnan(missing))):
            raise NotConvertible(f"SimpleImputer with missing_values={missing!r} has no ONNX form yet")
        statistics = np.asarray(step.statistics_)
        if data.kind == "string":
            empty = self.g.node("LabelEncoder", [data.values], domain="ai.onnx.ml", keys_strings=[""],
                                values_int64s=[1], default_int64=0)
            holes = self.g.node("Cast", [empty], to=9)  # bool
            fill = self.g.const(statistics.astype(str).astype(object)[None, :])
            filled = self.g.node("Where", [holes, fill, data.values])
        else:
            holes = self.g.node("IsNaN", [data.values])
            if np.isnan(statistics.astype(float)).any() and not step.keep_empty_features:
                raise NotConvertible("SimpleImputer dropping empty columns has no ONNX form yet")
            filled = self.g.node("Where", [holes, self.g.const(statistics.astype(float)[None, :]), data.values])
        out = Matrix(filled, data.width, data.kind)
        if step.add_indicator:
            features = np.asarray(step.indicator_.features_, dtype=np.int64)
            if len(features):
                flags = self.g.node("Gather", [holes, self.g.const(features)], axis=1)
                flags = self.g.node("Cast", [flags], to=11)  # double
                if data.kind == "string":
                    raise NotConvertible("missing-value indicators of strings have no ONNX form yet")
                out = Matrix(self.g.node("Concat", [filled, flags], axis=1), data.width + len(features))
        return out

    def _StandardScaler(self, step: Any, data: Matrix) -> Matrix:
        values = data.values
        if step.mean_ is not None:
            values = self.g.node("Sub", [values, self.g.const(step.mean_[None, :])])
        if step.scale_ is not None:
            values = self.g.node("Div", [values, self.g.const(step.scale_[None, :])])
        return Matrix(values, data.width)

    def _category_index(self, column: str, categories: np.ndarray) -> str:
        """Each row's position in ``categories`` (int64, ``(rows,)``); unknown: ``len(categories)``."""
        keys = [str(c) for c in categories]
        flat = self.g.node("Reshape", [column, self.g.const(np.array([-1], dtype=np.int64))])
        return self.g.node("LabelEncoder", [flat], domain="ai.onnx.ml", keys_strings=keys,
                           values_int64s=list(range(len(keys))), default_int64=len(keys))

    def _string_columns(self, data: Matrix, step: Any) -> list[str]:
        if data.kind != "string":
            raise NotConvertible(f"{type(step).__name__} of numbers has no ONNX form yet")
        return [self.g.node("Gather", [data.values, self.g.const(np.array([j], dtype=np.int64))], axis=1)
                for j in range(data.width)]

    def _OneHotEncoder(self, step: Any, data: Matrix) -> Matrix:
        if step.drop_idx_ is not None or getattr(step, "_infrequent_enabled", False):
            raise NotConvertible("OneHotEncoder dropping or grouping categories has no ONNX form yet")
        blocks = []
        for column, categories in zip(self._string_columns(data, step), step.categories_):
            index = self.g.node("Unsqueeze", [self._category_index(column, categories),
                                              self.g.const(np.array([1], dtype=np.int64))])
            hits = self.g.node("Equal", [index, self.g.const(np.arange(len(categories), dtype=np.int64)[None, :])])
            blocks.append(self.g.node("Cast", [hits], to=11))
        values = blocks[0] if len(blocks) == 1 else self.g.node("Concat", blocks, axis=1)
        return Matrix(values, sum(len(c) for c in step.categories_))

    def _lookup(self, data: Matrix, step: Any, tables: list[np.ndarray]) -> Matrix:
        """Each column's categories replaced by a row of ``tables[j]`` (the last row: unknown)."""
        blocks = []
        for column, categories, table in zip(self._string_columns(data, step), step.categories_, tables):
            index = self._category_index(column, categories)
            blocks.append(self.g.node("Gather", [self.g.const(np.asarray(table, dtype=float)), index], axis=0))
        values = blocks[0] if len(blocks) == 1 else self.g.node("Concat", blocks, axis=1)
        return Matrix(values, sum(t.shape[1] for t in tables))

    def _OrdinalEncoder(self, step: Any, data: Matrix) -> Matrix:
        if getattr(step, "_infrequent_enabled", False):
            raise NotConvertible("OrdinalEncoder grouping categories has no ONNX form yet")
        tables = []
        for categories in step.categories_:
            codes = np.arange(len(categories), dtype=float)
            missing = [i for i, c in enumerate(categories) if not isinstance(c, str)]  # NaN as a category
            codes[missing] = step.encoded_missing_value
            unknown = step.unknown_value if step.handle_unknown == "use_encoded_value" else np.nan
            tables.append(np.append(codes, unknown)[:, None])
        return self._lookup(data, step, tables)

    def _TargetEncoder(self, step: Any, data: Matrix) -> Matrix:
        per_feature = len(step.encodings_) // len(step.categories_)
        tables = []
        for j in range(len(step.categories_)):
            encodings = [np.asarray(step.encodings_[j * per_feature + k], dtype=float) for k in range(per_feature)]
            means = np.atleast_1d(np.asarray(step.target_mean_, dtype=float))
            rows = np.column_stack(encodings)
            tables.append(np.vstack([rows, means[None, :per_feature]]))
        return self._lookup(data, step, tables)
