"""Nadam: Adam with Nesterov momentum and Keras's momentum-cache schedule (decay 0.96)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer, _check_number


@OPTIMIZERS.register("Nadam")
class Nadam(Optimizer):
    """u_t = β1(1 − 0.5·0.96^t); P_t = Π u_i;
    m̂ = u_{t+1}·m/(1 − P_t·u_{t+1}) + (1 − u_t)·g/(1 − P_t); v̂ = v/(1 − β2^t);
    w ← w − m̂·lr / (sqrt(v̂) + ε)
    """

    def __init__(
        self,
        learning_rate: float | None = None,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = _check_number("Nadam", "beta_1", beta_1, low=0.0, high=1.0, high_open=True)
        self.beta_2 = _check_number("Nadam", "beta_2", beta_2, low=0.0, high=1.0, high_open=True)
        self.epsilon = _check_number("Nadam", "epsilon", epsilon, low=0.0)
        self.slots = {"momentum": 0.0, "velocity": 0.0}

    def build_extra(self) -> None:
        self._u_product = self._dtype(1.0)

    def extra_variables(self):
        return [np.array(self._u_product)]

    def set_extra_variables(self, values):
        self._u_product = self._dtype(values[0])

    def prepare_step(self, t, lr, dtype):
        decay = dtype(0.96)
        b1 = dtype(self.beta_1)
        # the stored product is advanced once per step, before the updates
        self._u_product = self._u_product * b1 * (dtype(1) - dtype(0.5) * decay**t)
        u_t = b1 * (dtype(1) - dtype(0.5) * decay**t)
        u_t1 = b1 * (dtype(1) - dtype(0.5) * decay ** (t + dtype(1)))
        p_t = self._u_product
        self._u_t1 = u_t1
        self._one_minus_u_t = dtype(1) - u_t
        self._den_m = dtype(1) - p_t * u_t1
        self._den_g = dtype(1) - p_t
        self._one_minus_b2t = dtype(1) - dtype(self.beta_2) ** t
        self._one_minus_b1 = dtype(1) - b1
        self._one_minus_b2 = dtype(1) - dtype(self.beta_2)

    def update_step(self, g, w, lr, slots):
        m, v = slots["momentum"], slots["velocity"]
        tmp = g - m
        tmp *= self._one_minus_b1
        m += tmp
        np.square(g, out=tmp)
        tmp -= v
        tmp *= self._one_minus_b2
        v += tmp
        m_hat = m * self._u_t1
        m_hat /= self._den_m
        g_part = g * self._one_minus_u_t
        g_part /= self._den_g
        m_hat += g_part
        v_hat = np.divide(v, self._one_minus_b2t, out=tmp)
        np.sqrt(v_hat, out=v_hat)
        v_hat += self.epsilon
        m_hat *= lr
        m_hat /= v_hat
        w -= m_hat

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
