"""Weight and activity regularizers with Keras's names, defaults and formulas, each with its gradient.

A regularizer maps an array to a scalar penalty (``reg(x)``) that joins the training loss, and gives
``reg.grad(x)``, its derivative with respect to ``x``. Layers take them as ``kernel_regularizer``,
``bias_regularizer`` and ``activity_regularizer`` (the activity penalty is divided by the batch size, as
in Keras 3); ``layer.losses`` / ``model.losses`` list the current penalties.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun.engine.backend import epsilon
from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

REGULARIZERS: Registry[type[Regularizer]] = Registry("regularizer")


def _check_factor(name: str, value: Any) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or math.isinf(value) or math.isnan(value) or value < 0:
        raise InvalidArgumentError(
            f"Invalid value for argument {name}: expected a non-negative float. Received: {name}={value!r}"
        )
    return float(value)


class Regularizer:
    """Base class: ``reg(x)`` is the penalty, ``reg.grad(x)`` its gradient."""

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError

    def grad(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _abs_grad(x: np.ndarray) -> np.ndarray:
    """d|x|/dx, +1 at 0 (the subgradient JAX, and so Keras, takes: a zero bias still moves)."""
    return np.where(x >= 0, 1.0, -1.0).astype(x.dtype, copy=False)


def _float(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


@REGULARIZERS.register("L1L2", "l1_l2")
class L1L2(Regularizer):
    """l1·Σ|x| + l2·Σx²"""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _check_factor("l1", 0.0 if l1 is None else l1)
        self.l2 = _check_factor("l2", 0.0 if l2 is None else l2)

    def __call__(self, x):
        x = _float(x)
        penalty = x.dtype.type(0)
        if self.l1:
            penalty += x.dtype.type(self.l1) * np.abs(x).sum(dtype=x.dtype)
        if self.l2:
            penalty += x.dtype.type(self.l2) * np.square(x).sum(dtype=x.dtype)
        return penalty

    def grad(self, x):
        g = np.zeros_like(x)
        if self.l1:
            g += self.l1 * _abs_grad(x)
        if self.l2:
            g += (2 * self.l2) * x
        return g

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@REGULARIZERS.register("L1", "l1")
class L1(Regularizer):
    """l1·Σ|x|"""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _check_factor("l1", 0.01 if l1 is None else l1)

    def __call__(self, x):
        x = _float(x)
        return x.dtype.type(self.l1) * np.abs(x).sum(dtype=x.dtype)

    def grad(self, x):
        return self.l1 * _abs_grad(x)

    def get_config(self):
        return {"l1": self.l1}


@REGULARIZERS.register("L2", "l2")
class L2(Regularizer):
    """l2·Σx²"""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _check_factor("l2", 0.01 if l2 is None else l2)

    def __call__(self, x):
        x = _float(x)
        return x.dtype.type(self.l2) * np.square(x).sum(dtype=x.dtype)

    def grad(self, x):
        return (2 * self.l2) * x

    def get_config(self):
        return {"l2": self.l2}


@REGULARIZERS.register("OrthogonalRegularizer", "orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """factor · mean over pairs of |n_i·n_j| for the unit-normalised rows (or columns) n_i of a 2-D weight."""

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _check_factor("factor", factor)
        if mode not in ("rows", "columns"):
            raise InvalidArgumentError(
                f"Invalid value for argument mode: expected one of ('rows', 'columns'). Received: mode={mode!r}"
            )
        self.mode = mode

    def _rows(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2:
            raise InvalidArgumentError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: shape {x.shape}")
        return x if self.mode == "rows" else x.T

    @staticmethod
    def _inv_norm(r: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            inv = 1.0 / np.sqrt(np.square(r).sum(axis=1, keepdims=True))
        return np.minimum(inv, r.dtype.type(1.0 / epsilon()))

    def __call__(self, x):
        r = self._rows(_float(x))
        k = r.shape[0]
        u = r * self._inv_norm(r)
        product = np.abs(u @ u.T) * (1.0 - np.eye(k, dtype=r.dtype))
        pairs = k * (k - 1.0) / 2.0
        return r.dtype.type(self.factor * 0.5 * product.sum() / pairs) if pairs else r.dtype.type(0)

    def grad(self, x):
        r = self._rows(x)
        k = r.shape[0]
        pairs = k * (k - 1.0) / 2.0
        if not pairs:
            return np.zeros_like(x)
        inv = self._inv_norm(r)
        u = r * inv
        s = np.sign(u @ u.T) * (1.0 - np.eye(k, dtype=r.dtype))
        gu = (self.factor / pairs) * (s @ u)  # dL/du (the product is symmetric)
        scaled = inv < 1.0 / epsilon()  # rows normalised by their norm (not by ε)
        g = (gu - np.where(scaled, (gu * u).sum(axis=1, keepdims=True) * u, 0.0)) * inv
        return g if self.mode == "rows" else g.T

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def get(identifier: Any, argument: str = "regularizer") -> Regularizer | None:
    """A regularizer from ``None`` (none), a name (``"l2"``: the defaults), a config dict or an instance."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier, argument)
    if isinstance(identifier, str):
        return REGULARIZERS.get(identifier, argument)()
    raise InvalidArgumentError(
        f"{argument} must be a regularizer name ({', '.join(REGULARIZERS.spellings())}), a config dict or a "
        f"Regularizer (nnrun needs its gradient). Received: {argument}={identifier!r}"
    )


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """``{"class_name", "config"}`` (None for None)."""
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}


def deserialize(config: dict[str, Any], argument: str = "regularizer") -> Regularizer:
    if not isinstance(config, dict) or "class_name" not in config:
        raise InvalidArgumentError(
            f"A regularizer config must be a dict with 'class_name' and 'config'. Received: {argument}={config!r}"
        )
    return REGULARIZERS.get(config["class_name"], argument).from_config(config.get("config") or {})


# Keras's lower-case spellings are the classes themselves: regularizers.l2(0.001) is L2(0.001).
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer
