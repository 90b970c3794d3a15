"""``Dense``: y = activation(x @ kernel + bias)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine import activations, initializers
from nnrun.engine.layers.layer import Layer, Shape
from nnrun.errors import InvalidArgumentError


class Dense(Layer):
    """A fully connected layer; ``kernel`` is (in_features, units) and ``bias`` is (units,)."""

    def __init__(
        self,
        units: int,
        activation: str | activations.ActivationFunction | None = None,
        use_bias: bool = True,
        kernel_initializer: str | initializers.Initializer | dict = "glorot_uniform",
        bias_initializer: str | initializers.Initializer | dict = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise InvalidArgumentError(
                f"Dense units must be a positive integer. Received: units={units!r} (layer '{self.name}')"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "bias_initializer")
        # Set by the model when the loss computes dL/dz for this (output) layer directly.
        self.fused_activation_grad = False
        self._forward_buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def build(self, input_shape: Shape) -> None:
        in_features = input_shape[-1]
        self.kernel = self.add_weight("kernel", (in_features, self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if x.ndim != 2:  # (batch, ..., in): apply to the last axis
            y = self.forward(x.reshape(-1, x.shape[-1]), training)
            return y.reshape(*x.shape[:-1], self.units)
        # x: (n, in) → z = x @ kernel + bias: (n, units) → y = activation(z)
        bufs = self._forward_buffers.get(x.shape[0])
        if bufs is None:
            bufs = self._make_buffers(x.shape[0])
        z, y, _, _ = bufs
        np.dot(x, self.kernel.value, out=z)
        if self.bias is not None:
            np.add(z, self.bias.value, out=z)
        self._x, self._bufs = x, bufs
        return self.activation.forward(z, y)

    def _make_buffers(self, n: int) -> tuple[np.ndarray, ...]:
        """z, y, dx and a row of ones (for the bias gradient) for batches of n rows."""
        if len(self._forward_buffers) > 8:
            self._forward_buffers.clear()
        z = np.empty((n, self.units), self.dtype)
        # an activation whose derivative needs only its output is computed in place
        y = np.empty_like(z) if self.activation.uses_input else z
        dx = np.empty((n, self.kernel.shape[0]), self.dtype)
        bufs = self._forward_buffers[n] = (z, y, dx, np.ones(n, self.dtype))
        return bufs

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if dy.ndim != 2:
            dx = self.backward(dy.reshape(-1, self.units), need_dx)
            return None if dx is None else dx.reshape(*dy.shape[:-1], dx.shape[-1])
        z, y, dx, ones = self._bufs
        dz = dy if self.fused_activation_grad else self.activation.backward(dy, z, y)
        if self.trainable:
            np.dot(self._x.T, dz, out=self.kernel.grad)
            if self.bias is not None:
                np.dot(ones, dz, out=self.bias.grad)
        return np.dot(dz, self.kernel.value.T, out=dx) if need_dx else None

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
