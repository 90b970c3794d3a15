"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer, _check_number


@OPTIMIZERS.register("SGD")
class SGD(Optimizer):
    """momentum = 0: w ← w − lr·g
    else: v ← μ·v − lr·g; w ← w + v (or, Nesterov: w ← w + μ·v − lr·g)
    """

    default_learning_rate = 0.01

    def __init__(
        self, learning_rate: float | None = None, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = _check_number("SGD", "momentum", momentum, low=0.0, high=1.0)
        self.nesterov = bool(nesterov)
        self.slots = {"momentum": 0.0} if self.momentum != 0 else {}

    def update_step(self, g, w, lr, slots):
        if not slots:
            w -= g * lr
            return
        mu = w.dtype.type(self.momentum)
        v = slots["momentum"]
        glr = g * lr
        v *= mu
        v -= glr
        if self.nesterov:
            w += v * mu - glr
        else:
            w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
