"""``Activation``: applies an activation function as a layer of its own."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine import activations
from nnrun.engine.layers.layer import Layer


class Activation(Layer):
    """y = activation(x)"""

    def __init__(self, activation: str | activations.ActivationFunction, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.fused_activation_grad = False

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        y = self.activation.forward(x, self._buffer(x.shape[0], x.shape))
        self._x, self._y = x, y
        return y

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if not need_dx:
            return None
        if self.fused_activation_grad:
            return dy
        return self.activation.backward(dy, self._x, self._y)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
