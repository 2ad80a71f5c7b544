"""A small ONNX graph builder: constants, nodes, and whole models converted by skl2onnx.

:class:`GraphBuilder` collects the nodes of one graph. homl's own steps (clipping, ratios,
geographic features, encoders) are written as a few ONNX operators each; a scikit-learn,
LightGBM or XGBoost estimator is converted by skl2onnx (onnxmltools for the boosters) into a
graph of its own, whose names are prefixed and whose input is wired to a tensor of this one
(:meth:`GraphBuilder.embed`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Opsets of every graph homl writes: ONNX Runtime 1.17 and later, onnxruntime-web included, run them.
OPSET = {"": 17, "ai.onnx.ml": 3}


class NotConvertible(Exception):
    """A part of a pipeline has no ONNX form; the message says which and why."""


class GraphBuilder:
    """Nodes, initializers, inputs and outputs of one ONNX graph, with fresh names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self.opsets: dict[str, int] = dict(OPSET)
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name: str, elem_type: int) -> str:
        from onnx import helper

        self.inputs.append(helper.make_tensor_value_info(name, elem_type, [None, 1]))
        return name

    def output(self, tensor: str, name: str, elem_type: int, shape: list[Any]) -> None:
        from onnx import helper

        self.node("Identity", [tensor], outputs=[name])
        self.outputs.append(helper.make_tensor_value_info(name, elem_type, shape))

    def const(self, value: Any, hint: str = "c") -> str:
        from onnx import numpy_helper

        array = np.asarray(value)
        if array.dtype.kind in "USO":
            array = array.astype(object)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], *, outputs: list[str] | int = 1, domain: str = "", **attrs: Any) -> Any:
        """Add a node; the name of its output (or a list, when ``outputs`` is a number > 1 or a list)."""
        from onnx import helper

        names = outputs if isinstance(outputs, list) else [self.name(op.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, name=self.name(f"node_{op}"), domain=domain, **attrs))
        return names[0] if len(names) == 1 else names

    def embed(self, model: Any, inputs: list[str]) -> list[str]:
        """Copy the graph of ``model`` (a ModelProto) in, its inputs fed by ``inputs``; its outputs' names."""
        from onnx import compose

        prefix = self.name("m") + "_"
        model = compose.add_prefix(model, prefix)
        graph = model.graph
        for tensor, model_input in zip(inputs, graph.input):
            self.node("Identity", [tensor], outputs=[model_input.name])
        self.nodes.extend(graph.node)
        self.initializers.extend(graph.initializer)
        for opset in model.opset_import:
            domain = opset.domain or ""
            self.opsets[domain] = max(self.opsets.get(domain, 0), opset.version)
        return [output.name for output in graph.output]

    def model(self, doc: str = "") -> Any:
        from onnx import checker, helper

        graph = helper.make_graph(self.nodes, "homl", self.inputs, self.outputs, self.initializers)
        opsets = [helper.make_opsetid(domain, version) for domain, version in sorted(self.opsets.items())]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="homl", doc_string=doc)
        model.ir_version = 8
        checker.check_model(model)
        return model


def sklearn_to_onnx(estimator: Any, n_features: int, *, classifier: bool = False) -> tuple[Any, str]:
    """``estimator`` (fitted, on a matrix of ``n_features`` columns) as a ModelProto with one input,
    and what that input takes: ``"double"``, ``"float"``, or ``"float as double"`` (doubles
    rounded to floats first, as scikit-learn's trees read them, then compared with double thresholds).

    Doubles where the converter and ONNX Runtime allow. A tree model gets its exact thresholds
    back (see :func:`exact_thresholds`): rounded to floats, values a hair apart would go down
    other branches. XGBoost splits floats on float thresholds itself.
    """
    groups = _double_trees(estimator)
    if groups is not None:
        trees, reads_floats = groups
        model = _convert(estimator, n_features, False, classifier)
        if exact_thresholds(model, trees):
            try:
                _runnable(model)
                return model, "float as double" if reads_floats else "double"
            except Exception:  # a runtime without double thresholds: floats it is
                model = _convert(estimator, n_features, False, classifier)
        _checked_runnable(estimator, model)
        return model, "float"
    try:
        model = _convert(estimator, n_features, True, classifier)
        _runnable(model)
        return model, "double"
    except Exception:  # no double form: a float one
        model = _convert(estimator, n_features, False, classifier)
        _checked_runnable(estimator, model)
        return model, "float"


def _convert(estimator: Any, n_features: int, double: bool, classifier: bool) -> Any:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    _register_boosters()
    tensor = DoubleTensorType if double else FloatTensorType
    options = {id(estimator): {"zipmap": False}} if classifier else None
    try:
        return to_onnx(estimator, initial_types=[("X", tensor([None, n_features]))], target_opset=OPSET,
                       options=options)
    except Exception as error:  # converters raise many kinds: each means no ONNX form
        raise NotConvertible(f"{type(estimator).__name__}: {type(error).__name__}: {error}") from None


def _checked_runnable(estimator: Any, model: Any) -> None:
    try:
        _runnable(model)
    except Exception as error:
        raise NotConvertible(f"{type(estimator).__name__}: {type(error).__name__}: {error}") from None


#: A tree as nested ``(threshold, left, right)`` tuples, a leaf being None; ``x <= threshold`` goes left.
Tree = Any


def _double_trees(estimator: Any) -> tuple[list[list[Tree]], bool] | None:
    """The trees of a tree model with double thresholds, one list per tree-ensemble node its converter
    writes, and whether it reads its input as floats; None for other models."""
    if hasattr(estimator, "_predictors"):  # scikit-learn's histogram gradient boosting
        trees = []
        for iteration in estimator._predictors:
            for predictor in iteration:
                nodes = predictor.nodes
                if "is_categorical" in nodes.dtype.names and nodes["is_categorical"].any():
                    return None

                def grow(i: int, nodes: Any = nodes) -> Tree:
                    node = nodes[i]
                    if node["is_leaf"]:
                        return None
                    return (float(node["num_threshold"]), grow(int(node["left"])), grow(int(node["right"])))

                trees.append(grow(0))
        return [trees], False
    if type(estimator).__module__.startswith("lightgbm"):
        def lightgbm(node: dict[str, Any]) -> Tree:
            if "split_index" not in node:
                return None
            if node.get("decision_type") != "<=":
                raise ValueError("a category split")
            return (float(node["threshold"]), lightgbm(node["left_child"]), lightgbm(node["right_child"]))

        try:
            return [[lightgbm(tree["tree_structure"]) for tree in estimator.booster_.dump_model()["tree_info"]]], False
        except ValueError:
            return None
    if hasattr(estimator, "tree_"):  # scikit-learn's trees: float features, double thresholds
        return [[_sklearn_tree(estimator.tree_)]], True
    members = getattr(estimator, "estimators_", None)
    if isinstance(members, list) and members and all(hasattr(m, "tree_") for m in members):
        trees = [_sklearn_tree(m.tree_) for m in members]
        if type(estimator).__name__.startswith("AdaBoost"):
            return [[tree] for tree in trees], True  # one ensemble node a tree
        return [trees], True
    return None


def _sklearn_tree(tree: Any) -> Tree:
    left, right, threshold = tree.children_left, tree.children_right, tree.threshold

    def grow(i: int) -> Tree:
        if left[i] == -1:
            return None
        return (float(threshold[i]), grow(int(left[i])), grow(int(right[i])))

    return grow(0)


def _same_float(exact: float, stored: float) -> bool:
    """Whether ``stored`` is ``exact`` rounded to a float (infinite past the float range)."""
    with np.errstate(over="ignore"):
        return bool(np.float32(exact) == np.float32(stored))


def exact_thresholds(model: Any, groups: list[list[Tree]]) -> bool:
    """Give the tree-ensemble nodes of ``model`` the double thresholds of ``groups`` (one list of
    trees a node, in graph order) and make its input double.

    The converted trees are walked beside the model's own, root to leaves (the branch taken when
    ``x <= threshold`` beside the left child), so node numbering does not matter. Returns False,
    leaving ``model`` as it was, where the two do not have the same shape.
    """
    from onnx import TensorProto

    ensembles = [n for n in model.graph.node if n.op_type in ("TreeEnsembleRegressor", "TreeEnsembleClassifier")]
    if len(ensembles) != len(groups) or len(model.graph.input) != 1:
        return False
    exact = [_exact_values(node, trees) for node, trees in zip(ensembles, groups)]
    if any(values is None for values in exact):
        return False
    for node, values in zip(ensembles, exact):
        _set_values(node, values)
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
    for opset in model.opset_import:  # the *_as_tensor attributes came with version 3
        if opset.domain == "ai.onnx.ml":
            opset.version = max(opset.version, 3)
    return True


def _exact_values(node: Any, trees: list[Tree]) -> np.ndarray | None:
    """The node's thresholds replaced by the exact ones of ``trees``; None where they do not match."""
    attrs = {a.name: a for a in node.attribute}
    if "nodes_values" not in attrs:
        return None
    tree_ids, node_ids = list(attrs["nodes_treeids"].ints), list(attrs["nodes_nodeids"].ints)
    modes = [m.decode() for m in attrs["nodes_modes"].strings]
    true_ids, false_ids = list(attrs["nodes_truenodeids"].ints), list(attrs["nodes_falsenodeids"].ints)
    values = np.asarray(attrs["nodes_values"].floats, dtype=np.float64)
    position = {(t, n): i for i, (t, n) in enumerate(zip(tree_ids, node_ids))}
    if len(set(tree_ids)) != len(trees):
        return None

    def walk(tree: int, node_id: int, exact: Tree) -> bool:
        i = position.get((tree, node_id))
        if i is None:
            return False
        if exact is None:
            return modes[i] == "LEAF"
        if modes[i] != "BRANCH_LEQ" or not _same_float(exact[0], values[i]):
            return False
        values[i] = exact[0]
        return walk(tree, true_ids[i], exact[1]) and walk(tree, false_ids[i], exact[2])

    for tree, exact in zip(sorted(set(tree_ids)), trees):
        children = {c for t, ts, fs, m in zip(tree_ids, true_ids, false_ids, modes) if t == tree and m != "LEAF"
                    for c in (ts, fs)}
        roots = [n for t, n in zip(tree_ids, node_ids) if t == tree and n not in children]
        if len(roots) != 1 or not walk(tree, roots[0], exact):
            return None
    return values


def _set_values(node: Any, values: np.ndarray) -> None:
    from onnx import helper, numpy_helper

    del node.attribute[[a.name for a in node.attribute].index("nodes_values")]
    node.attribute.append(helper.make_attribute("nodes_values_as_tensor", numpy_helper.from_array(values)))


def _runnable(model: Any) -> None:
    """Raise unless ONNX Runtime accepts ``model`` (a converter may write types its operators refuse)."""
    import onnxruntime

    onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


_REGISTERED = False


def _register_boosters() -> None:
    """Teach skl2onnx the LightGBM and XGBoost estimators, through onnxmltools' converters."""
    global _REGISTERED
    if _REGISTERED:
        return
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    boosters = []
    try:
        from lightgbm import LGBMClassifier, LGBMRegressor
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        boosters += [(LGBMClassifier, "LightGbmLGBMClassifier", convert_lightgbm, True),
                     (LGBMRegressor, "LightGbmLGBMRegressor", convert_lightgbm, False)]
    except ImportError:
        pass
    try:
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from xgboost import XGBClassifier, XGBRegressor

        boosters += [(XGBClassifier, "XGBoostXGBClassifier", convert_xgboost, True),
                     (XGBRegressor, "XGBoostXGBRegressor", convert_xgboost, False)]
    except ImportError:
        pass
    for model, alias, convert, classifier in boosters:
        if classifier:
            update_registered_converter(model, alias, calculate_linear_classifier_output_shapes, convert,
                                        options={"nocl": [True, False], "zipmap": [True, False, "columns"]})
        else:
            update_registered_converter(model, alias, calculate_linear_regressor_output_shapes, convert,
                                        options={"split": None})
    _REGISTERED = True
