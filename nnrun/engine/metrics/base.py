"""The metric base class and Keras's reduction metrics: ``Mean``, ``Sum`` and the mean of per-sample values.

A streaming mean keeps ``total += Σ per-sample values`` and ``count += number of samples`` (or Σ weights),
both in float32, so an epoch's accuracy is correct/N over every sample, not a mean of batch accuracies.
Every metric class names its ``direction``: ``"max"`` when higher is better, ``"min"`` otherwise (asked by
callbacks' ``mode="auto"`` and by the sweep ranking).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.backend import standardize_dtype
from nnrun.engine.losses.base import squeeze_or_expand_to_same_rank
from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

METRICS: Registry[type[Metric]] = Registry("metric")

DIRECTIONS = ("max", "min")


class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reads, ``reset_state`` clears."""

    direction = "max"
    sparse = False  # targets are class indices
    default_name = "metric"
    #: the attributes holding the state (``variables`` returns them, ``reset_state`` zeroes them)
    state: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidArgumentError(f"Metric name must be a non-empty string. Received: name={name!r}")
        self.name = name or self.default_name
        self.dtype = standardize_dtype(dtype)
        self.reset_state()

    def reset_state(self) -> None:
        for attr in self.state:
            value = getattr(self, attr, None)
            setattr(self, attr, self.dtype.type(0) if value is None or np.ndim(value) == 0 else np.zeros_like(value))

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def result(self) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Update with one batch and return the result, as a Keras metric called on data."""
        self.update_state(*args, **kwargs)
        return self.result()

    @property
    def variables(self) -> list[np.ndarray]:
        """Copies of the state, in Keras's order."""
        return [np.array(getattr(self, attr)) for attr in self.state]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def divide_no_nan(a: Any, b: Any) -> Any:
    """a / b, 0 where b == 0 (Keras's ``ops.divide_no_nan``)."""
    a, b = np.asarray(a), np.asarray(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b == 0, 0, a / np.where(b == 0, 1, b))
    return out.astype(np.result_type(a, b), copy=False)[()]


def reduce_to_samplewise_values(values: Any, sample_weight: Any, dtype: np.dtype) -> tuple[np.ndarray, Any]:
    """Keras's rule: weights broadcast over the values (reduced by mean to the weights' rank first), then
    the values and the weights are averaged over every axis but the first."""
    values = np.asarray(values, dtype=dtype)
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=dtype)
        values, w = squeeze_or_expand_to_same_rank(values, w)
        if values.ndim > w.ndim:
            values = values.mean(axis=tuple(range(w.ndim, values.ndim)), dtype=dtype)
        try:
            w = np.broadcast_to(w, values.shape)
        except ValueError:
            raise InvalidArgumentError(
                f"sample_weight of shape {np.shape(sample_weight)} does not broadcast to the metric values of shape "
                f"{values.shape}"
            ) from None
        values = values * w
        if w.ndim > 1:
            w = w.mean(axis=tuple(range(1, w.ndim)), dtype=dtype)
        sample_weight = w
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)), dtype=dtype)
    return values, sample_weight


class Mean(Metric):
    """The (weighted) mean of the values it is given: scalars or arrays (the loss tracker is one)."""

    default_name = "mean"
    direction = "min"
    state = ("total", "count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        values, w = reduce_to_samplewise_values(values, sample_weight, self.dtype)
        self.total += np.add.reduce(values, axis=None, dtype=self.dtype)
        if w is not None:
            self.count += np.add.reduce(np.asarray(w), axis=None, dtype=self.dtype)
        else:
            self.count += self.dtype.type(values.shape[0] if values.ndim >= 1 else 1)

    def result(self) -> Any:
        return divide_no_nan(self.total, self.count)


class Sum(Metric):
    """The (weighted) sum of the values it is given."""

    default_name = "sum"
    direction = "max"
    state = ("total",)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        values, _ = reduce_to_samplewise_values(values, sample_weight, self.dtype)
        self.total += np.add.reduce(values, axis=None, dtype=self.dtype)

    def result(self) -> Any:
        return self.total


class MeanMetricWrapper(Mean):
    """The mean over samples of a per-sample (or per-element) function of (y_true, y_pred)."""

    direction = "max"

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """The function's values: shape (n,) or (n, ...) (averaged over the extra axes per sample)."""
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if sample_weight is not None:
            super().update_state(self.values(y_true, y_pred), sample_weight)
        else:
            self.total += self.dtype.type(self.batch_total(y_true, y_pred))
            self.count += self.dtype.type(len(y_pred) if y_pred.ndim else 1)

    def batch_total(self, y_true: np.ndarray, y_pred: np.ndarray) -> Any:
        """Σ of the per-sample values of a batch (subclasses may compute it faster)."""
        v = np.asarray(self.values(y_true, y_pred), dtype=self.dtype)
        if v.ndim > 1:
            v = v.mean(axis=tuple(range(1, v.ndim)), dtype=self.dtype)
        return np.add.reduce(v, axis=None, dtype=self.dtype)
