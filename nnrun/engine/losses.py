"""Losses with Keras's formulas, clipping, rank rules and reduction, each with its gradient.

A :class:`Loss` computes per-sample values (``call``) and their gradient with respect to the model
output (``grad``). The probability losses also give the gradient with respect to the logits of the
output activation they pair with (``grad_logits``: softmax for the categorical losses, sigmoid for
binary cross-entropy), which the model uses for a softmax/sigmoid output layer: it is the same
derivative, computed in one stable step.

Reduction ``"sum_over_batch_size"`` (the default) is ``Σ values·w / n`` (n, not Σw).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.backend import epsilon
from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

LOSSES: Registry[type[Loss]] = Registry("loss")

REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None)


class Loss:
    """Base class. ``fused_activation`` names the output activation ``grad_logits`` pairs with."""

    fused_activation: str | None = None
    sparse = False  # targets are class indices

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        if reduction not in REDUCTIONS:
            raise InvalidArgumentError(
                f"Invalid value for argument reduction: expected one of {REDUCTIONS}. Received: reduction={reduction!r}"
            )
        self.reduction = reduction
        self.name = name or _default_name(type(self))

    # -- public API (Keras): loss(y_true, y_pred, sample_weight) -> scalar ------------------------

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_pred = np.asarray(y_pred)
        if not np.issubdtype(y_pred.dtype, np.floating):
            y_pred = y_pred.astype(np.float32)
        y_true = self.prepare_targets(np.asarray(y_true), y_pred.shape, y_pred.dtype)
        values = self.call(y_true, y_pred)
        if sample_weight is not None:
            values = values * prepare_sample_weight(sample_weight, values.shape[0], values.dtype)
        return reduce_values(values, self.reduction, sample_weight)

    # -- what subclasses implement ---------------------------------------------------------------

    def prepare_targets(self, y: np.ndarray, pred_shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Cast targets to the output dtype and reconcile ranks with the predictions (Keras rule)."""
        y = y.astype(dtype, copy=False)
        if y.ndim == len(pred_shape) - 1 and pred_shape[-1] == 1:
            y = y.reshape(*y.shape, 1)
        elif y.ndim == len(pred_shape) + 1 and y.shape[-1] == 1:
            y = y.reshape(y.shape[:-1])
        return y

    def call(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Per-sample loss values, shape (n,)."""
        raise NotImplementedError

    def grad(self, y: np.ndarray, p: np.ndarray, scale: Any) -> np.ndarray:
        """dL/dp where L = Σ_i scale_i·values_i; ``scale`` is a scalar or an (n, 1) column."""
        raise NotImplementedError

    def grad_logits(self, y: np.ndarray, p: np.ndarray, scale: Any) -> np.ndarray:
        """dL/dz for p = fused_activation(z)."""
        raise NotImplementedError(f"{type(self).__name__} has no fused activation gradient")

    def value_and_grad(self, y: np.ndarray, p: np.ndarray, scale: Any, fused: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample values and the gradient (w.r.t. the logits when ``fused``), for one training step."""
        return self.call(y, p), (self.grad_logits if fused else self.grad)(y, p, scale)

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _default_name(cls: type) -> str:
    from nnrun.engine.naming import to_snake_case

    return to_snake_case(cls.__name__)


def prepare_sample_weight(sample_weight: Any, n: int, dtype: Any) -> np.ndarray:
    """Sample weights as a float vector of length n (a trailing size-1 axis is squeezed)."""
    w = np.asarray(sample_weight, dtype=dtype)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise InvalidArgumentError(
            f"sample_weight must have one value per sample, shape ({n},). Received: shape {w.shape}"
        )
    return w


def reduce_values(values: np.ndarray, reduction: str | None, sample_weight: Any = None) -> Any:
    """Keras's reduce step over per-sample values already multiplied by their weights."""
    if reduction in (None, "none") or values.shape == (0,):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = np.asarray(sample_weight, values.dtype).sum()
    else:
        divisor = values.dtype.type(values.size)
    return total / divisor if divisor != 0 else values.dtype.type(0)


def _mean_last(e: np.ndarray) -> np.ndarray:
    """mean over the last axis (sum, then divide, as Keras's ops.mean), without np.mean's overhead."""
    c = e.shape[-1]
    if c == 1:
        return e.reshape(e.shape[:-1])
    out = np.add.reduce(e, axis=-1)
    out /= c
    return out


_BOUNDS: dict[Any, tuple[Any, Any]] = {}


def _clip_bounds(dtype: Any) -> tuple[Any, Any]:
    """(ε, 1 − ε) in ``dtype`` (1 − ε rounds to 0.99999988 in float32)."""
    bounds = _BOUNDS.get(dtype)
    if bounds is None:
        eps = epsilon()
        bounds = _BOUNDS[dtype] = (dtype.type(eps), dtype.type(1.0 - eps))
    return bounds


def _clip_probs(p: np.ndarray) -> np.ndarray:
    """clip(p, ε, 1 − ε) into a new array."""
    lo, hi = _clip_bounds(p.dtype)
    q = np.maximum(p, lo)
    return np.minimum(q, hi, out=q)


_ROWS: dict[int, np.ndarray] = {}


def _rows(n: int) -> np.ndarray:
    """``np.arange(n)``, cached (the row index of every batch)."""
    rows = _ROWS.get(n)
    if rows is None:
        if len(_ROWS) > 32:
            _ROWS.clear()
        rows = _ROWS[n] = np.arange(n)
    return rows


def _check_bool(cls: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{cls} {name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def _check_smoothing(cls: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidArgumentError(f"{cls} label_smoothing must be in [0, 1]. Received: label_smoothing={value!r}")
    return float(value)


# -- binary cross-entropy ----------------------------------------------------------------------


@LOSSES.register("BinaryCrossentropy", "binary_crossentropy", "bce")
class BinaryCrossentropy(Loss):
    """−(y·log q + (1−y)·log(1−q)), q = clip(p, ε, 1−ε), averaged over the last axis."""

    fused_activation = "sigmoid"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "binary_crossentropy",
    ) -> None:
        super().__init__(reduction, name)
        self.from_logits = _check_bool("BinaryCrossentropy", "from_logits", from_logits)
        self.label_smoothing = _check_smoothing("BinaryCrossentropy", label_smoothing)
        if self.from_logits:
            self.fused_activation = None

    def _smooth(self, y):
        ls = self.label_smoothing
        return y * (1.0 - ls) + 0.5 * ls if ls else y

    def call(self, y, p):
        if self.label_smoothing:
            y = self._smooth(y)
        if self.from_logits:
            # −y·log σ(z) − (1−y)·log σ(−z), with log σ(z) = −logaddexp(0, −z)
            e = y * np.logaddexp(0, -p) + (1.0 - y) * np.logaddexp(0, p)
        else:
            e = _binary_crossentropy(y, _clip_probs(p))
        return _mean_last(e)

    def value_and_grad(self, y, p, scale, fused):
        if not fused:
            return super().value_and_grad(y, p, scale, fused)
        # one pass for a sigmoid output: the clipped probabilities serve the value and the gradient mask
        if self.label_smoothing:
            y = self._smooth(y)
        q = _clip_probs(p)
        g = np.subtract(p, y)  # dL/dz = (p − y) where the clip lets it through
        g *= np.equal(q, p)
        g *= scale / p.shape[-1] if p.shape[-1] != 1 else scale
        return _mean_last(_binary_crossentropy(y, q)), g

    def grad(self, y, p, scale):
        y = self._smooth(y)
        c = p.shape[-1]
        if self.from_logits:
            return (_sigmoid(p) - y) * (scale / c)
        eps = epsilon()
        q = _clip_probs(p)
        g = (q - y) / (q * (1.0 - q))
        g *= (p >= eps) & (p <= 1.0 - eps)
        return g * (scale / c)

    def grad_logits(self, y, p, scale):
        # d/dz of the clipped loss for p = σ(z): (p − y) where ε ≤ p ≤ 1−ε, else 0
        if self.label_smoothing:
            y = self._smooth(y)
        lo, hi = _clip_bounds(p.dtype)
        g = p - y
        g *= (p >= lo) & (p <= hi)
        g *= scale / p.shape[-1] if p.shape[-1] != 1 else scale
        return g

    def get_config(self):
        return {
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            **super().get_config(),
        }


def _binary_crossentropy(y: np.ndarray, q: np.ndarray) -> np.ndarray:
    """−(y·log q + (1−y)·log(1−q)) elementwise, in Keras's order of operations (q is clipped; reused)."""
    e = np.log(q)
    e *= y
    np.subtract(1.0, q, out=q)
    np.log(q, out=q)
    q *= 1.0 - y
    e += q
    return np.negative(e, out=e)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# -- categorical cross-entropy -----------------------------------------------------------------


@LOSSES.register("CategoricalCrossentropy", "categorical_crossentropy", "cce")
class CategoricalCrossentropy(Loss):
    """−Σ y·log q over classes, q = clip(p / Σp, ε, 1−ε); one-hot (or soft) targets."""

    fused_activation = "softmax"

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "categorical_crossentropy",
    ) -> None:
        super().__init__(reduction, name)
        self.from_logits = _check_bool("CategoricalCrossentropy", "from_logits", from_logits)
        self.label_smoothing = _check_smoothing("CategoricalCrossentropy", label_smoothing)
        if self.from_logits:
            self.fused_activation = None

    def _smooth(self, y):
        ls = self.label_smoothing
        return y * (1.0 - ls) + ls / y.shape[-1] if ls else y

    def call(self, y, p):
        y = self._smooth(y)
        if self.from_logits:
            return np.negative(np.add.reduce(y * _log_softmax(p), axis=-1))
        q = _clip_probs(p / np.add.reduce(p, axis=-1, keepdims=True))
        np.log(q, out=q)
        q *= y
        return np.negative(np.add.reduce(q, axis=-1))

    def grad(self, y, p, scale):
        y = self._smooth(y)
        if self.from_logits:
            return (_softmax(p) * y.sum(axis=-1, keepdims=True) - y) * scale
        eps = epsilon()
        s = p.sum(axis=-1, keepdims=True)
        r = p / s
        q = _clip_probs(r)
        gq = -y / q * ((r >= eps) & (r <= 1.0 - eps))
        # through the renormalisation r = p / Σp
        g = (gq - (gq * r).sum(axis=-1, keepdims=True)) / s
        return g * scale

    def grad_logits(self, y, p, scale):
        # d/dz for p = softmax(z): p·Σ(y·m) − y·m, m = 1 where the clip lets the gradient through
        y = self._smooth(y)
        eps = epsilon()
        ym = y * ((p >= eps) & (p <= 1.0 - eps))
        g = p * ym.sum(axis=-1, keepdims=True)
        g -= ym
        g *= scale
        return g

    def get_config(self):
        return {
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            **super().get_config(),
        }


@LOSSES.register("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy", "scce")
class SparseCategoricalCrossentropy(Loss):
    """−log q[y], q = clip(p / Σp, ε, 1−ε); integer class targets of shape (n,) or (n, 1)."""

    fused_activation = "softmax"
    sparse = True

    def __init__(
        self,
        from_logits: bool = False,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "sparse_categorical_crossentropy",
    ) -> None:
        super().__init__(reduction, name)
        self.from_logits = _check_bool("SparseCategoricalCrossentropy", "from_logits", from_logits)
        if self.from_logits:
            self.fused_activation = None

    def prepare_targets(self, y, pred_shape, dtype):
        if y.ndim == len(pred_shape) and y.shape[-1] == 1:
            y = y.reshape(y.shape[:-1])
        return y.astype(np.intp, copy=False)

    def call(self, y, p):
        rows = _rows(p.shape[0])
        if self.from_logits:
            return -_log_softmax(p)[rows, y]
        q = _clip_probs(p[rows, y] / np.add.reduce(p, axis=-1))
        return np.negative(np.log(q, out=q), out=q)

    def grad(self, y, p, scale):
        rows = np.arange(p.shape[0])
        if self.from_logits:
            g = _softmax(p)
            g[rows, y] -= 1.0
            return g * scale
        onehot = np.zeros_like(p)
        onehot[rows, y] = 1.0
        return CategoricalCrossentropy.grad(self, onehot, p, scale)  # type: ignore[arg-type]

    def grad_logits(self, y, p, scale):
        return self.value_and_grad(y, p, scale, fused=True)[1]

    def value_and_grad(self, y, p, scale, fused):
        if not fused:
            return super().value_and_grad(y, p, scale, fused)
        # value: −log q, q = clip(p[y] / Σp); gradient w.r.t. the logits of a softmax: (p − onehot)·m,
        # m = 1 where the clip lets the gradient through (it is 0 for a saturated row)
        rows = _rows(len(p))
        r = p[rows, y]
        r /= np.add.reduce(p, axis=-1)
        q = _clip_probs(r)
        m = np.equal(q, r)
        values = np.negative(np.log(q, out=q), out=q)
        if isinstance(scale, np.ndarray):
            g = p * scale
            g[rows, y] -= scale[:, 0]
        else:
            g = p * scale
            g[rows, y] -= scale
        if not m.all():
            g[~m] = 0
        return values, g

    def _smooth(self, y):
        return y

    def get_config(self):
        return {"from_logits": self.from_logits, **super().get_config()}


# -- regression losses -------------------------------------------------------------------------


@LOSSES.register("MeanSquaredError", "mean_squared_error", "mse")
class MeanSquaredError(Loss):
    """mean((y − p)², axis=-1)"""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_squared_error"):
        super().__init__(reduction, name)

    def call(self, y, p):
        d = y - p
        return _mean_last(np.square(d, out=d))

    def grad(self, y, p, scale):
        g = p - y
        g *= scale * (2.0 / p.shape[-1])
        return g


@LOSSES.register("MeanAbsoluteError", "mean_absolute_error", "mae")
class MeanAbsoluteError(Loss):
    """mean(|y − p|, axis=-1)"""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "mean_absolute_error"):
        super().__init__(reduction, name)

    def call(self, y, p):
        d = y - p
        return _mean_last(np.abs(d, out=d))

    def grad(self, y, p, scale):
        return np.sign(p - y) * (scale / p.shape[-1])


@LOSSES.register("Huber", "huber")
class Huber(Loss):
    """e = p − y: 0.5·e² where |e| ≤ δ, else δ·|e| − 0.5·δ²; mean over the last axis."""

    def __init__(
        self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str | None = "huber_loss"
    ) -> None:
        super().__init__(reduction, name)
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or delta <= 0:
            raise InvalidArgumentError(f"Huber delta must be a positive number. Received: delta={delta!r}")
        self.delta = float(delta)

    def call(self, y, p):
        e = p - y
        a = np.abs(e)
        d = self.delta
        return _mean_last(np.where(a <= d, 0.5 * np.square(e), d * a - 0.5 * d * d))

    def grad(self, y, p, scale):
        e = p - y
        g = np.where(np.abs(e) <= self.delta, e, self.delta * np.sign(e))
        return g * (scale / p.shape[-1])

    def get_config(self):
        return {"delta": self.delta, **super().get_config()}


def get(identifier: str | Loss | dict[str, Any] | None, argument: str = "loss") -> Loss:
    """A loss from a name (``"mse"``, ``"binary_crossentropy"``, ``"BinaryCrossentropy"``, ...),
    a config dict or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    if identifier is None:
        raise InvalidArgumentError(
            f"A loss is required. Expected one of: {', '.join(LOSSES.names())}. Received: {argument}=None"
        )
    if isinstance(identifier, dict):
        return LOSSES.get(identifier.get("class_name", ""), argument).from_config(identifier.get("config", {}))
    return LOSSES.get(identifier, argument)()


def serialize(loss: Loss) -> dict[str, Any]:
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def _function(cls: type[Loss], doc_name: str):
    def fn(y_true: Any, y_pred: Any, **kwargs: Any) -> np.ndarray:
        loss = cls(reduction="none", **kwargs)
        return loss(y_true, y_pred)

    fn.__name__ = doc_name
    fn.__doc__ = f"Per-sample {doc_name} (reduction 'none'). {cls.__doc__}"
    return fn


binary_crossentropy = _function(BinaryCrossentropy, "binary_crossentropy")
categorical_crossentropy = _function(CategoricalCrossentropy, "categorical_crossentropy")
sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy, "sparse_categorical_crossentropy")
mean_squared_error = mse = _function(MeanSquaredError, "mean_squared_error")
mean_absolute_error = mae = _function(MeanAbsoluteError, "mean_absolute_error")
huber = _function(Huber, "huber")
