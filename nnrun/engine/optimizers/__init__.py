"""Optimizers with Keras's names, defaults and update rules."""

from __future__ import annotations

from typing import Any

from nnrun.engine.optimizers.adadelta import Adadelta
from nnrun.engine.optimizers.adagrad import Adagrad
from nnrun.engine.optimizers.adam import Adam, AdamW
from nnrun.engine.optimizers.adamax import Adamax
from nnrun.engine.optimizers.base import OPTIMIZERS, Optimizer
from nnrun.engine.optimizers.nadam import Nadam
from nnrun.engine.optimizers.rmsprop import RMSprop
from nnrun.engine.optimizers.sgd import SGD


def get(identifier: str | Optimizer | dict[str, Any], argument: str = "optimizer") -> Optimizer:
    """An optimizer from a name (any case: ``"adam"``, ``"Adam"``, ``"SGD"``), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return OPTIMIZERS.get(identifier.get("class_name", ""), argument).from_config(identifier.get("config", {}))
    return OPTIMIZERS.get(identifier, argument)()


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = [
    "OPTIMIZERS",
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
    "serialize",
]
