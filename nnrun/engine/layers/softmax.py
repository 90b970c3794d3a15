"""``Softmax``: the softmax activation as a layer, along any axis."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.layers.layer import Layer
from nnrun.errors import InvalidArgumentError


class Softmax(Layer):
    """y = exp(x − max x) / Σ exp(x − max x) along ``axis`` (default: the last)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise InvalidArgumentError(f"Softmax axis must be an int. Received: axis={axis!r} (layer '{self.name}')")
        self.axis = int(axis)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        # x: (batch, ..., n) → y of the same shape, rows along ``axis`` summing to 1
        y = self._buffer(x.shape, x.shape)
        np.subtract(x, x.max(axis=self.axis, keepdims=True), out=y)
        np.exp(y, out=y)
        y /= y.sum(axis=self.axis, keepdims=True)
        self._y = y
        return y

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        # dx = y · (dy − Σ dy·y)
        if not need_dx:
            return None
        y = self._y
        return y * (dy - (dy * y).sum(axis=self.axis, keepdims=True))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
