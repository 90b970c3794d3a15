"""Weight initializers with Keras's names, defaults and formulas.

``seed=None`` draws a seed once, when the initializer is constructed (from nnrun's default generator,
see :mod:`nnrun.engine.random`), so calling the same instance twice returns the same values, as in
Keras. The random streams are NumPy's: the distributions match Keras, the values do not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun.engine.backend import standardize_dtype
from nnrun.engine.random import Seed, draw_seed
from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

INITIALIZERS: Registry[type[Initializer]] = Registry("initializer")

# Standard deviation of a standard normal truncated to [-2, 2].
_TRUNCATED_STD = 0.87962566103423978


def _register(name: str, *aliases: str):
    def decorator(cls):
        INITIALIZERS.add(cls, name, *aliases)
        return cls

    return decorator


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) as Keras computes them; a Dense kernel is (in, out)."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: ``init(shape, dtype=None)`` returns a new array."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _Random(Initializer):
    """An initializer that owns a seed, drawn once at construction when not given."""

    def __init__(self, seed: Seed = None) -> None:
        self.seed = seed if isinstance(seed, (int, np.integer)) else None
        self._seed = draw_seed(seed)

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self._seed)


@_register("Zeros", "zero")
class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(shape, standardize_dtype(dtype))


@_register("Ones", "one")
class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(shape, standardize_dtype(dtype))


@_register("Constant")
class Constant(Initializer):
    """``value`` broadcast to the shape (a number or an array)."""

    def __init__(self, value: Any = 0.0) -> None:
        self.value = value

    def __call__(self, shape, dtype=None):
        dtype = standardize_dtype(dtype)
        return np.asarray(self.value, dtype) * np.ones(shape, dtype)

    def get_config(self):
        value = self.value
        if isinstance(value, (np.ndarray, np.generic, list, tuple)):
            value = np.asarray(value).tolist()  # JSON-serializable (Keras writes arrays as lists too)
        return {"value": value}


class ArrayInitializer(Constant):
    """An array given as an initializer (``initializers.get(array)``): only for its own shape."""

    def __init__(self, value: Any) -> None:
        super().__init__(np.asarray(value))

    def __call__(self, shape, dtype=None):
        if tuple(shape) != self.value.shape:
            raise InvalidArgumentError(
                f"Expected shape to be {self.value.shape} for an array as initializer. Received: shape={tuple(shape)}"
            )
        return self.value.astype(standardize_dtype(dtype))


class FunctionInitializer(Initializer):
    """A function ``fn(shape, dtype=None)`` used as an initializer (as Keras accepts any callable)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __call__(self, shape, dtype=None):
        return np.asarray(self.fn(tuple(shape), dtype=standardize_dtype(dtype)), standardize_dtype(dtype))


@_register("RandomUniform", "uniform")
class RandomUniform(_Random):
    """U[minval, maxval)"""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Seed = None) -> None:
        if not minval < maxval:
            raise InvalidArgumentError(
                f"RandomUniform needs minval < maxval. Received: minval={minval}, maxval={maxval}"
            )
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(standardize_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@_register("RandomNormal", "normal")
class RandomNormal(_Random):
    """N(mean, stddev²)"""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Seed = None) -> None:
        _check_positive("RandomNormal", "stddev", stddev)
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, shape).astype(standardize_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def truncated_standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """N(0, 1) restricted to [-2, 2] (out-of-range draws are redrawn); its std is 0.8796."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out


@_register("TruncatedNormal")
class TruncatedNormal(_Random):
    """N(0, 1) truncated to ±2, times stddev, plus mean (so the std is 0.8796·stddev)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Seed = None) -> None:
        _check_positive("TruncatedNormal", "stddev", stddev)
        self.mean, self.stddev = mean, stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        values = truncated_standard_normal(self._rng(), shape) * self.stddev + self.mean
        return values.astype(standardize_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")


@_register("VarianceScaling")
class VarianceScaling(_Random):
    """Samples with variance ``scale / n``, n the fan chosen by ``mode``."""

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: Seed = None,
    ) -> None:
        _check_positive("VarianceScaling", "scale", scale)
        if mode not in _MODES:
            raise InvalidArgumentError(f"VarianceScaling mode must be one of {_MODES}. Received: mode={mode!r}")
        if distribution not in _DISTRIBUTIONS:
            raise InvalidArgumentError(
                f"VarianceScaling distribution must be one of {_DISTRIBUTIONS}. Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(tuple(shape))
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        s = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution in ("truncated_normal", "normal"):
            values = truncated_standard_normal(rng, shape) * (math.sqrt(s) / _TRUNCATED_STD)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(s), shape)
        else:
            limit = math.sqrt(3.0 * s)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(standardize_dtype(dtype))

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _variance_scaling(name: str, scale: float, mode: str, distribution: str, doc: str):
    class Special(VarianceScaling):
        __doc__ = doc

        def __init__(self, seed: Seed = None) -> None:
            super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

        def get_config(self):
            return {"seed": self.seed}

    Special.__name__ = Special.__qualname__ = name
    INITIALIZERS.add(Special, name)
    return Special


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform", "U(±sqrt(6 / (fan_in + fan_out)))")
GlorotNormal = _variance_scaling(
    "GlorotNormal", 1.0, "fan_avg", "truncated_normal", "Truncated normal, std sqrt(2 / (fan_in + fan_out))"
)
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal, std sqrt(2 / fan_in)")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform", "U(±sqrt(6 / fan_in))")
LecunNormal = _variance_scaling(
    "LecunNormal", 1.0, "fan_in", "truncated_normal", "Truncated normal, std sqrt(1 / fan_in)"
)
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform", "U(±sqrt(3 / fan_in))")


@_register("Orthogonal", "OrthogonalInitializer")
class Orthogonal(_Random):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix, times gain."""

    def __init__(self, gain: float = 1.0, seed: Seed = None) -> None:
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise InvalidArgumentError(
                f"Orthogonal initializer needs a shape of rank >= 2. Received: shape={tuple(shape)}"
            )
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(standardize_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


@_register("Identity", "IdentityInitializer")
class Identity(Initializer):
    """gain · I for a 2-D shape."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise InvalidArgumentError(f"Identity initializer needs a 2-D shape. Received: shape={tuple(shape)}")
        return (self.gain * np.eye(*shape)).astype(standardize_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


def _check_positive(where: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise InvalidArgumentError(f"{where} {name} must be a positive number. Received: {name}={value!r}")


def get(identifier: str | Initializer | dict[str, Any], argument: str = "initializer") -> Initializer:
    """An initializer from a name (``"glorot_uniform"``, ``"GlorotUniform"``, ...), a config dict, an instance, an
    array (for weights of exactly its shape) or a function ``fn(shape, dtype=None)``."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, (np.ndarray, np.generic)):
        return ArrayInitializer(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return FunctionInitializer(identifier)
    if isinstance(identifier, dict):
        cls = INITIALIZERS.get(identifier.get("class_name", ""), argument)
        return cls(**identifier.get("config", {}))
    return INITIALIZERS.get(identifier, argument)()


def serialize(initializer: Initializer) -> str | dict[str, Any]:
    """A name when every argument is default, else ``{"class_name", "config"}``."""
    if isinstance(initializer, FunctionInitializer):
        raise InvalidArgumentError(f"Cannot serialize the initializer function {initializer.fn!r}")
    config = initializer.get_config()
    if isinstance(initializer, ArrayInitializer):
        return {"class_name": "Constant", "config": config}
    if not {k: v for k, v in config.items() if not (k == "seed" and v is None)}:
        return type(initializer).__name__
    return {"class_name": type(initializer).__name__, "config": config}
