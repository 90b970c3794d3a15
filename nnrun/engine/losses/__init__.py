"""Losses with Keras's formulas, clipping, rank rules and reduction, each with its gradient.

One class per loss (registered in ``LOSSES`` under its Keras class name, function name and aliases)
and one function per loss returning the per-sample values, as ``keras.losses.<name>``. See
:mod:`nnrun.engine.losses.base` for the contract (``call`` / ``grad`` / ``grad_logits``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnrun.engine.losses.base import (
    LOSSES,
    REDUCTIONS,
    Loss,
    prepare_sample_weight,
    reduce_values,
    squeeze_or_expand_to_same_rank,
)
from nnrun.engine.losses.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
)
from nnrun.engine.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
)

# isort: split
# registration order (the order of LOSSES.names()): cross-entropies first, as in the docs
from nnrun.engine.losses.hinge import CategoricalHinge, Hinge, SquaredHinge
from nnrun.errors import InvalidArgumentError

LossFunction = Callable[..., np.ndarray]


def get(identifier: str | Loss | LossFunction | dict[str, Any] | None, argument: str = "loss") -> Loss:
    """The :class:`Loss` that ``compile`` trains with, from a name (``"mse"``, ``"BinaryCrossentropy"``, ...),
    a config dict, an instance, or one of the loss functions below (``losses.binary_crossentropy``)."""
    if isinstance(identifier, Loss):
        return identifier
    if identifier is None:
        raise InvalidArgumentError(
            f"A loss is required. Expected one of: {', '.join(LOSSES.names())}. Received: {argument}=None"
        )
    if isinstance(identifier, dict):
        return deserialize(identifier, argument)
    cls = getattr(identifier, "loss_class", None)
    if cls is not None:
        return cls()
    if callable(identifier):
        raise InvalidArgumentError(
            f"nnrun trains only with its own losses, whose gradients it knows. Received: {argument}={identifier!r}. "
            f"Expected one of: {', '.join(LOSSES.names())} (a name, a Loss instance or a nnrun.losses function)"
        )
    return LOSSES.get(identifier, argument)()


def serialize(loss: Loss | LossFunction) -> dict[str, Any] | str:
    """``{"class_name", "config"}`` for a Loss; the function's name for a loss function."""
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    if getattr(loss, "loss_class", None) is not None:
        return loss.__name__  # type: ignore[union-attr]
    raise InvalidArgumentError(f"Cannot serialize {loss!r}: expected a Loss or a nnrun.losses function")


def deserialize(config: dict[str, Any] | str, argument: str = "loss") -> Loss | LossFunction:
    """A Loss from ``{"class_name", "config"}``; a loss function from its name."""
    if isinstance(config, str):
        return FUNCTIONS[LOSSES.canonical(config, argument)]
    if not isinstance(config, dict) or "class_name" not in config:
        raise InvalidArgumentError(
            f"A loss config must be a dict with 'class_name' and 'config'. Received: {argument}={config!r}"
        )
    return LOSSES.get(config["class_name"], argument).from_config(config.get("config") or {})


def _function(cls: type[Loss], name: str) -> LossFunction:
    def fn(y_true: Any, y_pred: Any, **kwargs: Any) -> np.ndarray:
        return cls(reduction="none", **kwargs)(y_true, y_pred)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Per-sample {name} (``{cls.__name__}(reduction='none')``): {cls.__doc__}"
    fn.loss_class = cls  # type: ignore[attr-defined]
    return fn


binary_crossentropy = _function(BinaryCrossentropy, "binary_crossentropy")
categorical_crossentropy = _function(CategoricalCrossentropy, "categorical_crossentropy")
sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy, "sparse_categorical_crossentropy")
mean_squared_error = mse = _function(MeanSquaredError, "mean_squared_error")
mean_absolute_error = mae = _function(MeanAbsoluteError, "mean_absolute_error")
mean_absolute_percentage_error = mape = _function(MeanAbsolutePercentageError, "mean_absolute_percentage_error")
mean_squared_logarithmic_error = msle = _function(MeanSquaredLogarithmicError, "mean_squared_logarithmic_error")
huber = _function(Huber, "huber")
log_cosh = logcosh = _function(LogCosh, "log_cosh")
hinge = _function(Hinge, "hinge")
squared_hinge = _function(SquaredHinge, "squared_hinge")
categorical_hinge = _function(CategoricalHinge, "categorical_hinge")
kl_divergence = kld = _function(KLDivergence, "kl_divergence")
poisson = _function(Poisson, "poisson")
cosine_similarity = _function(CosineSimilarity, "cosine_similarity")

#: canonical class name -> the loss function (``keras.losses.<snake_name>``)
FUNCTIONS: dict[str, LossFunction] = {
    f.loss_class.__name__: f  # type: ignore[attr-defined]
    for f in (
        binary_crossentropy,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        mean_squared_error,
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        huber,
        log_cosh,
        hinge,
        squared_hinge,
        categorical_hinge,
        kl_divergence,
        poisson,
        cosine_similarity,
    )
}

__all__ = [
    "FUNCTIONS",
    "LOSSES",
    "REDUCTIONS",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "binary_crossentropy",
    "categorical_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "kld",
    "log_cosh",
    "logcosh",
    "mae",
    "mape",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "mse",
    "msle",
    "poisson",
    "prepare_sample_weight",
    "reduce_values",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "squeeze_or_expand_to_same_rank",
]
