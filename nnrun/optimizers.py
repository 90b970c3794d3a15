"""Keras-style import path: ``from nnrun.optimizers import SGD, Adam, ...``."""

import sys

from nnrun.engine.optimizers import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Nadam,
    Optimizer,
    RMSprop,
    schedules,
    serialize,
)
from nnrun.engine.optimizers import get as _get


def get(identifier: object) -> Optimizer | None:
    """``keras.optimizers.get``: ``None`` → None; a name or config dict → a new optimizer; an Optimizer → itself."""
    return None if identifier is None else _get(identifier)  # type: ignore[arg-type]


# ``from nnrun.optimizers.schedules import ExponentialDecay``, as from keras.optimizers.schedules
sys.modules[f"{__name__}.schedules"] = schedules

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "get",
    "schedules",
    "serialize",
]
