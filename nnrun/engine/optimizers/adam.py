"""Adam, in Keras's form: bias correction folded into the step, ε added to sqrt of the raw v."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer, _check_number


@OPTIMIZERS.register("Adam")
class Adam(Optimizer):
    """m ← m + (g − m)(1−β1); v ← v + (g² − v)(1−β2); α = lr·sqrt(1−β2^t)/(1−β1^t);
    w ← w − m·α / (sqrt(v) + ε)   (amsgrad: v replaced by its running maximum)
    """

    def __init__(
        self,
        learning_rate: float | None = None,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        cls = type(self).__name__
        self.beta_1 = _check_number(cls, "beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = _check_number(cls, "beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = _check_number(cls, "epsilon", epsilon, low=0.0)
        self.amsgrad = bool(amsgrad)
        self.slots = {"momentum": 0.0, "velocity": 0.0}
        if self.amsgrad:
            self.slots["velocity_hat"] = 0.0

    def slot_order(self):
        return (("momentum", "velocity"), ("velocity_hat",)) if self.amsgrad else (("momentum", "velocity"),)

    def build_extra(self) -> None:
        # per-weight scratch space and the constants, in the weights' dtype ((1 − β) formed in float64)
        dtype = self._dtype
        self._b1, self._b2 = dtype(self.beta_1), dtype(self.beta_2)
        self._c1, self._c2, self._eps = dtype(1 - self.beta_1), dtype(1 - self.beta_2), dtype(self.epsilon)
        self._one = dtype(1)
        for group in self._groups:
            group.slots["_tmp"], group.slots["_step"] = np.empty_like(group.w), np.empty_like(group.w)

    def prepare_step(self, t, lr, dtype):
        one = self._one
        self._alpha = lr * np.sqrt(one - self._b2**t) / (one - self._b1**t)

    def update_step(self, g, w, lr, slots):
        m, v, tmp, step = slots["momentum"], slots["velocity"], slots["_tmp"], slots["_step"]
        np.subtract(g, m, out=tmp)  # m ← m + (g − m)(1 − β1)
        tmp *= self._c1
        m += tmp
        np.square(g, out=tmp)  # v ← v + (g² − v)(1 − β2)
        tmp -= v
        tmp *= self._c2
        v += tmp
        if self.amsgrad:
            v = np.maximum(slots["velocity_hat"], v, out=slots["velocity_hat"])
        np.sqrt(v, out=tmp)  # w ← w − m·α / (sqrt(v) + ε)
        tmp += self._eps
        np.multiply(m, self._alpha, out=step)
        step /= tmp
        w -= step

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


@OPTIMIZERS.register("AdamW")
class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004): w ← w − w·wd·lr before each step."""

    def __init__(self, learning_rate: float | None = None, weight_decay: float = 0.004, **kwargs: Any) -> None:
        if weight_decay is None:
            from nnrun.errors import InvalidArgumentError

            raise InvalidArgumentError("AdamW needs a weight_decay (a number >= 0). Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
