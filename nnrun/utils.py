"""Keras-style import path: ``nnrun.utils.set_random_seed(seed)``, ``to_categorical``, ``normalize``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.random import set_random_seed
from nnrun.errors import InvalidArgumentError


def to_categorical(y: Any, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """One-hot encode integer class labels (as ``keras.utils.to_categorical``)."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and (not np.array_equal(y, np.round(y)) or y.min() < 0):
        raise InvalidArgumentError("to_categorical expects non-negative integer labels.")
    y = y.astype(np.intp)
    n = int(y.max()) + 1 if num_classes is None else num_classes
    if y.size and y.max() >= n:
        raise InvalidArgumentError(f"to_categorical: label {int(y.max())} is outside num_classes={n}.")
    out = np.zeros((*y.shape, n), dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """``x`` divided by its ``order``-norm along ``axis`` (as ``keras.utils.normalize``; zero vectors stay zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)


__all__ = ["normalize", "set_random_seed", "to_categorical"]
