"""Holding out a test set, shuffling the training rows, and keeping the first ``limit`` of them.

All randomness comes from the ``rng`` passed in, so the same seed gives the same split and order.
"""

from __future__ import annotations

import math

import numpy as np

from nnrun.errors import DataError

Arrays = tuple[np.ndarray, np.ndarray]


def shuffle(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> Arrays:
    """The rows of ``x`` and ``y`` in one random order."""
    order = rng.permutation(len(x))
    return x[order], y[order]


def n_test_rows(n: int, test_split: float) -> int:
    """How many of ``n`` rows a ``test_split`` fraction holds out: n·test_split, rounded half up."""
    return math.floor(n * test_split + 0.5)


def split(
    x: np.ndarray, y: np.ndarray, test_split: float, rng: np.random.Generator, *, stratify: bool, name: str
) -> tuple[Arrays, Arrays]:
    """``(x_train, y_train), (x_test, y_test)``: a ``test_split`` fraction held out, both parts shuffled.

    With ``stratify`` (class-index labels), each class gives its share of the test rows, so both parts keep
    the class proportions: every class holds out ⌊n_c·test_split⌋ rows and the rows still owed go to the
    classes with the largest remainders (ties to the lower class).
    """
    n = len(x)
    n_test = n_test_rows(n, test_split)
    if n_test == 0 or n_test == n:
        fix = f"Choose a test_split in [{1 / n:.3g}, {1 - 1 / n:.3g}]" if n > 1 else "Use more samples"
        raise DataError(
            f"{name}: test_split={test_split} of {n} rows leaves {n - n_test} train and {n_test} test rows; "
            f"both need at least one. {fix}."
        )
    if stratify:
        test = _stratified_test_rows(y, n_test, test_split, rng)
    else:
        test = rng.permutation(n)[:n_test]
    is_test = np.zeros(n, bool)
    is_test[test] = True
    train, test = rng.permutation(np.flatnonzero(~is_test)), rng.permutation(np.flatnonzero(is_test))
    return (x[train], y[train]), (x[test], y[test])


def _stratified_test_rows(y: np.ndarray, n_test: int, test_split: float, rng: np.random.Generator) -> np.ndarray:
    classes, counts = np.unique(y, return_counts=True)
    share = counts * test_split
    take = np.floor(share).astype(int)
    owed = n_test - int(take.sum())
    take[np.argsort(-(share - take), kind="stable")[:owed]] += 1
    rows = [rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)]
    return np.concatenate(rows)


def head(x: np.ndarray, y: np.ndarray, limit: int | None) -> Arrays:
    """The first ``limit`` rows (all rows when ``limit`` is None or larger than the data)."""
    return (x, y) if limit is None else (x[:limit], y[:limit])
