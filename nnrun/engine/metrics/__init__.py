"""Metrics with Keras's names, arguments, state and results; ``compile(metrics=[...])`` resolves them here.

``"accuracy"``/``"acc"`` is resolved from the shapes of the targets and predictions (see
:func:`resolve_accuracy`); every other name is looked up in ``METRICS`` (class names, snake_case names and
Keras's aliases such as ``"mse"``, ``"auc"``), and the history key is the string given.
"""

from __future__ import annotations

from typing import Any

from nnrun.engine.metrics.base import (
    DIRECTIONS,
    METRICS,
    Mean,
    MeanMetricWrapper,
    Metric,
    Sum,
    reduce_to_samplewise_values,
)

# isort: split
# registration order (the order of METRICS.names()): accuracy, regression, probabilistic, confusion
from nnrun.engine.metrics.accuracy import (
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
)
from nnrun.engine.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)

# isort: split
from nnrun.engine.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)

# isort: split
from nnrun.engine.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from nnrun.errors import InvalidArgumentError

ACCURACY_NAMES = ("accuracy", "acc")


def resolve_accuracy(name: str, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...]) -> Metric:
    """Keras's rule for ``"accuracy"``: from the shapes only, never the loss."""
    if y_pred_shape[-1] == 1:
        return BinaryAccuracy(name=name)
    if len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1):
        return SparseCategoricalAccuracy(name=name)
    return CategoricalAccuracy(name=name)


def check_identifier(identifier: Any) -> None:
    """Fail early (at compile) on an unknown metric name."""
    if isinstance(identifier, Metric):
        return
    if not isinstance(identifier, str):
        raise InvalidArgumentError(
            f"A metric must be a name or a Metric instance. Received: metrics=[..., {identifier!r}, ...]"
        )
    if identifier.lower() not in ACCURACY_NAMES and identifier not in METRICS:
        message = METRICS.unknown_message(identifier, "metrics")
        raise InvalidArgumentError(message.replace("Expected one of: ", "Expected one of: accuracy, "))


def get(identifier: str | Metric, y_true_shape: tuple[int, ...], y_pred_shape: tuple[int, ...]) -> Metric:
    """A metric for ``compile(metrics=[...])``: the history key is the string given."""
    if isinstance(identifier, Metric):
        return identifier
    check_identifier(identifier)
    if identifier.lower() in ACCURACY_NAMES:
        return resolve_accuracy(identifier, y_true_shape, y_pred_shape)
    return METRICS.get(identifier, "metrics")(name=identifier)


def direction(name: str) -> str:
    """``"max"`` or ``"min"`` for a metric name as compile accepts it (``"accuracy"`` and the registry's names)."""
    if isinstance(name, str) and name.lower() in ACCURACY_NAMES:
        return "max"
    return METRICS.get(name, "metric").direction


def serialize(metric: Metric) -> dict[str, Any]:
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config: dict[str, Any]) -> Metric:
    if not isinstance(config, dict) or "class_name" not in config:
        raise InvalidArgumentError(
            f"A metric config must be a dict with 'class_name' and 'config'. Received: {config!r}"
        )
    return METRICS.get(config["class_name"], "metric").from_config(config.get("config") or {})


__all__ = [
    "ACCURACY_NAMES",
    "AUC",
    "DIRECTIONS",
    "METRICS",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "Poisson",
    "Precision",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SquaredHinge",
    "Sum",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "check_identifier",
    "deserialize",
    "direction",
    "get",
    "reduce_to_samplewise_values",
    "resolve_accuracy",
    "serialize",
]
