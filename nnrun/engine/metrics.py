"""Metrics: streaming means over samples, as Keras's ``MeanMetricWrapper`` computes them.

``total += Σ per-sample values`` and ``count += number of samples``, both in float32, so an epoch's
accuracy is correct/N over every sample, not a mean of batch accuracies. ``"accuracy"``/``"acc"`` is
resolved from the shapes of the targets and predictions (see :func:`resolve_accuracy`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

METRICS: Registry[type[Metric]] = Registry("metric")


class Metric:
    """A streaming mean. ``direction`` is "up" or "down" (used by callbacks' ``mode="auto"``)."""

    direction = "up"
    sparse = False  # targets are class indices

    def __init__(self, name: str | None = None, dtype: Any = "float32") -> None:
        self.name = name or self.default_name
        self.dtype = np.dtype(dtype)
        self.reset_state()

    default_name = "metric"

    def reset_state(self) -> None:
        self.total = self.dtype.type(0)
        self.count = self.dtype.type(0)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """Per-sample values, shape (n,)."""
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if sample_weight is not None:
            v = self.values(y_true, y_pred)
            w = np.asarray(sample_weight, self.dtype).reshape(v.shape)
            self.total += np.add.reduce(v * w, dtype=self.dtype)
            self.count += np.add.reduce(w, dtype=self.dtype)
        else:
            self.total += self.dtype.type(self.batch_total(y_true, y_pred))
            self.count += self.dtype.type(len(y_pred))

    def batch_total(self, y_true: np.ndarray, y_pred: np.ndarray) -> Any:
        """Σ of the per-sample values of a batch (subclasses may compute it faster)."""
        return np.add.reduce(self.values(y_true, y_pred), dtype=self.dtype)

    def result(self) -> Any:
        return self.total / self.count if self.count else self.dtype.type(0)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The (weighted) mean of the values it is given; the loss tracker is one."""

    default_name = "mean"
    direction = "down"

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        values = self.dtype.type(values)
        if sample_weight is None:
            self.total += values
            self.count += self.dtype.type(1)
        else:
            w = self.dtype.type(sample_weight)
            self.total += values * w
            self.count += w


@METRICS.register("BinaryAccuracy", "binary_accuracy")
class BinaryAccuracy(Metric):
    """mean over the last axis of (y == (p > threshold))"""

    default_name = "binary_accuracy"

    def __init__(self, name: str | None = None, dtype: Any = "float32", threshold: float = 0.5) -> None:
        super().__init__(name, dtype)
        self.threshold = threshold

    def values(self, y_true, y_pred):
        hit = y_true == (y_pred > self.threshold)
        return hit.mean(axis=-1, dtype=self.dtype) if hit.ndim > 1 else hit.astype(self.dtype)

    def batch_total(self, y_true, y_pred):
        if y_pred.ndim == 2 and y_pred.shape[1] == 1:  # one output: count the hits
            return np.count_nonzero(np.equal(y_true, np.greater(y_pred, self.threshold)))
        return super().batch_total(y_true, y_pred)


@METRICS.register("CategoricalAccuracy", "categorical_accuracy")
class CategoricalAccuracy(Metric):
    """argmax(y) == argmax(p)"""

    default_name = "categorical_accuracy"

    def values(self, y_true, y_pred):
        return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(self.dtype)

    def batch_total(self, y_true, y_pred):
        return np.count_nonzero(y_true.argmax(axis=-1) == y_pred.argmax(axis=-1))


@METRICS.register("SparseCategoricalAccuracy", "sparse_categorical_accuracy")
class SparseCategoricalAccuracy(Metric):
    """y == argmax(p) (y: class indices)"""

    default_name = "sparse_categorical_accuracy"
    sparse = True

    def values(self, y_true, y_pred):
        y = y_true.reshape(y_pred.shape[0]) if y_true.ndim > 1 else y_true
        return (y == y_pred.argmax(axis=-1)).astype(self.dtype)

    def batch_total(self, y_true, y_pred):
        y = y_true.reshape(y_pred.shape[0]) if y_true.ndim > 1 else y_true
        return np.count_nonzero(y == y_pred.argmax(axis=-1))


@METRICS.register("MeanSquaredError", "mean_squared_error", "mse")
class MeanSquaredError(Metric):
    """mean((y − p)², axis=-1)"""

    default_name = "mean_squared_error"
    direction = "down"

    def values(self, y_true, y_pred):
        return np.square(y_true - y_pred).mean(axis=-1)


@METRICS.register("MeanAbsoluteError", "mean_absolute_error", "mae")
class MeanAbsoluteError(Metric):
    """mean(|y − p|, axis=-1)"""

    default_name = "mean_absolute_error"
    direction = "down"

    def values(self, y_true, y_pred):
        return np.abs(y_true - y_pred).mean(axis=-1)


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
