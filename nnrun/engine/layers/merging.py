"""Layers that merge several inputs: ``Concatenate``, ``Add``, ``Subtract`` and ``Multiply``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.layers.layer import Layer, Shape
from nnrun.errors import InvalidArgumentError


class _Merge(Layer):
    multi_input = True

    def _check_inputs(self, shapes: tuple[Shape, ...]) -> None:
        if not isinstance(shapes, (list, tuple)) or len(shapes) < 2 or not isinstance(shapes[0], (list, tuple)):
            raise InvalidArgumentError(f"{type(self).__name__} layer '{self.name}' needs a list of at least 2 inputs.")


class Concatenate(_Merge):
    """Join the inputs along ``axis`` (default: the last)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape: tuple[Shape, ...]) -> None:
        self._check_inputs(input_shape)
        ranks = {len(s) for s in input_shape}
        axis = self.axis % next(iter(ranks)) if len(ranks) == 1 else None
        others = {tuple(d for i, d in enumerate(s) if i != axis) for s in input_shape}
        if axis is None or axis == 0 or len(others) != 1:
            raise InvalidArgumentError(
                f"Concatenate layer '{self.name}' needs inputs whose shapes match except along axis "
                f"{self.axis}. Received shapes: {[tuple(s) for s in input_shape]}"
            )

    def compute_output_shape(self, input_shape: tuple[Shape, ...]) -> Shape:
        axis = self.axis % len(input_shape[0])
        out = list(input_shape[0])
        out[axis] = sum(s[axis] for s in input_shape)  # type: ignore[misc]
        return tuple(out)

    def forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        axis = self.axis % xs[0].ndim
        self._sizes = [x.shape[axis] for x in xs]
        shape = list(xs[0].shape)
        shape[axis] = sum(self._sizes)
        out = self._buffer(tuple(shape), tuple(shape))
        return np.concatenate(xs, axis=axis, out=out)

    def backward(self, dy: np.ndarray, need_dx: bool) -> list[np.ndarray] | None:
        if not need_dx:
            return None
        axis = self.axis % dy.ndim
        return np.split(dy, np.cumsum(self._sizes)[:-1], axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Add(_Merge):
    """Elementwise sum of inputs of the same shape."""

    def build(self, input_shape: tuple[Shape, ...]) -> None:
        self._check_inputs(input_shape)
        if len({tuple(s) for s in input_shape}) != 1:
            raise InvalidArgumentError(
                f"Add layer '{self.name}' needs inputs of the same shape. "
                f"Received shapes: {[tuple(s) for s in input_shape]}"
            )

    def compute_output_shape(self, input_shape: tuple[Shape, ...]) -> Shape:
        return input_shape[0]

    def forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        out = self._buffer(xs[0].shape, xs[0].shape)
        np.add(xs[0], xs[1], out=out)
        for x in xs[2:]:
            out += x
        self._n = len(xs)
        return out

    def backward(self, dy: np.ndarray, need_dx: bool) -> list[np.ndarray] | None:
        if not need_dx:
            return None
        # Each input gets its own array: consumers may modify their gradient in place.
        return [dy] + [dy.copy() for _ in range(self._n - 1)]


class Subtract(_Merge):
    """``inputs[0] − inputs[1]`` (exactly two inputs of the same shape)."""

    def build(self, input_shape: tuple[Shape, ...]) -> None:
        self._check_inputs(input_shape)
        if len(input_shape) != 2 or tuple(input_shape[0]) != tuple(input_shape[1]):
            raise InvalidArgumentError(
                f"Subtract layer '{self.name}' needs exactly 2 inputs of the same shape. "
                f"Received shapes: {[tuple(s) for s in input_shape]}"
            )

    def compute_output_shape(self, input_shape: tuple[Shape, ...]) -> Shape:
        return input_shape[0]

    def forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        return np.subtract(xs[0], xs[1], out=self._buffer(xs[0].shape, xs[0].shape))

    def backward(self, dy: np.ndarray, need_dx: bool) -> list[np.ndarray] | None:
        return [dy, -dy] if need_dx else None


class Multiply(_Merge):
    """Elementwise product of inputs of the same shape."""

    def build(self, input_shape: tuple[Shape, ...]) -> None:
        self._check_inputs(input_shape)
        if len({tuple(s) for s in input_shape}) != 1:
            raise InvalidArgumentError(
                f"Multiply layer '{self.name}' needs inputs of the same shape. "
                f"Received shapes: {[tuple(s) for s in input_shape]}"
            )

    def compute_output_shape(self, input_shape: tuple[Shape, ...]) -> Shape:
        return input_shape[0]

    def forward(self, xs: list[np.ndarray], training: bool) -> np.ndarray:
        # y = x_1 · x_2 · ... ; the inputs are kept (as copies: producers reuse their buffers) for backward
        self._xs = [x.copy() for x in xs]
        out = self._buffer(xs[0].shape, xs[0].shape)
        np.multiply(xs[0], xs[1], out=out)
        for x in xs[2:]:
            out *= x
        return out

    def backward(self, dy: np.ndarray, need_dx: bool) -> list[np.ndarray] | None:
        # dL/dx_i = dy · Π_{j≠i} x_j
        if not need_dx:
            return None
        grads = []
        for i in range(len(self._xs)):
            g = dy.copy()
            for j, x in enumerate(self._xs):
                if j != i:
                    g *= x
            grads.append(g)
        return grads
