"""Variables: named arrays that layers own and optimizers update."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.errors import InvalidArgumentError


class Variable:
    """A weight of a layer: its value, the gradient slot the backward pass fills, and its name.

    Once a model is compiled, ``value`` and ``grad`` are views into one flat buffer per model, so an
    optimizer updates every weight with a handful of whole-buffer operations.
    """

    __slots__ = ("grad", "name", "path", "trainable", "value")

    def __init__(self, value: np.ndarray, name: str, path: str, trainable: bool = True) -> None:
        self.value = value
        self.grad = np.zeros_like(value) if trainable else None
        self.name = name
        self.path = path
        self.trainable = trainable

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def size(self) -> int:
        return self.value.size

    def numpy(self) -> np.ndarray:
        """A copy of the value."""
        return self.value.copy()

    def assign(self, value: Any) -> None:
        """Overwrite the value in place (shape must match)."""
        value = np.asarray(value)
        if value.shape != self.value.shape:
            raise InvalidArgumentError(
                f"Variable '{self.path}' has shape {self.value.shape}; cannot assign a value of shape {value.shape}"
            )
        self.value[...] = value

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.value.astype(dtype) if dtype is not None else self.value.copy()

    def __repr__(self) -> str:
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype.name}>"
