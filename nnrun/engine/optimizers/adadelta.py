"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer, _check_number


@OPTIMIZERS.register("Adadelta")
class Adadelta(Optimizer):
    """Eg ← ρ·Eg + (1−ρ)·g²; Δ = −sqrt(Edx + ε)·g / sqrt(Eg + ε); Edx ← ρ·Edx + (1−ρ)·Δ²; w ← w + lr·Δ

    Keras's default learning rate is 0.001; the paper's form is learning_rate=1.0.
    """

    def __init__(
        self, learning_rate: float | None = None, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _check_number("Adadelta", "rho", rho, low=0.0, high=1.0)
        self.epsilon = _check_number("Adadelta", "epsilon", epsilon, low=0.0)
        self.slots = {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}

    def update_step(self, g, w, lr, slots):
        rho, one_minus_rho, eps = self.rho, 1 - self.rho, self.epsilon
        eg, edx = slots["accumulated_grad"], slots["accumulated_delta_var"]
        eg *= rho
        eg += np.square(g) * one_minus_rho
        delta = np.sqrt(edx + eps) * g
        delta /= np.sqrt(eg + eps)
        np.negative(delta, out=delta)
        edx *= rho
        edx += np.square(delta) * one_minus_rho
        w += lr * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
