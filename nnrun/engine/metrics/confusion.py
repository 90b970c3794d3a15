"""Confusion-matrix metrics: TruePositives … FalseNegatives, Precision, Recall and AUC, as Keras counts them.

A prediction is positive above a threshold (``p > t``); a target is positive when it is non-zero. For
evenly spaced thresholds (AUC's default) Keras counts by buckets, ``ceil(p·(T − 1)) − 1`` on p clipped to
[0, 1]; nnrun does the same, so the counts agree at every threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.backend import epsilon
from nnrun.engine.losses.base import squeeze_or_expand_to_same_rank
from nnrun.engine.metrics.base import METRICS, Metric, divide_no_nan
from nnrun.errors import InvalidArgumentError

NEG_INF = -1e10
CONDITIONS = ("tp", "fp", "tn", "fn")


def parse_thresholds(thresholds: Any, default: float, where: str) -> list[float]:
    """A list of thresholds in [0, 1] (one number is a list of one)."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or isinstance(t, bool) or not isinstance(t, (int, float, np.number))
           or not 0 <= t <= 1]
    if bad or not values:
        raise InvalidArgumentError(f"{where} thresholds must be numbers in [0, 1]. Received: thresholds={thresholds!r}")
    return [float(t) for t in values]


def evenly_distributed(thresholds: Any) -> bool:
    t = np.asarray(thresholds, dtype=np.float64)
    if len(t) < 3:
        return False
    even = np.arange(len(t), dtype=np.float32) / (len(t) - 1)
    return bool(np.allclose(t, even, atol=epsilon()))


def _filter_top_k(x: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest scores of each row (the first on ties); the others become −1e10."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros_like(x)
    np.put_along_axis(mask, idx, 1, axis=-1)
    return x * mask + NEG_INF * (1 - mask)


def confusion_counts(
    conditions: tuple[str, ...],
    y_true: Any,
    y_pred: Any,
    thresholds: np.ndarray,
    dtype: np.dtype,
    evenly: bool = False,
    top_k: int | None = None,
    class_id: int | None = None,
    sample_weight: Any = None,
    multi_label: bool = False,
    label_weights: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The weighted counts of each condition at each threshold: shape (T,), or (T, labels) if ``multi_label``."""
    y_true = np.asarray(y_true).astype(dtype)
    y_pred = np.asarray(y_pred).astype(dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=dtype)[..., None]
        _, w = squeeze_or_expand_to_same_rank(y_true, w, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise InvalidArgumentError(
                "When class_id is provided, y_pred must be a 2D array with shape (num_samples, num_classes). "
                f"Received: y_pred.shape={y_pred.shape}"
            )
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    try:
        w = np.ones_like(y_pred) if w is None else np.broadcast_to(w, y_pred.shape)
    except ValueError:
        raise InvalidArgumentError(
            f"sample_weight of shape {np.shape(sample_weight)} does not broadcast to y_pred of shape {y_pred.shape}"
        ) from None
    if label_weights is not None:
        w = w * np.broadcast_to(label_weights, y_pred.shape)
    positive = y_true.astype(bool)
    if multi_label:  # (n, labels): one column per label
        pos_w = (positive * w).reshape(-1, y_pred.shape[-1])
        neg_w = (~positive * w).reshape(-1, y_pred.shape[-1])
        p = y_pred.reshape(-1, y_pred.shape[-1])
    else:
        pos_w, neg_w, p = (positive * w).reshape(-1, 1), (~positive * w).reshape(-1, 1), y_pred.reshape(-1, 1)
    t = len(thresholds)
    if evenly:
        # bucket b(p) = ceil(p·(T − 1)) − 1 (≥ 0 when the outer thresholds are −ε and 1 + ε); a prediction is
        # above threshold i exactly when its bucket is ≥ i, so the counts are reversed cumulative sums
        with_eps = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        bucket = np.ceil(np.clip(p, 0.0, 1.0) * dtype.type(t - 1)) - 1
        if with_eps:
            bucket = np.maximum(bucket, 0)
        bucket = bucket.astype(np.intp)
        valid = bucket >= 0
        tp = np.zeros((t, p.shape[1]), dtype)
        fp = np.zeros((t, p.shape[1]), dtype)
        cols = np.broadcast_to(np.arange(p.shape[1]), p.shape)
        np.add.at(tp, (bucket[valid], cols[valid]), pos_w[valid])
        np.add.at(fp, (bucket[valid], cols[valid]), neg_w[valid])
        tp = np.cumsum(tp[::-1], axis=0, dtype=dtype)[::-1]
        fp = np.cumsum(fp[::-1], axis=0, dtype=dtype)[::-1]
    else:
        above = p[None, :, :] > thresholds.astype(dtype)[:, None, None]  # (T, rows, labels)
        tp = np.where(above, pos_w[None], 0).sum(axis=1, dtype=dtype)
        fp = np.where(above, neg_w[None], 0).sum(axis=1, dtype=dtype)
    counts = {"tp": tp, "fp": fp}
    if "tn" in conditions or "fn" in conditions:
        counts["fn"] = pos_w.sum(axis=0, dtype=dtype) - tp
        counts["tn"] = neg_w.sum(axis=0, dtype=dtype) - fp
    if not multi_label:
        counts = {k: v[:, 0] for k, v in counts.items()}
    return {k: counts[k] for k in conditions}


class _ConfusionCount(Metric):
    """The weighted count of one condition at each threshold (default 0.5)."""

    condition = "tp"
    state = ("accumulator",)

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None) -> None:
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5, type(self).__name__)
        self._evenly = evenly_distributed(self.thresholds)
        super().__init__(name, dtype)

    def reset_state(self) -> None:
        self.accumulator = np.zeros(len(self.thresholds), self.dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        counts = confusion_counts((self.condition,), y_true, y_pred, np.asarray(self.thresholds), self.dtype,
                                  self._evenly, sample_weight=sample_weight)
        self.accumulator = self.accumulator + counts[self.condition]

    def result(self) -> Any:
        return self.accumulator[0] if len(self.thresholds) == 1 else self.accumulator.copy()

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


@METRICS.register("TruePositives", "true_positives")
class TruePositives(_ConfusionCount):
    """Σ weights of the samples with a positive target predicted positive"""

    condition, default_name = "tp", "true_positives"


@METRICS.register("FalsePositives", "false_positives")
class FalsePositives(_ConfusionCount):
    """Σ weights of the samples with a negative target predicted positive"""

    condition, default_name, direction = "fp", "false_positives", "min"


@METRICS.register("TrueNegatives", "true_negatives")
class TrueNegatives(_ConfusionCount):
    """Σ weights of the samples with a negative target predicted negative"""

    condition, default_name = "tn", "true_negatives"


@METRICS.register("FalseNegatives", "false_negatives")
class FalseNegatives(_ConfusionCount):
    """Σ weights of the samples with a positive target predicted negative"""

    condition, default_name, direction = "fn", "false_negatives", "min"


class _PrecisionRecall(Metric):
    """TP / (TP + other) at each threshold; ``top_k`` and ``class_id`` as in Keras."""

    other = "fp"
    state = ("true_positives", "false_positives")

    def __init__(
        self,
        thresholds: Any = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        where = type(self).__name__
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise InvalidArgumentError(f"{where} top_k must be a positive integer or None. Received: top_k={top_k!r}")
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, (int, np.integer))):
            raise InvalidArgumentError(f"{where} class_id must be an integer or None. Received: class_id={class_id!r}")
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF, where)
        self._evenly = evenly_distributed(self.thresholds)
        super().__init__(name, dtype)

    def reset_state(self) -> None:
        for attr in self.state:
            setattr(self, attr, np.zeros(len(self.thresholds), self.dtype))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        counts = confusion_counts(("tp", self.other), y_true, y_pred, np.asarray(self.thresholds), self.dtype,
                                  self._evenly, self.top_k, self.class_id, sample_weight)
        self.true_positives = self.true_positives + counts["tp"]
        other = self.state[1]
        setattr(self, other, getattr(self, other) + counts[self.other])

    def result(self) -> Any:
        r = divide_no_nan(self.true_positives, self.true_positives + getattr(self, self.state[1]))
        return r[0] if len(self.thresholds) == 1 else r

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


@METRICS.register("Precision", "precision")
class Precision(_PrecisionRecall):
    """TP / (TP + FP)"""

    default_name = "precision"


@METRICS.register("Recall", "recall")
class Recall(_PrecisionRecall):
    """TP / (TP + FN)"""

    default_name = "recall"
    other = "fn"
    state = ("true_positives", "false_negatives")


CURVES = ("ROC", "PR", "PRGAIN")
SUMMATIONS = ("interpolation", "majoring", "minoring")


@METRICS.register("AUC", "auc")
class AUC(Metric):
    """Area under the ROC (or PR) curve, a Riemann sum over ``num_thresholds`` thresholds (Keras's method)."""

    default_name = "auc"
    state = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: Any = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        curve_key = curve.upper() if isinstance(curve, str) else curve
        if curve_key not in CURVES:
            raise InvalidArgumentError(f"Invalid AUC curve value: expected one of {CURVES}. Received: curve={curve!r}")
        method = summation_method.lower() if isinstance(summation_method, str) else summation_method
        if method not in SUMMATIONS:
            raise InvalidArgumentError(
                f"Invalid AUC summation_method: expected one of {SUMMATIONS}. Received: "
                f"summation_method={summation_method!r}"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds(thresholds, 0.5, "AUC"))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_distributed([0.0, *inner, 1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                    or num_thresholds <= 1:
                raise InvalidArgumentError(
                    f"AUC num_thresholds must be an integer > 1. Received: num_thresholds={num_thresholds!r}"
                )
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - epsilon(), *inner, 1.0 + epsilon()])
        self.curve, self.summation_method = curve_key, method
        if multi_label is False and num_labels:
            raise InvalidArgumentError("AUC num_labels is needed only when multi_label is True.")
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self._from_logits = bool(from_logits)
        self._labels = num_labels if multi_label else None
        super().__init__(name, dtype)
        self.label_weights = None if label_weights is None else np.asarray(label_weights, self.dtype)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def _shape(self) -> tuple[int, ...]:
        return (self.num_thresholds, self._labels) if self.multi_label else (self.num_thresholds,)

    def reset_state(self) -> None:
        if self.multi_label and self._labels is None:  # built on the first batch
            for attr in self.state:
                setattr(self, attr, None)
            return
        for attr in self.state:
            setattr(self, attr, np.zeros(self._shape(), self.dtype))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        y_pred = np.asarray(y_pred, dtype=self.dtype)
        if self.multi_label and self._labels is None:
            if y_pred.ndim != 2:
                raise InvalidArgumentError(
                    f"y_pred must have rank 2 when multi_label=True. Received: y_pred.shape={y_pred.shape}"
                )
            self._labels = y_pred.shape[1]
            self.reset_state()
        if self._from_logits:
            y_pred = 1.0 / (1.0 + np.exp(-y_pred))
        counts = confusion_counts(
            CONDITIONS, y_true, y_pred, self._thresholds, self.dtype, self._evenly, sample_weight=sample_weight,
            multi_label=self.multi_label, label_weights=None if self.multi_label else self.label_weights,
        )
        self.true_positives = self.true_positives + counts["tp"]
        self.false_positives = self.false_positives + counts["fp"]
        self.true_negatives = self.true_negatives + counts["tn"]
        self.false_negatives = self.false_negatives + counts["fn"]

    def _by_label(self, terms: np.ndarray) -> Any:
        if not self.multi_label:
            return terms.sum(dtype=self.dtype)
        by_label = terms.sum(axis=0, dtype=self.dtype)
        if self.label_weights is None:
            return by_label.mean(dtype=self.dtype)
        return divide_no_nan((by_label * self.label_weights).sum(), self.label_weights.sum())

    def _interpolate_pr_auc(self) -> Any:
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], np.maximum(p[1:], 0)), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            increment = divide_no_nan(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(np.asarray(increment, self.dtype))

    def result(self) -> Any:
        if self.true_positives is None:
            return self.dtype.type(0)
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scaling = divide_no_nan(tp + fn, tn + fp)
            recall_gain = np.maximum(np.where(tp == 0, 0.0, 1.0 - scaling * divide_no_nan(fn, tp)), 0.0)
            precision_gain = np.where(tp == 0, 1.0, 1.0 - scaling * divide_no_nan(fp, tp))
            x, y = recall_gain, precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._by_label(np.asarray((x[:-1] - x[1:]) * heights, self.dtype))

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self._thresholds[1:-1]]
        return config
