"""Which way a metric is better, and which metrics a history has: asked of the engine's metric registry.

A history key is a loss (``loss``, ``val_loss``, ``<output>_loss``: lower is better) or a metric name as
``compile(metrics=[...])`` accepts it (``accuracy``, ``mse``, ``AUC``, ...), maybe with ``val_`` in front;
the engine's registry (:data:`nnrun.engine.metrics.METRICS`) says its ``direction``. A new metric class
registered there is ranked right everywhere (sweeps, ``nnrun runs --sort``, figures). A name that is
neither is an error: nnrun never guesses which way is better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nnrun.engine import metrics as engine_metrics
from nnrun.errors import InvalidArgumentError, did_you_mean

DIRECTIONS = ("max", "min")
NOT_METRICS = ("learning_rate", "lr", "epoch_time")  # history keys that are not metrics


def base_name(key: str) -> str:
    """``"val_accuracy"`` -> ``"accuracy"``: the metric behind a validation key."""
    return key[4:] if key.startswith("val_") and len(key) > 4 else key


def is_loss(key: str) -> bool:
    """``loss``, ``val_loss`` and a model output's ``<name>_loss``."""
    base = base_name(key)
    return base == "loss" or base.endswith("_loss")


def direction(metric: str) -> str:
    """``"max"`` when a higher ``metric`` is better, ``"min"`` when lower is (losses, errors).

    ``metric`` is a history key: a loss, or a registered metric name, with or without ``val_``. Raises
    :class:`InvalidArgumentError` for any other name.
    """
    if not isinstance(metric, str) or not metric:
        raise InvalidArgumentError(f"A metric name must be a non-empty string. Received: metric={metric!r}")
    if is_loss(metric):
        return "min"
    base = base_name(metric)
    if base.lower() in engine_metrics.ACCURACY_NAMES or base in engine_metrics.METRICS:
        return engine_metrics.direction(base)
    prefix = metric[: len(metric) - len(base)]
    names = ["loss", *engine_metrics.ACCURACY_NAMES, *engine_metrics.METRICS.names()]
    spellings = ["loss", *engine_metrics.ACCURACY_NAMES, *engine_metrics.METRICS.spellings()]
    raise InvalidArgumentError(
        f"Cannot tell whether a higher {metric!r} is better: it is not a loss nor a metric registered in "
        f"nnrun.engine.metrics.METRICS. Received: metric={metric!r}. Expected a loss or one of: "
        f"{', '.join(names)}, with or without 'val_'." + did_you_mean(metric, [prefix + s for s in spellings])
    )


def check_direction(mode: object, argument: str = "mode") -> str:
    """``mode`` if it is ``"max"`` or ``"min"``; an error naming ``argument`` otherwise."""
    if mode not in DIRECTIONS:
        raise InvalidArgumentError(
            f"{argument} must be 'max' or 'min'. Received: {argument}={mode!r}" + did_you_mean(mode, DIRECTIONS)
        )
    return str(mode)


def is_accuracy(metric: str) -> bool:
    """An accuracy metric (``accuracy``, ``acc``, ``binary_accuracy``, ``top_k_categorical_accuracy``...)."""
    return "acc" in metric.lower()


def metric_names(history: Mapping[str, Sequence[float]]) -> list[str]:
    """The base metrics of a history (``val_`` stripped, learning rate and epoch times left out), loss first."""
    names: list[str] = []
    for key in history:
        base = base_name(key)
        if base not in names and base not in NOT_METRICS:
            names.append(base)
    return sorted(names, key=lambda name: name != "loss")  # stable: the rest keep the history's order


def primary_metric(history: Mapping[str, Sequence[float]]) -> str:
    """The metric worth a second plot and a column: accuracy if tracked, else the first non-loss metric,
    else loss."""
    names = metric_names(history)
    for name in ("accuracy", "acc", *names):
        if name in names and is_accuracy(name):
            return name
    return next((name for name in names if name != "loss"), "loss")


__all__ = [
    "DIRECTIONS",
    "NOT_METRICS",
    "base_name",
    "check_direction",
    "direction",
    "is_accuracy",
    "is_loss",
    "metric_names",
    "primary_metric",
]
