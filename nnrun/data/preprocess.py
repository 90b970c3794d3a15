"""Preparing a :class:`Dataset` for a model: flatten, scale, standardize, one-hot. Applied in that order,
to the training and the test set alike; statistics always come from the training set."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nnrun.data.dataset import Dataset
from nnrun.data.files import numpy_warnings_as_errors
from nnrun.errors import DataError

PIXEL_MAX = 255


def preprocess(
    ds: Dataset, *, flatten: bool = False, scale: bool = False, standardize: bool = False, one_hot: bool = False
) -> Dataset:
    """A new Dataset with the chosen steps applied (``ds`` is left as it is).

    - ``flatten``: x of shape (n, ...) becomes (n, features).
    - ``scale``: x as float32; integer pixels (uint8, or any integer type with values above 1) divided by 255.
    - ``standardize``: x as float32, (x − mean) / std per feature with the training mean and std (std 0 → 1).
    - ``one_hot``: class indices become one-hot float32 rows of width ``n_classes``.
    """
    with numpy_warnings_as_errors(ds.name, "preprocessing"):
        x_train, x_test = ds.x_train, ds.x_test
        if flatten:
            x_train, x_test = _both(x_train, x_test, lambda x: x.reshape(len(x), -1))
        if scale:
            divisor = _pixel_divisor(ds, x_train, x_test)
            x_train, x_test = _both(x_train, x_test, lambda x: (x / np.float32(divisor)).astype(np.float32))
        if standardize:
            mean, std = standardization(x_train)
            x_train, x_test = _both(x_train, x_test, lambda x: ((x - mean) / std).astype(np.float32))
        y_train, y_test = ds.y_train, ds.y_test
        if one_hot:
            _check_one_hot(ds)
            eye = np.eye(ds.n_classes, dtype=np.float32)
            y_train, y_test = _both(y_train, y_test, lambda y: eye[y])
        return replace(ds, x_train=x_train, x_test=x_test, y_train=y_train, y_test=y_test)


def standardization(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std of the training rows (computed in float64; a std of 0 becomes 1)."""
    x = x_train.astype(np.float64)
    mean, std = x.mean(axis=0), x.std(axis=0)
    return mean, np.where(std == 0, 1.0, std)


def _both(train: np.ndarray, test: np.ndarray | None, f) -> tuple[np.ndarray, np.ndarray | None]:
    return f(train), None if test is None else f(test)


def _pixel_divisor(ds: Dataset, x_train: np.ndarray, x_test: np.ndarray | None) -> int:
    """255 for integer pixels (uint8, or an integer type whose values exceed 1), else 1 (only a cast)."""
    if not np.issubdtype(x_train.dtype, np.integer):
        return 1
    parts = [x_train] if x_test is None else [x_train, x_test]
    low, high = min(int(p.min()) for p in parts), max(int(p.max()) for p in parts)
    if x_train.dtype != np.uint8 and high <= 1:
        return 1
    if low < 0 or high > PIXEL_MAX:
        raise DataError(
            f"{ds.name}: scale divides integer pixels by {PIXEL_MAX}, but x holds values from {low} to {high}. "
            "Use standardize instead, or rescale the data to 0-255 before loading it."
        )
    return PIXEL_MAX


def _check_one_hot(ds: Dataset) -> None:
    if ds.task != "classification":
        raise DataError(
            f"{ds.name}: one_hot needs class labels, but this is a {ds.task} dataset (float targets). Turn one_hot off."
        )
    if ds.y_train.ndim != 1 or not np.issubdtype(ds.y_train.dtype, np.integer):
        raise DataError(
            f"{ds.name}: one_hot needs integer class indices of shape (n,); the labels have shape "
            f"{ds.y_train.shape} and dtype {ds.y_train.dtype} (already one-hot?). Apply one_hot once."
        )
