"""What "improved" means for callbacks that watch a metric (Keras's MonitorCallback rule)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from nnrun.errors import InvalidArgumentError

if TYPE_CHECKING:
    from nnrun.engine.models.model import Model

MODES = ("auto", "min", "max")


def check_mode(cls: str, mode: str) -> str:
    if mode not in MODES:
        warnings.warn(f"{cls} mode {mode!r} is unknown; using 'auto'. Expected one of {MODES}.", stacklevel=3)
        return "auto"
    return mode


def resolve_mode(cls: str, mode: str, monitor: str, model: Model | None) -> str:
    """'min' or 'max'. 'auto': min for losses, else the monitored metric's direction."""
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("loss"):
        return "min"
    directions = model.metric_directions() if model is not None else {}
    if name in directions:
        return "max" if directions[name] in ("max", "up") else "min"  # metrics say "max"/"min"
    raise InvalidArgumentError(
        f"{cls} could not infer whether '{monitor}' should be minimized or maximized; pass mode='min' or "
        f"mode='max'. Known metrics: {', '.join(['loss', *directions]) or 'none'}"
    )


def improved(mode: str, current: float, best: float | None, min_delta: float) -> bool:
    """Strict improvement by more than |min_delta|; the first value always improves."""
    if best is None:
        return True
    if mode == "min":
        return bool(np.less(current + abs(min_delta), best))
    return bool(np.greater(current - abs(min_delta), best))
