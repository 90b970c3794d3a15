"""What a run's plot says besides its curves: where early stopping stopped, which epoch's weights were kept,
the test score, the key hyperparameters, and the chance level.

:func:`run_notes` reads them from plain values a caller already holds (``metrics.json`` as a mapping, the
resolved config as a mapping, the class count); the report never reads a run folder itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nnrun.results import format_value, get_param
from nnrun.results.chance import chance_level, classes_of, loss_name

# what nnrun.trial writes as a run's stop reason when early stopping ended it
_EARLY_STOP = re.compile(r"early stopping after epoch (\d+):.*?at epoch (\d+)\)(\s*\(best weights restored\))?")


@dataclass(frozen=True)
class RunNotes:
    """Facts about one run drawn on its plots; every field is optional."""

    subtitle: str | None = None
    """The key hyperparameters, one line: ``sgd lr=0.1 · batch 64 · relu · he_normal · 128-10``."""
    stopped_epoch: int | None = None
    """The last epoch run, when early stopping ended the run (1-based)."""
    restored_epoch: int | None = None
    """The epoch whose weights the run kept (early stopping's ``restore_best_weights``), 1-based."""
    test: Mapping[str, float] = field(default_factory=dict)
    """The test set's score per metric (``loss``, ``accuracy``...)."""
    classes: int | None = None
    """How many classes a classifier has (for the chance level); None for regression."""
    loss: str | None = None
    """The loss's name (``sparse_categorical_crossentropy``), for the chance level of the loss."""

    def chance(self, metric: str) -> float | None:
        """The chance level of ``metric`` (accuracy ``1/classes``, cross-entropy ``ln classes``), or None."""
        return chance_level(metric, self.classes, self.loss)


def run_notes(
    metrics: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    preprocessing: Mapping[str, Any] | None = None,
) -> RunNotes:
    """The notes of a run from its ``metrics.json``, resolved ``config.yaml`` and ``preprocessing.json``
    (as mappings; any may be missing)."""
    metrics = metrics if isinstance(metrics, Mapping) else {}
    config = config if isinstance(config, Mapping) else {}
    stopped, restored = _early_stop(metrics, config)
    test = metrics.get("test")
    test = {k: float(v) for k, v in test.items() if isinstance(v, (int, float))} if isinstance(test, Mapping) else {}
    return RunNotes(
        subtitle=hyperparameters(config) or None,
        stopped_epoch=stopped,
        restored_epoch=restored,
        test=test,
        classes=classes_of(config, preprocessing),
        loss=loss_name(config),
    )


def _early_stop(metrics: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(stopped epoch, restored epoch): the restored epoch from ``weights_epoch`` (recorded since format 1) when
    it is not the last, the stop from the stop reason nnrun wrote; (None, None) when it ran its course."""
    epochs, kept = metrics.get("epochs_run"), metrics.get("weights_epoch")
    restored = kept if isinstance(kept, int) and isinstance(epochs, int) and kept < epochs else None
    match = _EARLY_STOP.search(str(metrics.get("stop_reason") or ""))
    if match is None:
        return None, restored
    stopped, best = int(match.group(1)), int(match.group(2))
    restore = match.group(3) is not None or get_param(config, "train.callbacks.early_stopping.restore_best_weights")
    return stopped, restored if restored is not None else (best if restore else None)


def hyperparameters(config: Mapping[str, Any]) -> str:
    """The key hyperparameters of a resolved config on one line: optimizer and learning rate, batch size,
    hidden activation and initializer, layer widths, seed."""
    parts = []
    optimizer = get_param(config, "train.optimizer.name") or get_param(config, "train.optimizer")
    if isinstance(optimizer, str):
        lr = get_param(config, "train.optimizer.learning_rate")
        parts.append(optimizer + (f" lr={format_value(lr)}" if isinstance(lr, (int, float)) else ""))
    batch = get_param(config, "train.batch_size")
    if isinstance(batch, int):
        parts.append(f"batch {batch}")
    for key in ("model.hidden.activation", "model.hidden.kernel_initializer"):
        value = get_param(config, key)
        if isinstance(value, str):
            parts.append(value)
    layers = get_param(config, "model.layers")
    if isinstance(layers, list):
        widths = [_units(layer) for layer in layers]
        if any(w is not None for w in widths):
            parts.append("-".join(str(w) for w in widths if w is not None))
    seed = config.get("seed")
    if isinstance(seed, int):
        parts.append(f"seed {seed}")
    return " · ".join(parts)


def _units(layer: Any) -> int | None:
    dense = layer.get("dense") if isinstance(layer, Mapping) else None
    units = dense.get("units") if isinstance(dense, Mapping) else dense
    return units if isinstance(units, int) and not isinstance(units, bool) else None


__all__ = ["RunNotes", "hyperparameters", "run_notes"]
