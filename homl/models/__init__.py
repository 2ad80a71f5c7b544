"""Model layer: the zoo of model families, their search spaces, and pipeline assembly."""

from ._anomaly import AUTO_MEMBERS, AnomalyDetector
from ._bagging import FoldBagged, bagged, fold_ensemble, takes_groups
from ._build import (
    PREP_PREFIX,
    TARGET_TRANSFORM,
    build_pipeline,
    free_cores,
    stopped_rounds,
    suits_log_link,
    target_space,
    threads_for,
    tunable_space,
    with_epochs,
    with_rounds,
)
from ._calls import fit_pipeline, predict_output
from ._catboost import CatBoostClassification, CatBoostRegression
from ._detectors import DETECTORS, available_detectors
from ._feedback import FeedbackALS, FeedbackBPR, ItemNeighbours, PopularItems
from ._feedback_base import top_n
from ._feedback_neural import FeedbackEmbeddings
from ._forecast_base import Forecaster, LocalForecaster, check_horizon
from ._forecast_ensemble import ForecastEnsemble, combine, members_of
from ._forecast_zoo import FORECAST_ORDER, forecast_candidates, forecaster_catalogue, make_forecaster
from ._keras import KerasModel, network_history, network_summary, save_network, training_device
from ._keras_user import KerasClassifier, KerasEstimator, KerasRegressor, register, reuse_layers
from ._neural import LearningRateSearch, MLPClassifier, MLPRegressor, find_learning_rate
from ._onnx_graph import NotConvertible
from ._onnx_network import export_network_onnx
from ._onnx_table import onnx_feeds, table_to_onnx
from ._rating_neighbours import NeighbourRating
from ._ratings import BiasRating, FactorRating, MeanRating, RatingBlend
from ._reduce import FIT_ONLY as EMBED_ONLY_METHODS
from ._reduce import REDUCE_METHODS, Reducer, components_for_variance, explained_variance_curve
from ._segment import NOISE as NOISE_SEGMENT
from ._segment import SEGMENT_METHODS, Segmenter, most_segments
from ._semi import PROPAGATION_METHODS, ClusterLabelClassifier, propagate_labels, representative_rows
from ._space import Choice, FloatRange, IntRange, Space, sample
from ._stacking import STACK_PREFIX, LayeredStack, OutOfFold, stack_columns, stack_features, with_stack_features
from ._stream import table_stream
from ._threshold import DecisionThreshold, labels_from_proba, with_threshold
from ._wrappers import ClippedOutput, EarlyStopping, LabelEncoded, RowCap
from ._zoo import SPECS, ModelSpec, candidates_for, get_spec, missing_families, prep_space

__all__ = [
    "top_n",
    "BiasRating",
    "FactorRating",
    "MeanRating",
    "NeighbourRating",
    "RatingBlend",
    "FeedbackALS",
    "FeedbackBPR",
    "FeedbackEmbeddings",
    "ItemNeighbours",
    "PopularItems",
    "FORECAST_ORDER",
    "ForecastEnsemble",
    "Forecaster",
    "LocalForecaster",
    "check_horizon",
    "combine",
    "forecast_candidates",
    "forecaster_catalogue",
    "make_forecaster",
    "members_of",
    "AUTO_MEMBERS",
    "AnomalyDetector",
    "LearningRateSearch",
    "KerasModel",
    "KerasEstimator",
    "KerasRegressor",
    "KerasClassifier",
    "register",
    "reuse_layers",
    "export_network_onnx",
    "NotConvertible",
    "onnx_feeds",
    "table_to_onnx",
    "table_stream",
    "MLPClassifier",
    "find_learning_rate",
    "MLPRegressor",
    "network_history",
    "network_summary",
    "save_network",
    "training_device",
    "DETECTORS",
    "available_detectors",
    "SEGMENT_METHODS",
    "most_segments",
    "NOISE_SEGMENT",
    "Segmenter",
    "PROPAGATION_METHODS",
    "ClusterLabelClassifier",
    "propagate_labels",
    "representative_rows",
    "REDUCE_METHODS",
    "EMBED_ONLY_METHODS",
    "Reducer",
    "components_for_variance",
    "explained_variance_curve",
    "PREP_PREFIX",
    "SPECS",
    "STACK_PREFIX",
    "TARGET_TRANSFORM",
    "CatBoostClassification",
    "CatBoostRegression",
    "Choice",
    "ClippedOutput",
    "DecisionThreshold",
    "EarlyStopping",
    "FoldBagged",
    "FloatRange",
    "IntRange",
    "LabelEncoded",
    "LayeredStack",
    "ModelSpec",
    "OutOfFold",
    "RowCap",
    "Space",
    "bagged",
    "build_pipeline",
    "candidates_for",
    "fit_pipeline",
    "fold_ensemble",
    "free_cores",
    "get_spec",
    "labels_from_proba",
    "missing_families",
    "predict_output",
    "prep_space",
    "sample",
    "stack_columns",
    "stack_features",
    "stopped_rounds",
    "suits_log_link",
    "takes_groups",
    "target_space",
    "threads_for",
    "tunable_space",
    "with_epochs",
    "with_rounds",
    "with_stack_features",
    "with_threshold",
]
