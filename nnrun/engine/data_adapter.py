"""Checking and preparing the arrays given to fit / evaluate / predict, and the validation split."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun.errors import DataError, InvalidArgumentError


def to_numeric(array: Any, name: str) -> np.ndarray:
    """``array`` as a numeric ndarray with no NaN or inf, or a DataError saying what is wrong."""
    try:
        a = np.asarray(array)
    except (ValueError, TypeError) as e:
        raise DataError(f"{name} could not be read as an array: {e}") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise DataError(
            f"{name} must be numeric. Received an array of dtype {a.dtype}"
            + (f" (for example {a.flat[0].item()!r})" if a.size and hasattr(a.flat[0], "item") else "")
        )
    if a.ndim == 0:
        raise DataError(f"{name} must have a batch dimension. Received a scalar: {a!r}")
    if np.issubdtype(a.dtype, np.floating) and a.size:
        bad = ~np.isfinite(a)
        if bad.any():
            first = np.unravel_index(int(bad.argmax()), a.shape)
            raise DataError(
                f"{name} contains {int(bad.sum())} NaN or infinite value(s), the first at index "
                f"{tuple(map(int, first))} ({a[first]}). Remove or impute them before training."
            )
    return a


def check_lengths(named: dict[str, np.ndarray]) -> int:
    """The common number of samples, or a DataError naming the lengths."""
    lengths = {k: len(v) for k, v in named.items() if v is not None}
    if len(set(lengths.values())) > 1:
        raise DataError(
            "Data cardinality is ambiguous: "
            + ", ".join(f"{k} has {n} samples" for k, n in lengths.items())
            + ". Make sure all arrays contain the same number of samples."
        )
    n = next(iter(lengths.values()))
    if n == 0:
        raise DataError(f"{next(iter(lengths))} is empty: there are no samples to use.")
    return n


def split_at(n: int, validation_split: float) -> int:
    """Keras's floor rule: the first ``floor(n·(1 − split))`` rows train, the rest validate."""
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, (int, float))
        or not (0 <= validation_split < 1)
    ):
        raise InvalidArgumentError(
            f"validation_split must be a number in [0, 1). Received: validation_split={validation_split!r}"
        )
    at = int(math.floor(n * (1.0 - validation_split)))
    if at == 0 or at == n:
        raise DataError(
            f"validation_split={validation_split} on {n} samples leaves "
            f"{'no training' if at == 0 else 'no validation'} samples "
            f"(train {at}, validation {n - at}). Use more data or a different split."
        )
    return at
