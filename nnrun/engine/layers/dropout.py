"""``Dropout``: inverted dropout, active only in training."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.layers.layer import Layer
from nnrun.engine.random import Seed, make_rng
from nnrun.errors import InvalidArgumentError


class Dropout(Layer):
    """Training: y = x / (1 - rate) where kept (probability 1 - rate), else 0. Inference: y = x."""

    def __init__(self, rate: float, seed: Seed = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise InvalidArgumentError(
                f"Dropout rate must be a number in [0, 1] (the fraction of inputs dropped). "
                f"Received: rate={rate!r} (layer '{self.name}')"
            )
        self.rate = float(rate)
        self.seed = seed if isinstance(seed, (int, np.integer)) else None
        self._rng = make_rng(seed)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        u = self._buffer(("u", x.shape), x.shape)
        self._rng.random(dtype=u.dtype, out=u)
        mask = self._buffer(("mask", x.shape), x.shape)
        # mask holds 1/keep where kept and 0 where dropped, so y = x * mask and dx = dy * mask.
        np.greater_equal(u, self.rate, out=mask, casting="unsafe")
        if keep > 0:
            mask *= 1.0 / keep
        self._mask = mask
        y = self._buffer(("y", x.shape), x.shape)
        return np.multiply(x, mask, out=y)

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if not need_dx:
            return None
        if self._mask is not None:
            dy *= self._mask
        return dy

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
