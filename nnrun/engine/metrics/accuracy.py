"""Accuracy metrics: binary, categorical, sparse categorical and top-k categorical, as Keras computes them."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.losses.base import squeeze_or_expand_to_same_rank
from nnrun.engine.metrics.base import METRICS, MeanMetricWrapper
from nnrun.errors import InvalidArgumentError


@METRICS.register("BinaryAccuracy", "binary_accuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """y == (p > threshold), elementwise, averaged per sample (ranks reconciled as Keras does)."""

    default_name = "binary_accuracy"

    def __init__(self, name: str | None = None, dtype: Any = None, threshold: float = 0.5) -> None:
        super().__init__(name, dtype)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)):
            raise InvalidArgumentError(f"BinaryAccuracy threshold must be a number. Received: threshold={threshold!r}")
        self.threshold = threshold

    def values(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return np.equal(y_true, y_pred > self.threshold).astype(self.dtype)

    def batch_total(self, y_true, y_pred):
        if y_pred.ndim == 2 and y_pred.shape[1] == 1 and y_true.shape == y_pred.shape:  # one output: count hits
            return np.count_nonzero(np.equal(y_true, np.greater(y_pred, self.threshold)))
        return super().batch_total(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


@METRICS.register("CategoricalAccuracy", "categorical_accuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """argmax(y) == argmax(p) (one-hot targets)"""

    default_name = "categorical_accuracy"

    def values(self, y_true, y_pred):
        return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(self.dtype)

    def batch_total(self, y_true, y_pred):
        if y_pred.ndim != 2:
            return super().batch_total(y_true, y_pred)
        return np.count_nonzero(y_true.argmax(axis=-1) == y_pred.argmax(axis=-1))


def _class_ids(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Sparse targets with the trailing size-1 axis of (n, 1) / (n, t, 1) labels dropped."""
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        return y_true.reshape(y_true.shape[:-1])
    return y_true


@METRICS.register("SparseCategoricalAccuracy", "sparse_categorical_accuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """y == argmax(p) (y: class indices)"""

    default_name = "sparse_categorical_accuracy"
    sparse = True

    def values(self, y_true, y_pred):
        return (_class_ids(y_true, y_pred) == y_pred.argmax(axis=-1)).astype(self.dtype)

    def batch_total(self, y_true, y_pred):
        if y_pred.ndim != 2:
            return super().batch_total(y_true, y_pred)
        return np.count_nonzero(_class_ids(y_true, y_pred) == y_pred.argmax(axis=-1))


def in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    """Whether each target class is among the k largest predictions: 1 + #(scores above it) ≤ k (ties count
    in its favour, as Keras's JAX backend); a NaN score is never in the top k."""
    at = np.take_along_axis(predictions, targets[..., None].astype(np.intp), axis=-1)
    at = np.where(np.isnan(at), -np.inf, at)
    return 1 + np.count_nonzero(predictions > at, axis=-1) <= k


def _check_k(cls: str, k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidArgumentError(f"{cls} k must be a positive integer. Received: k={k!r}")
    return int(k)


@METRICS.register("TopKCategoricalAccuracy", "top_k_categorical_accuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """argmax(y) is among the k largest scores of p (one-hot targets)"""

    default_name = "top_k_categorical_accuracy"

    def __init__(self, k: int = 5, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name, dtype)
        self.k = _check_k("TopKCategoricalAccuracy", k)

    def values(self, y_true, y_pred):
        return in_top_k(y_true.argmax(axis=-1), y_pred, self.k).astype(self.dtype)

    def get_config(self):
        return {**super().get_config(), "k": self.k}


@METRICS.register("SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """y is among the k largest scores of p (y: class indices)"""

    default_name = "sparse_top_k_categorical_accuracy"
    sparse = True

    def __init__(self, k: int = 5, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name, dtype)
        self.k = _check_k("SparseTopKCategoricalAccuracy", k)

    def values(self, y_true, y_pred):
        return in_top_k(_class_ids(y_true, y_pred), y_pred, self.k).astype(self.dtype)

    def get_config(self):
        return {**super().get_config(), "k": self.k}
