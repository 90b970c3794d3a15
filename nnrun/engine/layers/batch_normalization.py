"""``BatchNormalization``: batch statistics in training, moving statistics in inference."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine import initializers
from nnrun.engine.layers.layer import Layer, Shape
from nnrun.errors import InvalidArgumentError


class BatchNormalization(Layer):
    """Normalise each feature along ``axis`` (default: the last) over every other axis (Keras semantics:
    biased batch variance, momentum 0.99).

    Training (and ``trainable``): y = γ·(x − μ_B)/sqrt(σ²_B + ε) + β, and the moving statistics move
    towards the batch statistics. Otherwise: y = γ·(x − moving_mean)/sqrt(moving_var + ε) + β.
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: str | initializers.Initializer = "zeros",
        gamma_initializer: str | initializers.Initializer = "ones",
        moving_mean_initializer: str | initializers.Initializer = "zeros",
        moving_variance_initializer: str | initializers.Initializer = "ones",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise InvalidArgumentError(
                f"BatchNormalization axis must be an int (the features axis). Received: axis={axis!r}"
            )
        axis = int(axis)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise InvalidArgumentError(
                f"BatchNormalization momentum must be in [0, 1]. Received: momentum={momentum!r}"
            )
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise InvalidArgumentError(f"BatchNormalization epsilon must be > 0. Received: epsilon={epsilon!r}")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, "gamma_initializer")
        self.moving_mean_initializer = initializers.get(moving_mean_initializer, "moving_mean_initializer")
        self.moving_variance_initializer = initializers.get(moving_variance_initializer, "moving_variance_initializer")

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise InvalidArgumentError(
                f"BatchNormalization layer '{self.name}': axis={self.axis} is not a feature axis of inputs of "
                f"shape {tuple(input_shape)} (axis 0 is the batch)."
            )
        c = (input_shape[self.axis % rank],)
        self.gamma = self.add_weight("gamma", c, self.gamma_initializer) if self.scale else None
        self.beta = self.add_weight("beta", c, self.beta_initializer) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", c, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", c, self.moving_variance_initializer, trainable=False)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        axis = self.axis % x.ndim
        if axis != x.ndim - 1:  # features on another axis: move them last and back
            return np.moveaxis(self._forward_last(np.moveaxis(x, axis, -1), training), -1, axis)
        return self._forward_last(x, training)

    def _forward_last(self, x: np.ndarray, training: bool) -> np.ndarray:
        # x: (batch, ..., C); statistics over every axis but the last.
        x2 = x.reshape(-1, x.shape[-1])
        self._training = training and self.trainable
        if self._training:
            mean = x2.mean(axis=0)
            centered = x2 - mean
            var = np.mean(np.square(centered), axis=0)
            m = self.momentum
            mm, mv = self.moving_mean.value, self.moving_variance.value
            mm[...] = mm * m + mean * (1.0 - m)
            mv[...] = mv * m + var * (1.0 - m)
        else:
            mean, var = self.moving_mean.value, self.moving_variance.value
        # y = x·inv + (β − μ·inv), inv = γ/sqrt(σ² + ε)   (Keras's order of operations)
        rstd = 1.0 / np.sqrt(var + self.epsilon)
        inv = rstd * self.gamma.value if self.gamma is not None else rstd
        shift = -mean * inv
        if self.beta is not None:
            shift = shift + self.beta.value
        y = self._buffer(x2.shape[0], x2.shape)
        np.multiply(x2, inv, out=y)
        y += shift
        if self._training:
            self._xhat = centered
            self._xhat *= rstd
            self._rstd = rstd
        else:
            self._inv, self._x2 = inv, x2
        return y.reshape(x.shape)

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        axis = self.axis % dy.ndim
        if axis != dy.ndim - 1:
            dx = self._backward_last(np.moveaxis(dy, axis, -1), need_dx)
            return None if dx is None else np.moveaxis(dx, -1, axis)
        return self._backward_last(dy, need_dx)

    def _backward_last(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        dy2 = dy.reshape(-1, dy.shape[-1])
        if not self._training:
            # inference mode: y = γ·x̂ + β with x̂ from the moving statistics, a constant here
            if self.trainable:
                if self.beta is not None:
                    self.beta.grad[...] = dy2.sum(axis=0)
                if self.gamma is not None:
                    rstd = 1.0 / np.sqrt(self.moving_variance.value + self.epsilon)
                    xhat = (self._x2 - self.moving_mean.value) * rstd
                    self.gamma.grad[...] = np.einsum("ij,ij->j", dy2, xhat)
            return (dy2 * self._inv).reshape(dy.shape) if need_dx else None
        xhat = self._xhat
        sum_dy = dy2.sum(axis=0)
        sum_dy_xhat = np.einsum("ij,ij->j", dy2, xhat)
        if self.beta is not None:
            self.beta.grad[...] = sum_dy
        if self.gamma is not None:
            self.gamma.grad[...] = sum_dy_xhat
        if not need_dx:
            return None
        # dx = γ·rstd/N · (N·dy − Σdy − x̂·Σ(dy·x̂))
        n = dy2.shape[0]
        g = self.gamma.value * self._rstd if self.gamma is not None else self._rstd
        dx = dy2 * n
        dx -= sum_dy
        dx -= xhat * sum_dy_xhat
        dx *= g / n
        return dx.reshape(dy.shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
        }
