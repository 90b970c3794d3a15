"""Loss values as metrics: the cross-entropies, KL divergence, Poisson and the hinge losses (lower is better)."""

from __future__ import annotations

from typing import Any

from nnrun.engine import losses
from nnrun.engine.metrics.base import METRICS
from nnrun.engine.metrics.regression import LossMetric


@METRICS.register("BinaryCrossentropy", "binary_crossentropy", "bce")
class BinaryCrossentropy(LossMetric):
    """The binary cross-entropy per sample, averaged"""

    loss_class = losses.BinaryCrossentropy
    default_name = "binary_crossentropy"

    def __init__(
        self, name: str | None = None, dtype: Any = None, from_logits: bool = False, label_smoothing: float = 0.0
    ) -> None:
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


@METRICS.register("CategoricalCrossentropy", "categorical_crossentropy")
class CategoricalCrossentropy(LossMetric):
    """The categorical cross-entropy per sample, averaged (one-hot targets)"""

    loss_class = losses.CategoricalCrossentropy
    default_name = "categorical_crossentropy"

    def __init__(
        self, name: str | None = None, dtype: Any = None, from_logits: bool = False, label_smoothing: float = 0.0
    ) -> None:
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


@METRICS.register("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(LossMetric):
    """The sparse categorical cross-entropy per sample, averaged (class-index targets)"""

    loss_class = losses.SparseCategoricalCrossentropy
    default_name = "sparse_categorical_crossentropy"
    sparse = True

    def __init__(self, name: str | None = None, dtype: Any = None, from_logits: bool = False) -> None:
        super().__init__(name, dtype, from_logits=from_logits)


def _simple(cls_name: str, loss_class: type[losses.Loss], default_name: str, *aliases: str) -> type[LossMetric]:
    cls = type(cls_name, (LossMetric,), {"loss_class": loss_class, "default_name": default_name,
                                         "__doc__": f"{loss_class.__name__}'s per-sample values, averaged",
                                         "__module__": __name__})
    return METRICS.register(cls_name, default_name, *aliases)(cls)


KLDivergence = _simple("KLDivergence", losses.KLDivergence, "kl_divergence", "kld")
Poisson = _simple("Poisson", losses.Poisson, "poisson")
Hinge = _simple("Hinge", losses.Hinge, "hinge")
SquaredHinge = _simple("SquaredHinge", losses.SquaredHinge, "squared_hinge")
CategoricalHinge = _simple("CategoricalHinge", losses.CategoricalHinge, "categorical_hinge")
