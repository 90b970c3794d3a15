"""Activation functions, each with its derivative right below it (Keras 3 formulas).

Each activation is an :class:`ActivationFunction`: calling it computes ``y = f(x)``; ``forward``
writes into a given buffer; ``backward(dy, x, y)`` returns ``dL/dx`` and may overwrite ``dy``.
Activations whose derivative needs only ``y`` set ``uses_input = False``, so a layer may compute them
in place without keeping ``x``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnrun.engine._erf import erf
from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

ACTIVATIONS: Registry[ActivationFunction] = Registry("activation")

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327


class ActivationFunction:
    """``f`` and its derivative. Subclasses implement ``forward`` and ``backward``."""

    name = ""
    uses_input = False  # True when backward needs x, not only y

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        with np.errstate(over="ignore", under="ignore"):
            return self.forward(x, np.empty_like(x))

    def forward(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write ``f(x)`` into ``out`` (which may be ``x`` itself) and return it."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray, x: np.ndarray | None, y: np.ndarray) -> np.ndarray:
        """``dL/dx`` from ``dL/dy``; may overwrite and return ``dy``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


def _register(cls: type[ActivationFunction]) -> type[ActivationFunction]:
    fn = cls()
    fn.__name__ = cls.name  # type: ignore[attr-defined]  # serialized by name, as Keras's functions
    ACTIVATIONS.add(fn, cls.name, *getattr(cls, "aliases", ()))
    return cls


@_register
class Linear(ActivationFunction):
    name = "linear"

    def forward(self, x, out):
        if out is not x:
            out[...] = x
        return out

    def backward(self, dy, x, y):
        return dy


@_register
class Sigmoid(ActivationFunction):
    """y = 1 / (1 + exp(-x))"""

    name = "sigmoid"

    def forward(self, x, out):
        np.negative(x, out=out)
        np.exp(out, out=out)
        out += 1
        return np.reciprocal(out, out=out)

    def backward(self, dy, x, y):
        # dx = dy * y * (1 - y)
        dy *= y
        dy -= dy * y
        return dy


@_register
class Tanh(ActivationFunction):
    """y = tanh(x)"""

    name = "tanh"

    def forward(self, x, out):
        return np.tanh(x, out=out)

    def backward(self, dy, x, y):
        # dx = dy * (1 - y²)
        dy -= dy * y * y
        return dy


@_register
class Relu(ActivationFunction):
    """y = max(x, 0); the gradient at 0 is 0."""

    name = "relu"

    def __init__(self) -> None:
        self._zeros: dict[tuple, np.ndarray] = {}

    def forward(self, x, out):
        # NumPy's maximum against a zeros array of the same shape is several times faster than against 0
        key = (x.shape, x.dtype)
        zeros = self._zeros.get(key)
        if zeros is None:
            if len(self._zeros) > 16:
                self._zeros.clear()
            zeros = self._zeros[key] = np.zeros(x.shape, x.dtype)
        return np.maximum(x, zeros, out=out)

    def backward(self, dy, x, y):
        dy *= y > 0
        return dy


@_register
class Relu6(ActivationFunction):
    """y = min(max(x, 0), 6)"""

    name = "relu6"

    def forward(self, x, out):
        return np.clip(x, 0, 6, out=out)

    def backward(self, dy, x, y):
        dy *= (y > 0) & (y < 6)
        return dy


@_register
class Softmax(ActivationFunction):
    """y = exp(x - max x) / Σ exp(x - max x), over the last axis."""

    name = "softmax"

    def forward(self, x, out):
        np.subtract(x, x.max(axis=-1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=-1, keepdims=True)
        return out

    def backward(self, dy, x, y):
        # dx = y * (dy - Σ dy·y)
        s = (dy * y).sum(axis=-1, keepdims=True)
        dy -= s
        dy *= y
        return dy


@_register
class Elu(ActivationFunction):
    """y = x if x > 0 else exp(x) - 1   (alpha = 1)"""

    name = "elu"
    alpha = 1.0

    def forward(self, x, out):
        neg = x <= 0
        negative = self.alpha * np.expm1(x[neg])
        np.copyto(out, x)
        out[neg] = negative
        return out

    def backward(self, dy, x, y):
        # dx = dy if y > 0 else dy * (y + alpha)
        dy *= np.where(y > 0, 1, y + self.alpha).astype(dy.dtype, copy=False)
        return dy


@_register
class Selu(ActivationFunction):
    """y = scale * elu(x, alpha), with Klambauer et al.'s constants."""

    name = "selu"

    def forward(self, x, out):
        neg = x <= 0
        negative = _SELU_SCALE * (_SELU_ALPHA * np.expm1(x[neg]))
        np.multiply(x, _SELU_SCALE, out=out)
        out[neg] = negative
        return out

    def backward(self, dy, x, y):
        # dx = scale·dy if y > 0 else dy·(y + scale·alpha)
        dy *= np.where(y > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA).astype(dy.dtype, copy=False)
        return dy


@_register
class LeakyRelu(ActivationFunction):
    """y = x if x > 0 else 0.2·x"""

    name = "leaky_relu"
    negative_slope = 0.2

    def forward(self, x, out):
        np.copyto(out, np.where(x > 0, x, x * self.negative_slope))
        return out

    def backward(self, dy, x, y):
        dy[y <= 0] *= self.negative_slope
        return dy


@_register
class Gelu(ActivationFunction):
    """Exact form: y = 0.5·x·(1 + erf(x/√2))"""

    name = "gelu"
    uses_input = True

    def forward(self, x, out):
        out[...] = x * (erf(x * _SQRT_HALF) + 1.0) / 2
        return out

    def backward(self, dy, x, y):
        # dx = dy·(Φ(x) + x·φ(x))
        x64 = x.astype(np.float64)
        dy *= (0.5 * (1.0 + erf(x64 * _SQRT_HALF)) + x64 * _INV_SQRT_2PI * np.exp(-0.5 * x64 * x64)).astype(dy.dtype)
        return dy


@_register
class Softplus(ActivationFunction):
    """y = log(1 + exp(x)), computed as logaddexp(x, 0)"""

    name = "softplus"

    def forward(self, x, out):
        return np.logaddexp(x, 0, out=out)

    def backward(self, dy, x, y):
        # dx = dy·sigmoid(x) = dy·(1 − exp(−y))
        dy *= -np.expm1(-y)
        return dy


@_register
class Softsign(ActivationFunction):
    """y = x / (1 + |x|)"""

    name = "softsign"

    def forward(self, x, out):
        d = np.abs(x)
        d += 1
        return np.divide(x, d, out=out)

    def backward(self, dy, x, y):
        # dx = dy / (1 + |x|)² = dy·(1 − |y|)²
        d = 1 - np.abs(y)
        dy *= d * d
        return dy


@_register
class Silu(ActivationFunction):
    """y = x·sigmoid(x)"""

    name = "silu"
    aliases = ("swish",)
    uses_input = True

    def forward(self, x, out):
        s = 1 / (1 + np.exp(-x))
        return np.multiply(x, s, out=out)

    def backward(self, dy, x, y):
        # dx = dy·(s + x·s·(1 − s)) = dy·(s + y·(1 − s))
        s = 1 / (1 + np.exp(-x))
        dy *= s + y * (1 - s)
        return dy


@_register
class HardSigmoid(ActivationFunction):
    """Keras 3 form: y = relu6(x + 3) / 6 = clip(x/6 + 0.5, 0, 1)"""

    name = "hard_sigmoid"

    def forward(self, x, out):
        np.add(x, 3, out=out)
        np.clip(out, 0, 6, out=out)
        out /= 6
        return out

    def backward(self, dy, x, y):
        dy *= ((y > 0) & (y < 1)) * (1 / 6)
        return dy


@_register
class HardSilu(ActivationFunction):
    """y = x·hard_sigmoid(x)"""

    name = "hard_silu"
    aliases = ("hard_swish",)
    uses_input = True

    def forward(self, x, out):
        h = np.clip(x + 3, 0, 6) / 6
        return np.multiply(x, h, out=out)

    def backward(self, dy, x, y):
        h = np.clip(x + 3, 0, 6) / 6
        dy *= h + x * (((x > -3) & (x < 3)) / 6)
        return dy


@_register
class Exponential(ActivationFunction):
    """y = exp(x)"""

    name = "exponential"

    def forward(self, x, out):
        return np.exp(x, out=out)

    def backward(self, dy, x, y):
        dy *= y
        return dy


class FunctionActivation(ActivationFunction):
    """A user's function ``y = fn(x)`` as an activation: forward only (nnrun does not know its derivative)."""

    uses_input = True

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)

    def forward(self, x, out):
        out[...] = np.asarray(self.fn(x))
        return out

    def backward(self, dy, x, y):
        raise InvalidArgumentError(
            f"Activation {self.name!r} is a function nnrun has no derivative for, so it cannot be trained through "
            f"(predict and evaluate work). Use one of: {', '.join(ACTIVATIONS.names())}"
        )


def get(identifier: str | ActivationFunction | Callable[..., Any] | None) -> ActivationFunction:
    """The activation for a name (any case, with or without underscores), an activation such as
    ``activations.relu`` (returned as is), any other function (forward only), or None (linear)."""
    if identifier is None:
        return ACTIVATIONS.get("linear")
    if isinstance(identifier, ActivationFunction):
        return identifier
    if callable(identifier) and not isinstance(identifier, str):
        return FunctionActivation(identifier)
    return ACTIVATIONS.get(identifier, "activation")


def serialize(activation: ActivationFunction) -> str:
    """The name ``get`` turns back into ``activation``."""
    return activation.name


def _public(name: str) -> ActivationFunction:
    """The registered activation itself, so that ``get("relu") is relu`` (Keras's identity)."""
    return ACTIVATIONS.get(name)


linear = _public("linear")
sigmoid = _public("sigmoid")
tanh = _public("tanh")
relu = _public("relu")
relu6 = _public("relu6")
softmax = _public("softmax")
elu = _public("elu")
selu = _public("selu")
leaky_relu = _public("leaky_relu")
gelu = _public("gelu")
softplus = _public("softplus")
softsign = _public("softsign")
silu = _public("silu")
swish = silu
hard_sigmoid = _public("hard_sigmoid")
hard_silu = _public("hard_silu")
hard_swish = hard_silu
exponential = _public("exponential")
