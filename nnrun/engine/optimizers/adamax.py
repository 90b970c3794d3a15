"""Adamax: Adam with the infinity norm."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer, _check_number


@OPTIMIZERS.register("Adamax")
class Adamax(Optimizer):
    """m ← m + (g − m)(1−β1); u ← max(β2·u, |g|); w ← w − lr·m / ((1 − β1^t)·(u + ε))"""

    def __init__(
        self,
        learning_rate: float | None = None,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _check_number("Adamax", "beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = _check_number("Adamax", "beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = _check_number("Adamax", "epsilon", epsilon, low=0.0)
        self.slots = {"m": 0.0, "u": 0.0}

    def prepare_step(self, t, lr, dtype):
        self._one_minus_b1t = dtype(1) - dtype(self.beta_1) ** t

    def update_step(self, g, w, lr, slots):
        m, u = slots["m"], slots["u"]
        tmp = g - m
        tmp *= 1 - self.beta_1
        m += tmp
        u *= self.beta_2
        np.maximum(u, np.abs(g, out=tmp), out=u)
        den = u + self.epsilon
        den *= self._one_minus_b1t
        step = lr * m
        step /= den
        w -= step

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
