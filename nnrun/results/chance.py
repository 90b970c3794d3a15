"""Chance level: what a classifier scores by guessing, so that a run stuck there is seen as such.

With ``k`` classes, guessing uniformly scores an accuracy of ``1/k`` and a softmax cross-entropy of
``ln k`` (binary cross-entropy: ``ln 2``). A run whose final accuracy is at most ``1/k + CHANCE_MARGIN``
learned nothing worth the name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nnrun.results.metrics import base_name, is_accuracy, is_loss

CHANCE_MARGIN = 0.02  # an accuracy within this of 1/classes is "at chance"
CROSS_ENTROPIES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")


def loss_name(config: Mapping[str, Any]) -> str | None:
    """The config's loss name (``train.loss`` as a name or ``{name: ...}``), lower case; None without one."""
    train = config.get("train") if isinstance(config, Mapping) else None
    loss = train.get("loss") if isinstance(train, Mapping) else None
    loss = loss.get("name") if isinstance(loss, Mapping) else loss
    return loss.lower() if isinstance(loss, str) else None


def classes_of(config: Mapping[str, Any], preprocessing: Mapping[str, Any] | None = None) -> int | None:
    """How many classes a classifier run has: ``preprocessing.json``'s ``n_classes``, else the loss and the
    last layer's units (a binary cross-entropy has 2); None for regression or when nothing says."""
    n = preprocessing.get("n_classes") if isinstance(preprocessing, Mapping) else None
    if isinstance(n, int) and not isinstance(n, bool) and n >= 2:
        return n
    loss = loss_name(config)
    if loss == "binary_crossentropy":
        return 2
    if loss not in CROSS_ENTROPIES:
        return None
    model = config.get("model")
    layers = model.get("layers") if isinstance(model, Mapping) else None
    last = layers[-1] if isinstance(layers, list) and layers else None
    dense = last.get("dense") if isinstance(last, Mapping) else None
    units = dense.get("units") if isinstance(dense, Mapping) else dense
    return units if isinstance(units, int) and not isinstance(units, bool) and units >= 2 else None


def chance_level(metric: str, classes: int | None, loss: str | None = None) -> float | None:
    """The score of uniform guessing on ``metric`` (a history key, ``val_`` allowed): ``1/classes`` for an
    accuracy, ``ln(classes)`` for a cross-entropy loss (``ln 2`` for a binary one); None otherwise."""
    if classes is None or classes < 2:
        return None
    base = base_name(metric)
    if is_accuracy(base) and "top_k" not in base:
        return 1.0 / classes
    if is_loss(base) and base == "loss" and loss in CROSS_ENTROPIES:
        return math.log(2 if loss == "binary_crossentropy" else classes)
    return None


def at_chance(accuracy: float | None, classes: int | None) -> bool:
    """Whether a final ``accuracy`` is no better than guessing: at most ``1/classes + CHANCE_MARGIN``."""
    if accuracy is None or classes is None or classes < 2 or not math.isfinite(accuracy):
        return False
    return accuracy <= 1.0 / classes + CHANCE_MARGIN


__all__ = ["CHANCE_MARGIN", "at_chance", "chance_level", "classes_of", "loss_name"]
