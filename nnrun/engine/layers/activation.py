"""``Activation``: applies an activation function as a layer of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnrun.engine import activations
from nnrun.engine.layers.layer import Layer


class Activation(Layer):
    """y = activation(x)"""

    def __init__(self, activation: str | activations.ActivationFunction | Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activation
        self.fused_activation_grad = False

    @property
    def activation(self) -> activations.ActivationFunction:
        return self._activation

    @activation.setter
    def activation(self, value: Any) -> None:
        """A name, an activation function (``activations.relu`` or any callable, forward only) or None (linear)."""
        self._activation = activations.get(value)

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
