"""Regression metrics: the error means, root mean squared error, cosine similarity and R²."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from nnrun.engine import losses
from nnrun.engine.losses.base import squeeze_or_expand_to_same_rank
from nnrun.engine.metrics.base import METRICS, Mean, MeanMetricWrapper
from nnrun.errors import InvalidArgumentError


class LossMetric(MeanMetricWrapper):
    """The mean over samples of a loss's per-sample values (``loss_class`` with reduction 'none')."""

    loss_class: type[losses.Loss]
    direction = "min"
    sign = 1.0

    def __init__(self, name: str | None = None, dtype: Any = None, **loss_kwargs: Any) -> None:
        super().__init__(name, dtype)
        self._loss = self.loss_class(reduction="none", **loss_kwargs)
        self._loss_kwargs = loss_kwargs

    def values(self, y_true, y_pred):
        y_pred = np.asarray(y_pred, dtype=self.dtype)
        y_true = self._loss.prepare_targets(np.asarray(y_true), y_pred.shape, self.dtype)
        v = self._loss.call(y_true, y_pred)
        return -v if self.sign < 0 else v

    def get_config(self):
        return {**super().get_config(), **self._loss_kwargs}


def _loss_metric(cls_name: str, loss_class: type[losses.Loss], default_name: str, doc: str, **attrs: Any) -> type:
    return type(cls_name, (LossMetric,), {"loss_class": loss_class, "default_name": default_name, "__doc__": doc,
                                          "__module__": __name__, **attrs})


@METRICS.register("MeanSquaredError", "mean_squared_error", "mse")
class MeanSquaredError(MeanMetricWrapper):
    """mean((y − p)², axis=-1)"""

    default_name = "mean_squared_error"
    direction = "min"

    def values(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return np.square(y_true - y_pred).mean(axis=-1)


@METRICS.register("MeanAbsoluteError", "mean_absolute_error", "mae")
class MeanAbsoluteError(MeanMetricWrapper):
    """mean(|y − p|, axis=-1)"""

    default_name = "mean_absolute_error"
    direction = "min"

    def values(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return np.abs(y_true - y_pred).mean(axis=-1)


MeanAbsolutePercentageError = METRICS.register(
    "MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mape"
)(_loss_metric("MeanAbsolutePercentageError", losses.MeanAbsolutePercentageError,
               "mean_absolute_percentage_error", "100 · mean(|y − p| / max(|y|, ε), axis=-1)"))
MeanSquaredLogarithmicError = METRICS.register(
    "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "msle"
)(_loss_metric("MeanSquaredLogarithmicError", losses.MeanSquaredLogarithmicError,
               "mean_squared_logarithmic_error", "mean((log(max(p, ε) + 1) − log(max(y, ε) + 1))², axis=-1)"))
LogCoshError = METRICS.register("LogCoshError", "log_cosh_error", "logcosh")(
    _loss_metric("LogCoshError", losses.LogCosh, "logcosh", "mean(log cosh(p − y), axis=-1)")
)


@METRICS.register("CosineSimilarity", "cosine_similarity")
class CosineSimilarity(LossMetric):
    """Σ ŷ·p̂ along ``axis`` (the loss without its minus sign; higher is better)."""

    loss_class = losses.CosineSimilarity
    default_name = "cosine_similarity"
    direction = "max"
    sign = -1.0

    def __init__(self, name: str | None = None, dtype: Any = None, axis: int = -1) -> None:
        super().__init__(name, dtype, axis=axis)


@METRICS.register("RootMeanSquaredError", "root_mean_squared_error", "rmse")
class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of the squared errors over every element"""

    default_name = "root_mean_squared_error"
    direction = "min"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        y_true = np.asarray(y_true, dtype=self.dtype)
        y_pred = np.asarray(y_pred, dtype=self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(np.square(y_pred - y_true), sample_weight)

    def result(self) -> Any:
        return np.sqrt(super().result())


R2_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


@METRICS.register("R2Score", "r2_score")
class R2Score(Mean):
    """1 − Σ(y − p)² / Σ(y − ȳ)² per output column, then averaged (``class_aggregation``); ``num_regressors``
    > 0 gives the adjusted R²."""

    default_name = "r2_score"
    direction = "max"
    state = ("squared_sum", "sum", "total_mse", "count", "num_samples")

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        if class_aggregation not in R2_AGGREGATIONS:
            raise InvalidArgumentError(
                f"Invalid value for argument class_aggregation: expected one of {R2_AGGREGATIONS}. "
                f"Received: class_aggregation={class_aggregation!r}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, (int, np.integer)) or num_regressors < 0:
            raise InvalidArgumentError(
                f"num_regressors must be an integer >= 0. Received: num_regressors={num_regressors!r}"
            )
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self._columns: int | None = None
        super().__init__(name, dtype)

    def reset_state(self) -> None:
        zeros = np.zeros(self._columns or 0, self.dtype)
        self.squared_sum, self.sum, self.total_mse, self.count = zeros, zeros.copy(), zeros.copy(), zeros.copy()
        self.num_samples = self.dtype.type(0)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        y_true = np.asarray(y_true, dtype=self.dtype)
        y_pred = np.asarray(y_pred, dtype=self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise InvalidArgumentError(
                f"R2Score expects 2D inputs with shape (batch_size, output_dim). Received: "
                f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
            )
        if self._columns is None:
            self._columns = y_pred.shape[-1]
            self.reset_state()
        w = np.asarray(1.0 if sample_weight is None else sample_weight, dtype=self.dtype)
        if w.ndim == 1:
            w = w[:, None]
        w = np.broadcast_to(w, y_true.shape)
        weighted = y_true * w
        self.sum = self.sum + weighted.sum(axis=0, dtype=self.dtype)
        self.squared_sum = self.squared_sum + (y_true * weighted).sum(axis=0, dtype=self.dtype)
        self.total_mse = self.total_mse + ((y_true - y_pred) ** 2 * w).sum(axis=0, dtype=self.dtype)
        self.count = self.count + w.sum(axis=0, dtype=self.dtype)
        self.num_samples += self.dtype.type(y_true.size)

    def result(self) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum / self.count
            total = self.squared_sum - self.sum * mean
            raw = 1 - self.total_mse / total
        raw = np.where(np.isinf(raw), 0.0, raw).astype(self.dtype)
        if self.class_aggregation == "uniform_average":
            score = raw.mean(dtype=self.dtype) if raw.size else self.dtype.type(np.nan)
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum(dtype=self.dtype) / total.sum(dtype=self.dtype)
        else:
            score = raw
        if self.num_regressors:
            n, k = float(self.num_samples), self.num_regressors
            if k > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                              "Falling back to standard R2 score.", stacklevel=2)
            elif k == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:
                score = (1 - (1 - score) * (n - 1) / (n - k - 1)).astype(self.dtype)
        return score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
