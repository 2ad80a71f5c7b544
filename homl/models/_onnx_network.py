"""A fitted homl neural network as an ONNX file whose output is what the estimator returns.

The raw network of a regressor predicts a standardised target, and a binary classifier's has one
sigmoid column; :func:`export_network_onnx` exports a copy whose last ``Dense`` layer gives what
``predict`` and ``predict_proba`` give: the target scaling folded into its kernel and bias
(``kernel * scale``, ``bias * scale + mean``), and for two classes a softmax over ``[0, z]``,
which is ``[1 - sigmoid(z), sigmoid(z)]``. The estimator itself is left untouched.

The graph is written by Keras' own ``model.export(format="onnx")`` (on the PyTorch backend, its
TorchScript exporter, which keeps the batch dimension dynamic), its input renamed ``X``
(float32, shape ``(batch, n_features)``) and its output ``prediction`` or ``probabilities``;
the file is written beside its place and renamed over it, so it is never seen half-written.

>>> import numpy as np
>>> from homl.models import MLPRegressor
>>> X = np.random.default_rng(0).normal(size=(100, 3))
>>> model = MLPRegressor(n_neurons=8, epochs=2, random_state=0).fit(X, X.sum(axis=1))
>>> export_network_onnx(model, "network.onnx", sample=X) < 1e-4  # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import os
import secrets
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.utils.validation import check_is_fitted

from homl.errors import ConfigError

#: The largest difference allowed between the file's output and the estimator's, relative to
#: the size of the estimator's output (at least 1).
TOLERANCE = 1e-4
INPUT_NAME = "X"
_INSTALL = "pip install 'homl[export]'"


def export_network_onnx(estimator: Any, path: str | os.PathLike[str], *, sample: Any = None) -> float | None:
    """Write the fitted network of ``estimator`` (an MLP or other homl Keras estimator) to ``path``
    as ONNX, its output equal to ``predict`` (a regressor, one column per target) or to
    ``predict_proba`` (a classifier, one column per class in ``classes_``).

    With ``sample`` (rows as the estimator takes them), the file is run on them with onnxruntime
    before it is put in place and the largest absolute difference from the estimator is returned;
    a ConfigError says so when it exceeds ``TOLERANCE`` times the size of the output.
    """
    check_is_fitted(estimator, "model_")
    if not (is_regressor(estimator) or is_classifier(estimator)):
        raise ConfigError(f"{type(estimator).__name__} is neither a regressor nor a classifier; "
                          "export_network_onnx takes a fitted homl neural estimator")
    if len(getattr(estimator.model_, "inputs", None) or []) > 1:
        raise ConfigError(f"the network of {type(estimator).__name__} has {len(estimator.model_.inputs)} inputs "
                          "(embedded category columns, or a model of several inputs); ONNX export takes one")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {path.parent} does not exist")
    onnx = _require("onnx")
    from ._keras import import_keras

    keras = import_keras()
    network = _user_facing_copy(keras, estimator)
    # written beside its place and renamed over it; created by the exporter, so the umask applies
    partial = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        _keras_export(keras, network, partial)
        exported = onnx.load(partial)
        _name_io(exported.graph, "prediction" if is_regressor(estimator) else "probabilities")
        _describe(exported, estimator)
        onnx.checker.check_model(exported, full_check=True)
        with open(partial, "wb") as file:
            file.write(exported.SerializeToString())
            file.flush()
            os.fsync(file.fileno())
        difference = None if sample is None else _check(estimator, partial, sample)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return difference


def _require(name: str) -> Any:
    """The module ``name``, or a ConfigError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        raise ConfigError(f"exporting a network to ONNX needs the {name} package: {_INSTALL}") from None


def _user_facing_copy(keras: Any, estimator: Any) -> Any:
    """A copy of ``estimator.model_`` whose last Dense layer outputs predictions or probabilities."""
    model = estimator.model_
    last = model.layers[-1] if model.layers else None
    if len(model.outputs) != 1 or not isinstance(last, keras.layers.Dense) or last.output is not model.outputs[0]:
        raise ConfigError(f"the network of {type(estimator).__name__} does not end in one Dense layer "
                          f"(last layer: {type(last).__name__}); only such networks can be exported")
    config = last.get_config()
    kernel = np.asarray(last.kernel, dtype=np.float64)
    bias = np.asarray(last.bias, dtype=np.float64) if last.use_bias else np.zeros(kernel.shape[1])
    kernel, bias, activation = _fold_output(estimator, config["activation"], kernel, bias)
    config.update(units=kernel.shape[1], activation=activation, use_bias=True)

    def clone(layer: Any) -> Any:
        return type(layer).from_config(config if layer is last else layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    for source, target in zip(model.layers, copy.layers):
        weights = [kernel, bias] if source is last else source.get_weights()
        target.set_weights([np.asarray(w, dtype=np.float32) for w in weights])
    return copy


def _fold_output(estimator: Any, activation: str, kernel: np.ndarray,
                 bias: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """The output layer's kernel, bias and activation that give the estimator's own output."""
    name = type(estimator).__name__
    if is_regressor(estimator):
        if activation != "linear":
            raise ConfigError(f"the output layer of {name} has activation {activation!r}; the target "
                              "scaling can be folded into a linear output layer only")
        scale, mean = np.asarray(estimator.y_scale_), np.asarray(estimator.y_mean_)
        return kernel * scale, bias * scale + mean, "linear"
    classes = len(estimator.classes_)
    if classes == 1:  # predict_proba is all ones: a softmax over one column
        return np.zeros((kernel.shape[0], 1)), np.zeros(1), "softmax"
    if classes == 2 and activation == "sigmoid" and kernel.shape[1] == 1:
        # softmax([0, z]) = [1 - sigmoid(z), sigmoid(z)]
        return np.hstack([np.zeros_like(kernel), kernel]), np.concatenate([[0.0], bias]), "softmax"
    if classes > 2 and activation == "softmax" and kernel.shape[1] == classes:
        return kernel, bias, "softmax"
    raise ConfigError(f"the output layer of {name} has {kernel.shape[1]} units with activation {activation!r} "
                      f"for {classes} classes; expected one sigmoid unit for two classes or a softmax")


def _keras_export(keras: Any, network: Any, path: str) -> None:
    """``network`` as ONNX at ``path``, by Keras, with a dynamic batch dimension."""
    n_features = network.inputs[0].shape[-1]
    signature = [keras.InputSpec(shape=(None, n_features), dtype="float32", name=INPUT_NAME)]
    with warnings.catch_warnings():
        # shapes the tracer reads as Python numbers: the batch dimension stays dynamic regardless
        warnings.filterwarnings("ignore", message=r"Converting a tensor to a Python (integer|boolean)")
        try:
            network.export(path, format="onnx", verbose=False, input_signature=signature)
        except ImportError as error:
            raise ConfigError(f"ONNX export on Keras' {keras.backend.backend()} backend: {error}") from None


def _name_io(graph: Any, output: str) -> None:
    """Name the graph's input ``X`` and its one output ``output``, wherever the nodes use them."""
    renames = {graph.input[0].name: INPUT_NAME, graph.output[0].name: output}
    for value in (*graph.input, *graph.output):
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(name, name) for name in node.input]
        node.output[:] = [renames.get(name, name) for name in node.output]


def _describe(exported: Any, estimator: Any) -> None:
    """Record what the output means in the file's metadata (estimator, classes, feature names)."""
    meta = {"homl.estimator": type(estimator).__name__}
    if is_classifier(estimator):
        meta["homl.classes"] = json.dumps(np.asarray(estimator.classes_).tolist(), default=str)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        meta["homl.feature_names"] = json.dumps([str(name) for name in names])
    for key, value in meta.items():
        exported.metadata_props.add(key=key, value=value)


def _check(estimator: Any, path: str, sample: Any) -> float:
    """The largest absolute difference between the file's output on ``sample`` and the estimator's."""
    runtime = _require("onnxruntime")
    rows = estimator._check_input(sample, reset=False)
    session = runtime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(None, {INPUT_NAME: np.asarray(rows, dtype=np.float32)})[0], dtype=np.float64)
    expected = estimator.predict(sample) if is_regressor(estimator) else estimator.predict_proba(sample)
    expected = np.asarray(expected, dtype=np.float64).reshape(got.shape)
    difference = float(np.max(np.abs(got - expected)))
    allowed = TOLERANCE * max(1.0, float(np.max(np.abs(expected))))
    if not difference <= allowed:  # also refuses NaN
        raise ConfigError(f"the ONNX network differs from {type(estimator).__name__} by up to {difference:.3g} "
                          f"on the {len(rows)} sample rows (allowed {allowed:.3g}); nothing was written")
    return difference
