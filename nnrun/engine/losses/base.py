"""The loss base class, Keras's rank rule, sample weights and reductions.

A :class:`Loss` computes per-sample values (``call``) and their gradient with respect to the model
output (``grad``). The probability losses also give the gradient with respect to the logits of the
output activation they pair with (``grad_logits``: softmax for the categorical losses, sigmoid for
binary cross-entropy), which the model uses for a softmax/sigmoid output layer: it is the same
derivative, computed in one stable step.

Reduction ``"sum_over_batch_size"`` (the default) is ``Σ values·w / values.size`` (not Σw).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.backend import epsilon, floatx
from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError

LOSSES: Registry[type[Loss]] = Registry("loss")

REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "mean_with_sample_weight", "none", None)


class Loss:
    """Base class. ``fused_activation`` names the output activation ``grad_logits`` pairs with."""

    fused_activation: str | None = None
    sparse = False  # targets are class indices
    same_shape = False  # y_true and y_pred must have the same shape (the cross-entropies)

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None) -> None:
        if reduction not in REDUCTIONS:
            raise InvalidArgumentError(
                f"Invalid value for argument reduction: expected one of {REDUCTIONS}. Received: reduction={reduction!r}"
            )
        self.reduction = reduction
        self.name = name or _default_name(type(self))

    # -- public API (Keras): loss(y_true, y_pred, sample_weight) -> scalar ------------------------

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """Keras's ``Loss.__call__``: inputs cast to floatx, values weighted, then reduced."""
        dtype = np.dtype(floatx())
        y_pred = np.asarray(y_pred, dtype=dtype)
        y_true = np.asarray(y_true)
        if self.same_shape:
            self.check_shapes(y_true.shape, y_pred.shape)
        y_true = self.prepare_targets(y_true, y_pred.shape, dtype)
        values = np.asarray(self.call(y_true, y_pred), dtype=dtype)
        w = None
        if sample_weight is not None:
            values, w = weight_values(values, sample_weight, dtype)
        return reduce_values(values, self.reduction, w)

    # -- what subclasses implement ---------------------------------------------------------------

    def check_shapes(self, true_shape: tuple[int, ...], pred_shape: tuple[int, ...]) -> None:
        """Keras's check in ``ops.binary_crossentropy`` / ``ops.categorical_crossentropy``."""
        shape = tuple(true_shape)
        if len(shape) == len(pred_shape) - 1 and pred_shape[-1] == 1:
            shape = (*shape, 1)  # (n,) labels for an (n, 1) output: the rank rule expands them
        if shape != tuple(pred_shape):
            raise InvalidArgumentError(
                f"{type(self).__name__}: y_true and y_pred must have the same shape. "
                f"Received: y_true.shape={tuple(true_shape)}, y_pred.shape={tuple(pred_shape)}"
            )

    def prepare_targets(self, y: np.ndarray, pred_shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Cast targets to the output dtype and reconcile ranks with the predictions (Keras rule)."""
        y = y.astype(dtype, copy=False)
        if y.ndim == len(pred_shape) - 1 and pred_shape[-1] == 1:
            y = y.reshape(*y.shape, 1)
        elif y.ndim == len(pred_shape) + 1 and y.shape[-1] == 1:
            y = y.reshape(y.shape[:-1])
        return y

    def call(self, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Per-sample loss values, shape ``p.shape[:-1]``."""
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


def squeeze_or_expand_to_same_rank(
    x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Keras's rule: when the ranks differ by one and the longer ends in 1, squeeze it (or expand a rank-1 partner)."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2.reshape(*x2.shape, 1)
        else:
            x1 = x1.reshape(x1.shape[:-1])
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1.reshape(*x1.shape, 1)
        else:
            x2 = x2.reshape(x2.shape[:-1])
    return x1, x2


def weight_values(values: np.ndarray, sample_weight: Any, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """``values · sample_weight`` after Keras's rank rule: a scalar, one weight per sample, or one per
    element of ``values`` (timestep weights) all work; returns (weighted values, the weights)."""
    w = np.asarray(sample_weight, dtype=dtype)
    values, w = squeeze_or_expand_to_same_rank(values, w)
    try:
        weighted = values * w
    except ValueError:
        raise InvalidArgumentError(
            f"sample_weight of shape {w.shape} does not broadcast to the loss values of shape {values.shape} "
            "(one weight per sample, per element, or a scalar)"
        ) from None
    return weighted, w


def prepare_sample_weight(sample_weight: Any, n: int, dtype: Any) -> np.ndarray:
    """Sample weights for ``fit``: a float vector of length n (a trailing size-1 axis is squeezed)."""
    w = np.asarray(sample_weight, dtype=dtype)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.shape != (n,):
        raise InvalidArgumentError(
            f"sample_weight must have one value per sample, shape ({n},). Received: shape {w.shape}"
        )
    return w


def reduce_values(values: np.ndarray, reduction: str | None, sample_weight: Any = None) -> Any:
    """Keras's reduce step over values already multiplied by their weights."""
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = np.asarray(sample_weight, values.dtype).sum()
    else:
        divisor = values.dtype.type(values.size)
    return total / divisor if divisor != 0 else values.dtype.type(0)


def mean_last(e: np.ndarray) -> np.ndarray:
    """mean over the last axis (sum, then divide, as Keras's ops.mean), without np.mean's overhead."""
    c = e.shape[-1]
    if c == 1:
        return e.reshape(e.shape[:-1])
    out = np.add.reduce(e, axis=-1)
    out /= c
    return out


_BOUNDS: dict[Any, tuple[Any, Any]] = {}


def clip_bounds(dtype: Any) -> tuple[Any, Any]:
    """(ε, 1 − ε) in ``dtype`` (1 − ε rounds to 0.99999988 in float32)."""
    bounds = _BOUNDS.get(dtype)
    if bounds is None:
        eps = epsilon()
        bounds = _BOUNDS[dtype] = (dtype.type(eps), dtype.type(1.0 - eps))
    return bounds


def clip_probs(p: np.ndarray) -> np.ndarray:
    """clip(p, ε, 1 − ε) into a new array."""
    lo, hi = clip_bounds(p.dtype)
    q = np.maximum(p, lo)
    return np.minimum(q, hi, out=q)


_ROWS: dict[int, np.ndarray] = {}


def rows(n: int) -> np.ndarray:
    """``np.arange(n)``, cached (the row index of every batch)."""
    r = _ROWS.get(n)
    if r is None:
        if len(_ROWS) > 32:
            _ROWS.clear()
        r = _ROWS[n] = np.arange(n)
    return r


def check_bool(cls: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{cls} {name} must be True or False. Received: {name}={value!r}")
    return bool(value)


def check_smoothing(cls: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidArgumentError(f"{cls} label_smoothing must be in [0, 1]. Received: label_smoothing={value!r}")
    return float(value)
