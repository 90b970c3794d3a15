"""Adagrad: per-weight learning rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer, _check_number


@OPTIMIZERS.register("Adagrad")
class Adagrad(Optimizer):
    """acc ← acc + g²; w ← w − lr·g / sqrt(acc + ε)   (acc starts at initial_accumulator_value)"""

    def __init__(
        self,
        learning_rate: float | None = None,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = _check_number(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.epsilon = _check_number("Adagrad", "epsilon", epsilon, low=0.0)
        self.slots = {"accumulator": self.initial_accumulator_value}

    def update_step(self, g, w, lr, slots):
        acc = slots["accumulator"]
        acc += np.square(g)
        den = acc + self.epsilon
        inc = lr * g
        inc /= np.sqrt(den, out=den)
        w -= inc

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }
