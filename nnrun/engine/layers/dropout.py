"""``Dropout``: inverted dropout, active only in training."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.layers.layer import Layer
from nnrun.engine.random import Seed, make_rng
from nnrun.errors import InvalidArgumentError


class Dropout(Layer):
    """Training: y = x / (1 - rate) where kept (probability 1 - rate), else 0. Inference: y = x."""

    def __init__(self, rate: float, noise_shape: Any = None, seed: Seed = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise InvalidArgumentError(
                f"Dropout rate must be a number in [0, 1] (the fraction of inputs dropped). "
                f"Received: rate={rate!r} (layer '{self.name}')"
            )
        self.rate = float(rate)
        self.noise_shape = _check_noise_shape(noise_shape, self.name)
        self.seed = seed if isinstance(seed, (int, np.integer)) else None
        self._rng = make_rng(seed)

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        if not training or self.rate == 0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        shape = x.shape if self.noise_shape is None else self._mask_shape(x.shape)
        u = self._buffer(("u", shape), shape)
        self._rng.random(dtype=u.dtype, out=u)
        mask = self._buffer(("mask", shape), shape)
        # mask holds 1/keep where kept and 0 where dropped, so y = x * mask and dx = dy * mask.
        np.greater_equal(u, self.rate, out=mask, casting="unsafe")
        if keep > 0:
            mask *= 1.0 / keep
        self._mask = mask
        y = self._buffer(("y", x.shape), x.shape)
        return np.multiply(x, mask, out=y)

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """``noise_shape`` with its None entries taken from the input (a mask shared along 1-sized axes)."""
        noise = self.noise_shape
        if len(noise) != len(shape) or any(n is not None and n not in (1, d) for n, d in zip(noise, shape)):
            raise InvalidArgumentError(
                f"Dropout layer '{self.name}': noise_shape={noise} does not broadcast to inputs of shape {shape}."
            )
        return tuple(d if n is None else n for n, d in zip(noise, shape))

    def backward(self, dy: np.ndarray, need_dx: bool) -> np.ndarray | None:
        if not need_dx:
            return None
        if self._mask is not None:
            dy *= self._mask
        return dy

    def get_config(self) -> dict[str, Any]:
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise_shape, "seed": self.seed}


def _check_noise_shape(noise_shape: Any, name: str) -> tuple[int | None, ...] | None:
    if noise_shape is None:
        return None
    try:
        shape = tuple(None if d is None else int(d) for d in noise_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or any(d is not None and d <= 0 for d in shape):
        raise InvalidArgumentError(
            f"Dropout noise_shape must be a tuple of positive ints or None. Received: noise_shape={noise_shape!r} "
            f"(layer '{name}')"
        )
    return shape
