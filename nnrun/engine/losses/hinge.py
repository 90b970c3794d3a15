"""Hinge losses for classifiers with ±1 (or 0/1) targets: hinge, squared hinge, categorical hinge."""

from __future__ import annotations

import numpy as np

from nnrun.engine.losses.base import LOSSES, Loss, mean_last


def to_signs(y: np.ndarray) -> np.ndarray:
    """Keras's rule: when every target is 0 or 1, map them to −1/+1; otherwise keep them as given."""
    if np.all((y == 0) | (y == 1)):
        return 2 * y - 1
    return y


@LOSSES.register("Hinge", "hinge")
class Hinge(Loss):
    """mean(max(1 − y·p, 0), axis=-1), y in {−1, +1} (0/1 targets are converted)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "hinge") -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        return mean_last(np.maximum(1 - to_signs(y) * p, 0))

    def grad(self, y, p, scale):
        s = to_signs(y)
        return -s * (1 - s * p > 0) * (scale / p.shape[-1])


@LOSSES.register("SquaredHinge", "squared_hinge")
class SquaredHinge(Loss):
    """mean(max(1 − y·p, 0)², axis=-1), y in {−1, +1} (0/1 targets are converted)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "squared_hinge") -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        return mean_last(np.square(np.maximum(1 - to_signs(y) * p, 0)))

    def grad(self, y, p, scale):
        s = to_signs(y)
        return -2 * s * np.maximum(1 - s * p, 0) * (scale / p.shape[-1])


@LOSSES.register("CategoricalHinge", "categorical_hinge")
class CategoricalHinge(Loss):
    """max(neg − pos + 1, 0), pos = Σ y·p, neg = max((1 − y)·p) over the last axis; one-hot targets."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "categorical_hinge") -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        pos = np.add.reduce(y * p, axis=-1)
        neg = np.max((1 - y) * p, axis=-1)
        return np.maximum(neg - pos + 1, 0)

    def grad(self, y, p, scale):
        # where the margin is positive: d/dp = onehot(argmax((1 − y)·p))·(1 − y) − y
        q = (1 - y) * p
        at = np.argmax(q, axis=-1)[..., None]
        g = np.zeros_like(p)
        np.put_along_axis(g, at, np.take_along_axis(1 - y, at, axis=-1), axis=-1)
        g -= y
        active = (np.max(q, axis=-1) - np.add.reduce(y * p, axis=-1) + 1 > 0)[..., None]
        return g * active * scale
