"""RMSprop: divide the gradient by a running RMS of recent gradients (ε inside the square root)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer, _check_number


@OPTIMIZERS.register("RMSprop")
class RMSprop(Optimizer):
    """v ← ρ·v + (1−ρ)·g²; w ← w − lr·g / sqrt(v + ε)
    (centered: subtract the squared running mean of g; momentum: accumulate the increments)
    """

    def __init__(
        self,
        learning_rate: float | None = None,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = _check_number("RMSprop", "rho", rho, low=0.0, high=1.0)
        self.momentum = _check_number("RMSprop", "momentum", momentum, low=0.0, high=1.0)
        self.epsilon = _check_number("RMSprop", "epsilon", epsilon, low=0.0)
        self.centered = bool(centered)
        self.slots = {"velocity": 0.0}
        if self.momentum > 0:
            self.slots["momentum"] = 0.0
        if self.centered:
            self.slots["average_gradient"] = 0.0

    def slot_order(self):
        return tuple((name,) for name in self.slots)  # Keras creates velocity, momentum, average_gradient apart

    def update_step(self, g, w, lr, slots):
        rho, one_minus_rho = self.rho, 1 - self.rho
        v = slots["velocity"]
        v *= rho
        v += np.square(g) * one_minus_rho
        if self.centered:
            a = slots["average_gradient"]
            a *= rho
            a += g * one_minus_rho
            den = v - np.square(a)
            den += self.epsilon
        else:
            den = v + self.epsilon
        inc = lr * g
        inc /= np.sqrt(den, out=den)
        if self.momentum > 0:
            m = slots["momentum"]
            m *= self.momentum
            m += inc
            w -= m
        else:
            w -= inc

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
