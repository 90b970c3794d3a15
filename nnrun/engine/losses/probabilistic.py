"""The probability losses: binary, categorical and sparse categorical cross-entropy, KL divergence, Poisson."""

from __future__ import annotations

import numpy as np

from nnrun.engine.backend import epsilon
from nnrun.engine.losses.base import (
    LOSSES,
    Loss,
    check_bool,
    check_smoothing,
    clip_bounds,
    clip_probs,
    mean_last,
    rows,
)
from nnrun.errors import InvalidArgumentError

# -- binary cross-entropy ----------------------------------------------------------------------


@LOSSES.register("BinaryCrossentropy", "binary_crossentropy", "bce")
class BinaryCrossentropy(Loss):
    """−(y·log q + (1−y)·log(1−q)), q = clip(p, ε, 1−ε), averaged over the last axis."""

    fused_activation = "sigmoid"
    same_shape = True

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "binary_crossentropy",
    ) -> None:
        super().__init__(reduction, name)
        self.from_logits = check_bool("BinaryCrossentropy", "from_logits", from_logits)
        self.label_smoothing = check_smoothing("BinaryCrossentropy", label_smoothing)
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
            e = _binary_crossentropy(y, clip_probs(p))
        return mean_last(e)

    def value_and_grad(self, y, p, scale, fused):
        if not fused:
            return super().value_and_grad(y, p, scale, fused)
        # one pass for a sigmoid output: the clipped probabilities serve the value and the gradient mask
        if self.label_smoothing:
            y = self._smooth(y)
        q = clip_probs(p)
        g = np.subtract(p, y)  # dL/dz = (p − y) where the clip lets it through
        g *= np.equal(q, p)
        g *= scale / p.shape[-1] if p.shape[-1] != 1 else scale
        return mean_last(_binary_crossentropy(y, q)), g

    def grad(self, y, p, scale):
        y = self._smooth(y)
        c = p.shape[-1]
        if self.from_logits:
            return (_sigmoid(p) - y) * (scale / c)
        eps = epsilon()
        q = clip_probs(p)
        g = (q - y) / (q * (1.0 - q))
        g *= (p >= eps) & (p <= 1.0 - eps)
        return g * (scale / c)

    def grad_logits(self, y, p, scale):
        # d/dz of the clipped loss for p = σ(z): (p − y) where ε ≤ p ≤ 1−ε, else 0
        if self.label_smoothing:
            y = self._smooth(y)
        lo, hi = clip_bounds(p.dtype)
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


def _flat_scale(scale, p: np.ndarray):
    """A per-sample scale (n, 1) of a rank-k output as one row per position, (n·…, 1)."""
    if not isinstance(scale, np.ndarray):
        return scale
    return np.broadcast_to(scale.reshape(scale.shape[0], *([1] * (p.ndim - 1))), (*p.shape[:-1], 1)).reshape(-1, 1)


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
    same_shape = True

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = "categorical_crossentropy",
    ) -> None:
        super().__init__(reduction, name)
        self.from_logits = check_bool("CategoricalCrossentropy", "from_logits", from_logits)
        self.label_smoothing = check_smoothing("CategoricalCrossentropy", label_smoothing)
        if self.from_logits:
            self.fused_activation = None

    def _smooth(self, y):
        ls = self.label_smoothing
        return y * (1.0 - ls) + ls / y.shape[-1] if ls else y

    def call(self, y, p):
        y = self._smooth(y)
        if self.from_logits:
            return np.negative(np.add.reduce(y * _log_softmax(p), axis=-1))
        q = clip_probs(p / np.add.reduce(p, axis=-1, keepdims=True))
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
        q = clip_probs(r)
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
        self.from_logits = check_bool("SparseCategoricalCrossentropy", "from_logits", from_logits)
        if self.from_logits:
            self.fused_activation = None

    same_shape = True

    def check_shapes(self, true_shape, pred_shape):
        shape = tuple(true_shape)
        if len(shape) == len(pred_shape) and shape[-1:] == (1,):
            shape = shape[:-1]
        if shape != tuple(pred_shape[:-1]):
            raise InvalidArgumentError(
                f"SparseCategoricalCrossentropy: y_true must hold one class index per prediction, shape "
                f"{tuple(pred_shape[:-1])} (or with a trailing 1). Received: y_true.shape={tuple(true_shape)}, "
                f"y_pred.shape={tuple(pred_shape)}"
            )

    def prepare_targets(self, y, pred_shape, dtype):
        if y.ndim == len(pred_shape) and y.shape[-1] == 1:
            y = y.reshape(y.shape[:-1])
        return y.astype(np.intp, copy=False)

    def call(self, y, p):
        if p.ndim > 2:  # (n, ..., classes): one value per position
            return self.call(y.reshape(-1), p.reshape(-1, p.shape[-1])).reshape(p.shape[:-1])
        r = rows(p.shape[0])
        if self.from_logits:
            return -_log_softmax(p)[r, y]
        q = clip_probs(p[r, y] / np.add.reduce(p, axis=-1))
        return np.negative(np.log(q, out=q), out=q)

    def grad(self, y, p, scale):
        if p.ndim > 2:
            return self.grad(y.reshape(-1), p.reshape(-1, p.shape[-1]), _flat_scale(scale, p)).reshape(p.shape)
        r = rows(p.shape[0])
        if self.from_logits:
            g = _softmax(p)
            g[r, y] -= 1.0
            return g * scale
        onehot = np.zeros_like(p)
        onehot[r, y] = 1.0
        return CategoricalCrossentropy.grad(self, onehot, p, scale)  # type: ignore[arg-type]

    def grad_logits(self, y, p, scale):
        return self.value_and_grad(y, p, scale, fused=True)[1]

    def value_and_grad(self, y, p, scale, fused):
        if not fused:
            return super().value_and_grad(y, p, scale, fused)
        if p.ndim > 2:
            values, g = self.value_and_grad(y.reshape(-1), p.reshape(-1, p.shape[-1]), _flat_scale(scale, p), fused)
            return values.reshape(p.shape[:-1]), g.reshape(p.shape)
        # value: −log q, q = clip(p[y] / Σp); gradient w.r.t. the logits of a softmax: (p − onehot)·m,
        # m = 1 where the clip lets the gradient through (it is 0 for a saturated row)
        r = rows(len(p))
        q = p[r, y]
        q /= np.add.reduce(p, axis=-1)
        q, m = clip_probs(q), q
        m = np.equal(q, m)
        values = np.negative(np.log(q, out=q), out=q)
        g = p * scale
        g[r, y] -= scale[:, 0] if isinstance(scale, np.ndarray) else scale
        if not m.all():
            g[~m] = 0
        return values, g

    def _smooth(self, y):
        return y

    def get_config(self):
        return {"from_logits": self.from_logits, **super().get_config()}



# -- distributions -----------------------------------------------------------------------------


@LOSSES.register("KLDivergence", "kl_divergence", "kld", "kullback_leibler_divergence")
class KLDivergence(Loss):
    """Σ yₜ·log(yₜ / pₜ) over the last axis, yₜ = clip(y, ε, 1), pₜ = clip(p, ε, 1)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "kl_divergence") -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        eps = epsilon()
        t = np.clip(y, eps, 1)
        return np.add.reduce(t * np.log(t / np.clip(p, eps, 1)), axis=-1)

    def grad(self, y, p, scale):
        eps = epsilon()
        g = -np.clip(y, eps, 1) / np.clip(p, eps, 1)
        g *= (p >= eps) & (p <= 1)  # the clip is flat outside [ε, 1]
        return g * scale


@LOSSES.register("Poisson", "poisson")
class Poisson(Loss):
    """mean(p − y·log(p + ε), axis=-1)"""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = "poisson") -> None:
        super().__init__(reduction, name)

    def call(self, y, p):
        return mean_last(p - y * np.log(p + p.dtype.type(epsilon())))

    def grad(self, y, p, scale):
        g = 1.0 - y / (p + p.dtype.type(epsilon()))
        return g * (scale / p.shape[-1])
