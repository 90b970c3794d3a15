"""What the labels of a data file ask for: classification (class indices) or regression (float targets).

The rule: integer-valued labels of shape (n,) or (n, 1), or one-hot rows of shape (n, k), make a
classification task; anything else is regression. Classification labels become int64 class indices of
shape (n,), with ``n_classes`` = max label + 1 (or the one-hot width); regression targets become float32
and keep their shape.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnrun.errors import DataError

Labels = tuple[np.ndarray, np.ndarray | None, str, int | None]


def infer_task(y_train: np.ndarray, y_test: np.ndarray | None, name: str) -> Labels:
    """``(y_train, y_test, task, n_classes)`` for the labels of ``name``, decided on train and test together."""
    y = y_train if y_test is None else np.concatenate([y_train, y_test])
    if y.ndim not in (1, 2):
        raise DataError(
            f"{name}: labels of shape {y_train.shape[1:]} per row; expected one value per row (n,) or (n, 1), "
            "or one row of one-hot or target values (n, k). Reshape the labels."
        )

    def both(convert: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        return convert(y_train), None if y_test is None else convert(y_test)

    if y.ndim == 2 and y.shape[1] > 1:
        if is_one_hot(y):
            return *both(lambda p: p.argmax(axis=1).astype(np.int64)), "classification", y.shape[1]
        return *both(lambda p: p.astype(np.float32)), "regression", None
    if is_integer_valued(y):
        if y.min() < 0:
            raise DataError(
                f"{name}: the labels are whole numbers, so they are read as class indices, but they include "
                f"{int(y.min())}; class indices must be 0 .. n_classes-1. Renumber the classes from 0, or "
                "store regression targets that are not all whole numbers."
            )
        return *both(lambda p: p.reshape(len(p)).astype(np.int64)), "classification", int(y.max()) + 1
    return *both(lambda p: p.astype(np.float32)), "regression", None


def is_integer_valued(y: np.ndarray) -> bool:
    """True for bool or integer arrays, and float arrays whose values are all whole numbers."""
    if y.dtype == np.bool_ or np.issubdtype(y.dtype, np.integer):
        return True
    return bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))


def is_one_hot(y: np.ndarray) -> bool:
    """True when every row of the 2-D ``y`` has a single 1 and zeros elsewhere."""
    return bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))
