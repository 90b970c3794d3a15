"""``Flatten``: (batch, d1, d2, ...) → (batch, d1·d2·...)."""

from __future__ import annotations

import math

import numpy as np

from nnrun.engine.layers.layer import Layer, Shape


class Flatten(Layer):
    """Reshape each sample to one dimension (so 28×28 images feed a Dense stack)."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], math.prod(input_shape[1:]))  # type: ignore[arg-type]

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        return dy.reshape(self._shape) if need_dx else None
