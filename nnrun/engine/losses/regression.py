"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh and cosine errors."""

from __future__ import annotations

import math

import numpy as np

from nnrun.engine.backend import epsilon
from nnrun.engine.losses.base import LOSSES, Loss, mean_last
from nnrun.errors import InvalidArgumentError

# -- regression losses -------------------------------------------------------------------------


@LOSSES.register("MeanSquaredError", "mean_squared_error", "mse")
class MeanSquaredError(Loss):
    """mean((y − p)², axis=-1)"""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_squared_error"):
        super().__init__(reduction, name)

    def call(self, y, p):
        d = y - p
        return mean_last(np.square(d, out=d))

    def grad(self, y, p, scale):
        g = p - y
        g *= scale * (2.0 / p.shape[-1])
        return g


@LOSSES.register("MeanAbsoluteError", "mean_absolute_error", "mae")
class MeanAbsoluteError(Loss):
    """mean(|y − p|, axis=-1)"""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_absolute_error"):
        super().__init__(reduction, name)

    def call(self, y, p):
        d = y - p
        return mean_last(np.abs(d, out=d))

    def grad(self, y, p, scale):
        return np.sign(p - y) * (scale / p.shape[-1])


@LOSSES.register("Huber", "huber")
class Huber(Loss):
    """e = p − y: 0.5·e² where |e| ≤ δ, else δ·|e| − 0.5·δ²; mean over the last axis."""

    def __init__(
        self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str | None = "huber_loss"
    ) -> None:
        super().__init__(reduction, name)
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or delta <= 0:
            raise InvalidArgumentError(f"Huber delta must be a positive number. Received: delta={delta!r}")
        self.delta = float(delta)

    def call(self, y, p):
        e = p - y
        a = np.abs(e)
        d = self.delta
        return mean_last(np.where(a <= d, 0.5 * np.square(e), d * a - 0.5 * d * d))

    def grad(self, y, p, scale):
        e = p - y
        g = np.where(np.abs(e) <= self.delta, e, self.delta * np.sign(e))
        return g * (scale / p.shape[-1])

    def get_config(self):
        return {"delta": self.delta, **super().get_config()}


@LOSSES.register("MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mape")
class MeanAbsolutePercentageError(Loss):
    """100 · mean(|y − p| / max(|y|, ε), axis=-1)"""

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_absolute_percentage_error"
    ) -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        d = np.abs((y - p) / np.maximum(np.abs(y), y.dtype.type(epsilon())))
        return mean_last(d) * p.dtype.type(100.0)

    def grad(self, y, p, scale):
        g = np.sign(p - y) / np.maximum(np.abs(y), epsilon())
        return g * (scale * 100.0 / p.shape[-1])


@LOSSES.register("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "msle")
class MeanSquaredLogarithmicError(Loss):
    """mean((log(max(p, ε) + 1) − log(max(y, ε) + 1))², axis=-1)"""

    def __init__(
        self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_squared_logarithmic_error"
    ) -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        eps = p.dtype.type(epsilon())
        d = np.log(np.maximum(p, eps) + 1) - np.log(np.maximum(y, eps) + 1)
        return mean_last(np.square(d, out=d))

    def grad(self, y, p, scale):
        eps = epsilon()
        q = np.maximum(p, eps) + 1
        g = 2 * (np.log(q) - np.log(np.maximum(y, eps) + 1)) / q
        g *= p > eps  # max(p, ε) is flat below ε
        return g * (scale / p.shape[-1])


@LOSSES.register("LogCosh", "log_cosh", "logcosh")
class LogCosh(Loss):
    """mean(log cosh(p − y), axis=-1), computed as x + softplus(−2x) − log 2"""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "log_cosh") -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        x = p - y
        return mean_last(x + np.logaddexp(0, -2 * x) - p.dtype.type(math.log(2.0)))

    def grad(self, y, p, scale):
        return np.tanh(p - y) * (scale / p.shape[-1])


@LOSSES.register("CosineSimilarity", "cosine_similarity")
class CosineSimilarity(Loss):
    """−Σ ŷ·p̂ along ``axis``, x̂ = x · min(1/‖x‖, 1/ε) (so zero vectors give 0)."""

    def __init__(
        self, axis: int = -1, reduction: str | None = "sum_over_batch_size", name: str | None = "cosine_similarity"
    ) -> None:
        super().__init__(reduction, name)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise InvalidArgumentError(f"CosineSimilarity axis must be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def _inv_norm(self, x):
        with np.errstate(divide="ignore"):
            inv = 1.0 / np.sqrt(np.add.reduce(np.square(x), axis=self.axis, keepdims=True))
        return np.minimum(inv, x.dtype.type(1.0 / epsilon()))

    def call(self, y, p):
        return -np.add.reduce((y * self._inv_norm(y)) * (p * self._inv_norm(p)), axis=self.axis)

    def grad(self, y, p, scale):
        # p̂ = p/‖p‖ where ‖p‖ > ε: d(−ŷ·p̂)/dp = −(ŷ − (ŷ·p̂)·p̂)/‖p‖; below ε, p̂ = p/ε: −ŷ/ε
        yh = y * self._inv_norm(y)
        inv = self._inv_norm(p)
        ph = p * inv
        scaled = inv < 1.0 / epsilon()
        g = -(yh - np.where(scaled, np.add.reduce(yh * ph, axis=self.axis, keepdims=True) * ph, 0.0)) * inv
        return g * scale

    def get_config(self):
        return {"axis": self.axis, **super().get_config()}
