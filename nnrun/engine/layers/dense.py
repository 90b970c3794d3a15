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

    def build(self, input_shape: Shape) -> None:
        in_features = input_shape[-1]
        self.kernel = self.add_weight("kernel", (in_features, self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        # x: (batch, in) → z: (batch, units)
        x2 = x.reshape(-1, x.shape[-1])
        n = x2.shape[0]
        act = self.activation
        z = self._buffer(("z", n), (n, self.units))
        np.matmul(x2, self.kernel.value, out=z)
        if self.bias is not None:
            z += self.bias.value
        if act.uses_input:
            y = act.forward(z, self._buffer(("y", n), (n, self.units)))
        else:
            y = act.forward(z, z)
        self._x, self._z, self._y = x2, z, y
        return y.reshape(*x.shape[:-1], self.units)

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        dz = dy.reshape(self._y.shape)
        if not self.fused_activation_grad:
            dz = self.activation.backward(dz, self._z, self._y)
        if self.trainable:
            np.matmul(self._x.T, dz, out=self.kernel.grad)
            if self.bias is not None:
                np.sum(dz, axis=0, out=self.bias.grad)
        if not need_dx:
            return None
        n = dz.shape[0]
        dx = np.matmul(dz, self.kernel.value.T, out=self._buffer(("dx", n), (n, self._x.shape[1])))
        return dx.reshape(*dy.shape[:-1], self._x.shape[1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
        }
