"""Learning-rate schedules: ``learning_rate=ExponentialDecay(...)`` makes the rate a function of the step.

An optimizer calls its schedule once per step with ``iterations`` (0-based, before the step), in float32
as Keras does; the update kernels then see a plain scalar.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

SCHEDULES: Registry[type[LearningRateSchedule]] = Registry("learning-rate schedule")

_f32 = np.float32


class LearningRateSchedule:
    """Base class: ``schedule(step) -> learning rate``; ``get_config()`` is the constructor's arguments."""

    def __call__(self, step: Any) -> np.float32:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override __call__(step).")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override get_config().")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_decay_steps(cls: str, decay_steps: Any) -> None:
    if isinstance(decay_steps, bool) or not isinstance(decay_steps, (int, float, np.number)) or decay_steps <= 0:
        raise InvalidArgumentError(f"{cls}: decay_steps must be > 0. Received: decay_steps={decay_steps!r}")


class _StepDecay(LearningRateSchedule):
    """A decay of ``initial_learning_rate`` by ``decay_rate`` over ``decay_steps`` (the shared arguments of
    ExponentialDecay and InverseTimeDecay); a subclass writes only its formula, ``_decay(lr, rate, p)``."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ) -> None:
        _check_decay_steps(type(self).__name__, decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name or type(self).__name__

    def __call__(self, step: Any) -> np.float32:
        p = _f32(step) / _f32(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return self._decay(_f32(self.initial_learning_rate), _f32(self.decay_rate), p)

    def _decay(self, lr: np.float32, rate: np.float32, p: np.float32) -> np.float32:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@SCHEDULES.register("ExponentialDecay")
class ExponentialDecay(_StepDecay):
    """lr = initial_learning_rate · decay_rate^(step / decay_steps)   (staircase: the exponent floored)"""

    def _decay(self, lr: np.float32, rate: np.float32, p: np.float32) -> np.float32:
        return lr * np.power(rate, p)


@SCHEDULES.register("PiecewiseConstantDecay")
class PiecewiseConstantDecay(LearningRateSchedule):
    """lr = values[0] while step ≤ boundaries[0], values[i] while boundaries[i-1] < step ≤ boundaries[i], ..."""

    def __init__(self, boundaries: list[float], values: list[float], name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise InvalidArgumentError(
                "PiecewiseConstantDecay: boundaries must be one shorter than values. Received: "
                f"boundaries={boundaries!r} of length {len(boundaries)}, values={values!r} of length {len(values)}"
            )
        if list(boundaries) != sorted(boundaries):
            raise InvalidArgumentError(
                f"PiecewiseConstantDecay: boundaries must be increasing. Received: boundaries={boundaries!r}"
            )
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step: Any) -> np.float32:
        # the first boundary that step does not exceed picks the value
        i = int(np.searchsorted(np.asarray(self.boundaries, np.float64), float(step), side="left"))
        return _f32(self.values[i])

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@SCHEDULES.register("InverseTimeDecay")
class InverseTimeDecay(_StepDecay):
    """lr = initial_learning_rate / (1 + decay_rate · step / decay_steps)   (staircase: the ratio floored)"""

    def _decay(self, lr: np.float32, rate: np.float32, p: np.float32) -> np.float32:
        return lr / (_f32(1) + rate * p)


@SCHEDULES.register("CosineDecay")
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from initial_learning_rate to warmup_target over warmup_steps, then
    lr = peak · ((1 − alpha) · ½(1 + cos(π · min(s, decay_steps) / decay_steps)) + alpha), s counted after warmup.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        _check_decay_steps("CosineDecay", decay_steps)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, float, np.number)) or warmup_steps < 0:
            raise InvalidArgumentError(
                f"CosineDecay: warmup_steps must be >= 0. Received: warmup_steps={warmup_steps!r}"
            )
        self.initial_learning_rate, self.decay_steps, self.alpha = initial_learning_rate, decay_steps, alpha
        self.name, self.warmup_target, self.warmup_steps = name, warmup_target, warmup_steps

    def _decay(self, step: np.float32, peak: np.float32) -> np.float32:
        fraction = step / _f32(self.decay_steps)
        cosine = _f32(0.5) * (_f32(1) + np.cos(_f32(math.pi) * fraction))
        return peak * ((_f32(1) - _f32(self.alpha)) * cosine + _f32(self.alpha))

    def __call__(self, step: Any) -> np.float32:
        initial, step = _f32(self.initial_learning_rate), _f32(step)
        decay_steps = _f32(self.decay_steps)
        if self.warmup_target is None:
            return self._decay(min(step, decay_steps), initial)
        target, warmup = _f32(self.warmup_target), _f32(self.warmup_steps)
        step = min(step, decay_steps + warmup)
        if step < warmup:
            return (target - initial) * (step / warmup) + initial
        return self._decay(step - warmup, target)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras's form: ``{"module", "class_name", "config", "registered_name"}``."""
    return {
        "module": "keras.optimizers.schedules",
        "class_name": type(schedule).__name__,
        "config": schedule.get_config(),
        "registered_name": None,
    }


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """A schedule from :func:`serialize`'s dict (or ``{"class_name", "config"}``)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise InvalidArgumentError(
            f"A learning-rate schedule config must be a dict with 'class_name' and 'config'. Received: {config!r}"
        )
    return SCHEDULES.get(config["class_name"], "learning_rate").from_config(config.get("config", {}))


__all__ = [
    "SCHEDULES",
    "CosineDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "deserialize",
    "serialize",
]
