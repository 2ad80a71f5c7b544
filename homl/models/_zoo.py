"""The model zoo: every family declared once, with its defaults and its search space.

The short-list, the search, the report and the docs all read these declarations.
Parameter names in a space are the model's own; names starting with ``prep:`` are
options of the ``TablePreprocessor`` in front of the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homl.errors import ConfigError

from ._space import Choice, FloatRange, IntRange, Space

REGRESSION = "regression"
CLASSIFICATION = ("binary", "multiclass")


@dataclass(frozen=True)
class ModelSpec:
    """A model family: how to build it, how to prepare data for it, and what to tune."""

    name: str
    label: str
    make: Callable[[str, int], Any]
    tasks: tuple[str, ...] = (REGRESSION, *CLASSIFICATION)
    prep: dict[str, Any] = field(default_factory=dict)
    space: Space = field(default_factory=dict)
    #: Configurations known to work well, tried first by the search (the book's experience).
    seeds: tuple[dict[str, Any], ...] = ()
    #: Fit on a random sample of at most this many rows (kernel methods, k-NN).
    max_rows: int | None = None
    #: Only offered when the prepared table has at most this many features.
    max_features: int | None = None
    #: Regression target standardised before fitting (models whose penalties or step
    #: sizes assume targets of order one: SGD, SVMs).
    scale_target: bool = False
    #: Module of an optional dependency the family needs, and the extra that installs it.
    requires: tuple[str, str] | None = None
    #: Splits on categories itself (or embeds them), given columns of pandas' category dtype
    #: (``prep:categorical="native"`` is then one of its search options).
    native_categories: bool = False
    #: A linear or kernel model, whose regression predictions can run far past any target it
    #: was fitted on where a row's values do: they are clipped to the training targets' range.
    extrapolates: bool = False
    #: Cross-validated first in the short-list and allowed past its share of the time: the
    #: family most likely to win on a table, which a small or busy budget must not lose.
    anchor: bool = False
    #: Fits a model of the log of the mean (a Poisson loss): offered only for a regression
    #: target that is skewed and never negative (counts, prices, sizes; see ``suits_log_link``).
    log_link: bool = False
    #: Tried only when named (``--models mlp,lightgbm``), never in the default short-list.
    on_request: bool = False
    #: Its fitted models have an exact ONNX form (see ``homl.models.table_to_onnx``): offered by an
    #: exportable fit.
    exportable: bool = True

    def supports(self, task: str) -> bool:
        return task in self.tasks

    @property
    def installed(self) -> bool:
        """Whether the family's optional dependency can be imported."""
        from importlib.util import find_spec

        return self.requires is None or find_spec(self.requires[0]) is not None


def _cores() -> int:
    import os

    return max(1, os.cpu_count() or 1)


def _linear(task: str, seed: int) -> Any:
    from sklearn.linear_model import LinearRegression, LogisticRegression

    return LinearRegression() if task == REGRESSION else LogisticRegression(max_iter=2000)


def _ridge(task: str, seed: int) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge()


def _lasso(task: str, seed: int) -> Any:
    from sklearn.linear_model import Lasso

    return Lasso(alpha=1.0, max_iter=5000, random_state=seed)


def _elastic(task: str, seed: int) -> Any:
    from sklearn.linear_model import ElasticNet, LogisticRegression

    if task == REGRESSION:
        return ElasticNet(alpha=1.0, l1_ratio=0.5, max_iter=5000, random_state=seed)
    model = LogisticRegression(solver="saga", l1_ratio=0.5, max_iter=2000, random_state=seed)
    if "penalty" in model.get_params() and _sklearn_before((1, 8)):
        model.set_params(penalty="elasticnet")  # before 1.8, l1_ratio needed it
    return model


def _sklearn_before(version: tuple[int, int]) -> bool:
    import sklearn

    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    return (major, minor) < version


def _poly(task: str, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    final = Ridge(alpha=10.0) if task == REGRESSION else LogisticRegression(C=0.1, max_iter=2000)
    return make_pipeline(PolynomialFeatures(degree=2, include_bias=False), StandardScaler(), final)


def _sgd(task: str, seed: int) -> Any:
    from sklearn.linear_model import SGDClassifier, SGDRegressor

    if task == REGRESSION:
        return SGDRegressor(random_state=seed, early_stopping=True)
    return SGDClassifier(loss="log_loss", random_state=seed, early_stopping=True)


def _knn(task: str, seed: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    return KNeighborsRegressor(n_neighbors=10) if task == REGRESSION else KNeighborsClassifier(n_neighbors=10)


def _linear_svm(task: str, seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC, LinearSVR

    if task == REGRESSION:
        return LinearSVR(max_iter=5000, random_state=seed)
    # LinearSVC has no probabilities; a cross-fitted sigmoid gives them cheaply.
    return CalibratedClassifierCV(LinearSVC(max_iter=5000, random_state=seed), cv=3, ensemble=False)


def _svm(task: str, seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC, SVR

    if task == REGRESSION:
        return SVR()
    # Probabilities by a cross-fitted sigmoid on the decision function (Platt scaling).
    return CalibratedClassifierCV(SVC(random_state=seed), cv=3, ensemble=False)


def _mlp(task: str, seed: int) -> Any:
    from ._neural import MLPClassifier, MLPRegressor

    return MLPRegressor(random_state=seed) if task == REGRESSION else MLPClassifier(random_state=seed)


def _tree(task: str, seed: int) -> Any:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeRegressor if task == REGRESSION else DecisionTreeClassifier
    return cls(random_state=seed, min_samples_leaf=5)


def _forest(task: str, seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestRegressor if task == REGRESSION else RandomForestClassifier
    return cls(n_estimators=100, max_features=0.5 if task == REGRESSION else "sqrt", n_jobs=_cores(),
               random_state=seed)


def _extra(task: str, seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    cls = ExtraTreesRegressor if task == REGRESSION else ExtraTreesClassifier
    return cls(n_estimators=100, max_features=0.7 if task == REGRESSION else "sqrt", n_jobs=_cores(),
               random_state=seed)


def _adaboost(task: str, seed: int) -> Any:
    from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if task == REGRESSION:
        return AdaBoostRegressor(DecisionTreeRegressor(max_depth=4), n_estimators=100, random_state=seed)
    return AdaBoostClassifier(DecisionTreeClassifier(max_depth=2), n_estimators=100, random_state=seed)


def _hist_gb(task: str, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingRegressor if task == REGRESSION else HistGradientBoostingClassifier
    return cls(random_state=seed, early_stopping=False)


def _lightgbm(task: str, seed: int) -> Any:
    from lightgbm import LGBMClassifier, LGBMRegressor

    from ._wrappers import EarlyStopping

    cls = LGBMRegressor if task == REGRESSION else LGBMClassifier
    # Up to 300 trees (most of what 1000 would give, in half the time); early stopping keeps
    # as many as the held-out rows ask for. The search grows up to MAX_TREES.
    model = cls(n_estimators=300, random_state=seed, n_jobs=_cores(), verbose=-1)
    return EarlyStopping(model, random_state=seed)


def _lightgbm_poisson(task: str, seed: int) -> Any:
    return _lightgbm(task, seed).set_params(estimator__objective="poisson")


def _xgboost(task: str, seed: int) -> Any:
    from xgboost import XGBClassifier, XGBRegressor

    from ._wrappers import EarlyStopping, LabelEncoded

    options = {"n_estimators": 300, "learning_rate": 0.1, "random_state": seed, "n_jobs": _cores(),
               "tree_method": "hist", "verbosity": 0}
    if task == REGRESSION:
        return EarlyStopping(XGBRegressor(**options), random_state=seed)
    # XGBoost accepts only labels 0..k-1.
    return LabelEncoded(EarlyStopping(XGBClassifier(**options), random_state=seed))


def _catboost(task: str, seed: int) -> Any:
    from ._catboost import CatBoostClassification, CatBoostRegression
    from ._wrappers import EarlyStopping

    cls = CatBoostRegression if task == REGRESSION else CatBoostClassification
    # Symmetric trees are quick per round but need more rounds than LightGBM's leaf-wise ones:
    # on the housing example 1000 at 0.1 beat LightGBM's default in about four times its time
    # (2000 gain little at twice the cost). Early stopping keeps what the held-out rows ask for.
    model = cls(iterations=1000, learning_rate=0.1, depth=6, n_jobs=_cores(), random_state=seed)
    return EarlyStopping(model, random_state=seed)


_TREES = {"scale": False, "log_heavy_tails": False}
_LINEAR = {"scale": True}
_FOREST_SPACE: Space = {
    "n_estimators": IntRange(100, 500, log=True),
    "max_features": FloatRange(0.1, 1.0),
    "min_samples_leaf": IntRange(1, 20, log=True),
}
#: Most trees a searched booster may grow; early stopping decides how many it keeps, so the
#: search tunes the learning rate instead of the count.
MAX_TREES = 3000
_BOOSTING_SPACE: Space = {
    "learning_rate": FloatRange(0.02, 0.3, log=True),
    "n_estimators": Choice((MAX_TREES,)),
    "subsample": FloatRange(0.5, 1.0),
    "colsample_bytree": FloatRange(0.3, 1.0),
    "reg_lambda": FloatRange(1e-3, 10.0, log=True),
}
_LIGHTGBM_SPACE: Space = {
    **_BOOSTING_SPACE,
    "num_leaves": IntRange(8, 256, log=True),
    "min_child_samples": IntRange(3, 100, log=True),
    "subsample_freq": Choice((1,)),
}

#: Where days repeat, each date as a category LightGBM splits on itself: the rows of one day
#: share its weather and events, and a split learns the days alike from the day's other rows
#: (seed options on the preparation apply only where the table offers them all).
_DAYS_NATIVE = {"prep:categorical": "native", "prep:date_values": True}

#: In short-list order: the families most often best or most useful to an ensemble first
#: (LightGBM leads: quick and usually strong; then the quick linear baselines, the other
#: boosters and the forests), the variants and the slow kernel SVM last, so a small budget
#: spends its short-list where it matters.
SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "lightgbm", "LightGBM", _lightgbm, prep=_TREES, native_categories=True, anchor=True,
        space=_LIGHTGBM_SPACE,
        seeds=(  # the quicker first: a small budget may allow only one
            {"learning_rate": 0.05, "n_estimators": MAX_TREES, "num_leaves": 31, "min_child_samples": 20,
             "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0, **_DAYS_NATIVE},
            {"learning_rate": 0.03, "n_estimators": MAX_TREES, "num_leaves": 63, "min_child_samples": 10,
             "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.6, "reg_lambda": 1.0, **_DAYS_NATIVE},
        ),
    ),
    ModelSpec(
        # Errors that grow with the mean, as those of counts and prices do; predictions stay
        # positive. Its own family, so the short-list ranks it at no cost to LightGBM's search.
        "lightgbm_poisson", "LightGBM (Poisson loss)", _lightgbm_poisson, tasks=(REGRESSION,), prep=_TREES,
        native_categories=True, log_link=True,
        space=_LIGHTGBM_SPACE,
        seeds=(  # a log link learns in small steps: a quick learning rate first
            {"learning_rate": 0.1, "n_estimators": MAX_TREES, "num_leaves": 31, "min_child_samples": 20,
             "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0},
        ),
    ),
    ModelSpec("linear", "linear / logistic regression", _linear, prep=_LINEAR, extrapolates=True,
              space={"C": FloatRange(1e-3, 1e3, log=True)}),
    ModelSpec("ridge", "ridge regression", _ridge, tasks=(REGRESSION,), prep=_LINEAR, extrapolates=True,
              space={"alpha": FloatRange(1e-3, 1e3, log=True)}),
    ModelSpec(
        "hist_gb", "histogram gradient boosting", _hist_gb, prep=_TREES,
        space={
            "learning_rate": FloatRange(0.01, 0.3, log=True),
            "max_iter": IntRange(100, 1500, log=True),
            "max_leaf_nodes": IntRange(8, 255, log=True),
            "min_samples_leaf": IntRange(3, 100, log=True),
            "l2_regularization": FloatRange(1e-4, 10.0, log=True),
        },
    ),
    ModelSpec(
        "xgboost", "XGBoost", _xgboost, prep=_TREES, requires=("xgboost", "homl[xgboost]"),
        space={
            **_BOOSTING_SPACE,
            "max_depth": IntRange(3, 10),
            "min_child_weight": FloatRange(0.5, 20.0, log=True),
        },
        seeds=(
            {"learning_rate": 0.05, "n_estimators": MAX_TREES, "max_depth": 6, "subsample": 0.8,
             "colsample_bytree": 0.8, "reg_lambda": 1.0, "min_child_weight": 1.0},
        ),
    ),
    ModelSpec(
        "catboost", "CatBoost", _catboost, prep=_TREES, requires=("catboost", "homl[catboost]"),
        native_categories=True, exportable=False,
        space={
            "learning_rate": FloatRange(0.02, 0.3, log=True),
            "iterations": Choice((MAX_TREES,)),
            "depth": IntRange(4, 10),
            "l2_leaf_reg": FloatRange(0.5, 30.0, log=True),
            "subsample": FloatRange(0.5, 1.0),
            "random_strength": FloatRange(0.01, 10.0, log=True),
        },
        seeds=(  # the quicker first: depth 8 costs more per round than depth 6
            {"learning_rate": 0.05, "iterations": MAX_TREES, "depth": 6, "l2_leaf_reg": 3.0, "subsample": 0.8,
             "random_strength": 1.0},
            {"learning_rate": 0.04, "iterations": MAX_TREES, "depth": 8, "l2_leaf_reg": 5.0, "subsample": 0.8,
             "random_strength": 1.0},
        ),
    ),
    ModelSpec(
        "random_forest", "random forest", _forest, prep=_TREES,
        space=_FOREST_SPACE,
        seeds=({"n_estimators": 300, "max_features": 0.4, "min_samples_leaf": 1},),
    ),
    ModelSpec(
        "extra_trees", "extra trees", _extra, prep=_TREES, space=_FOREST_SPACE,
    ),
    ModelSpec("knn", "k-nearest neighbours", _knn, prep=_LINEAR, max_rows=20000,
              space={"n_neighbors": IntRange(3, 50, log=True), "weights": Choice(("uniform", "distance"))}),
    ModelSpec("decision_tree", "decision tree", _tree, prep=_TREES,
              space={"max_depth": IntRange(2, 30), "min_samples_leaf": IntRange(1, 50, log=True)}),
    ModelSpec("lasso", "lasso regression", _lasso, tasks=(REGRESSION,), prep=_LINEAR, extrapolates=True,
              space={"alpha": FloatRange(1e-3, 1e3, log=True)}),
    ModelSpec("elastic_net", "elastic net", _elastic, prep=_LINEAR, extrapolates=True,
              space={"l1_ratio": FloatRange(0.05, 0.95)}),
    ModelSpec("sgd", "SGD linear model", _sgd, prep=_LINEAR, extrapolates=True, scale_target=True,
              space={"alpha": FloatRange(1e-6, 1e-1, log=True)}),
    ModelSpec("linear_svm", "linear SVM", _linear_svm, prep=_LINEAR, extrapolates=True, scale_target=True,
              max_rows=50000),
    ModelSpec("poly_ridge", "polynomial features + ridge/logistic", _poly, prep=_LINEAR, extrapolates=True,
              max_rows=50000, max_features=40),
    ModelSpec("adaboost", "AdaBoost", _adaboost, prep=_TREES,
              space={"n_estimators": IntRange(50, 400, log=True), "learning_rate": FloatRange(0.01, 2.0, log=True)}),
    ModelSpec("svm", "kernel SVM (RBF)", _svm, prep=_LINEAR, extrapolates=True, scale_target=True, max_rows=4000,
              space={"C": FloatRange(0.1, 1000.0, log=True), "gamma": FloatRange(1e-4, 1.0, log=True)}),
    ModelSpec("mlp", "multilayer perceptron (Keras)", _mlp, prep=_LINEAR, extrapolates=True, requires=("keras", "homl[deep]"),
              on_request=True, native_categories=True, exportable=False,  # "native" categories: the network embeds them
              space={"n_hidden": IntRange(1, 4), "n_neurons": IntRange(32, 512, log=True),
                     "learning_rate": FloatRange(1e-4, 1e-2, log=True),
                     "lr_schedule": Choice(("constant", "1cycle", "plateau", "exponential")),
                     "optimizer": Choice(("adam", "nadam", "adamw", "rmsprop", "nesterov")),
                     "dropout": Choice((0.0, 0.1, 0.2, 0.3)), "batch_size": Choice((32, 64, 128, 256))},
              seeds=({"n_hidden": 2, "n_neurons": 512, "learning_rate": 5e-4, "lr_schedule": "constant",
                      "optimizer": "adam", "dropout": 0.0,
                      "batch_size": 64},)),
)

_BY_NAME = {spec.name: spec for spec in SPECS}


def get_spec(name: str) -> ModelSpec:
    """The model family called ``name``."""
    if name not in _BY_NAME:
        raise ConfigError(f"unknown model family '{name}'; expected one of {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def candidates_for(task: str, names: list[str] | None = None) -> list[ModelSpec]:
    """The installed families that can learn ``task`` (only ``names``, in that order, if given;
    without names, the families tried only on request are left out).

    A family named explicitly must be installed and fit the task; otherwise families whose
    optional dependency is missing are left out (see :func:`missing_families`).
    """
    specs = [get_spec(n) for n in names] if names else list(SPECS)
    unfit = [s.name for s in specs if not s.supports(task)]
    if names and unfit:
        raise ConfigError(f"model famil{'y' if len(unfit) == 1 else 'ies'} {', '.join(unfit)} cannot do {task}")
    absent = [s for s in specs if not s.installed]
    if names and absent:
        raise ConfigError(f"model family {absent[0].name} needs {absent[0].requires[0]}: pip install '{absent[0].requires[1]}'")
    return [s for s in specs if s.supports(task) and s.installed and (names or not s.on_request)]


def missing_families() -> list[str]:
    """Sentences naming the families left out because their optional dependency is missing."""
    return [f"{s.label} left out: pip install '{s.requires[1]}' to add it" for s in SPECS
            if not s.installed and not s.on_request]


def prep_space(spec: ModelSpec, has_geo: bool, has_heavy: bool, has_categorical: bool,
               has_repeated_dates: bool = False) -> Space:
    """Preparation options worth searching for this family on this table."""
    space: Space = {}
    if has_geo:
        space["prep:geo_clusters"] = Choice((0, 5, 10, 20, 45))
        space["prep:geo_neighbors"] = Choice((0, 5, 10, 20, 40))
    if has_heavy:
        space["prep:ratios"] = Choice((False, True))
    if has_categorical or has_repeated_dates:
        encodings = ("auto", "onehot", "ordinal", "target") + (("native",) if spec.native_categories else ())
        space["prep:categorical"] = Choice(encodings)
    if has_repeated_dates:
        space["prep:date_values"] = Choice((False, True))
    return space
