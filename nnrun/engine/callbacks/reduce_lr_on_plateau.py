"""``ReduceLROnPlateau``: lower the learning rate when a monitored value stops improving."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from nnrun.engine.callbacks.callback import Callback
from nnrun.engine.callbacks.monitor import check_mode, improved, resolve_mode
from nnrun.errors import InvalidArgumentError


class ReduceLROnPlateau(Callback):
    """After ``patience`` epochs without improvement: lr ← max(lr·factor, min_lr), then ``cooldown``.

    Writes the epoch's learning rate into the logs as ``learning_rate``, so it appears in the history.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            raise InvalidArgumentError(f"ReduceLROnPlateau: argument(s) not recognized: {kwargs!r}")
        if factor >= 1.0:
            raise InvalidArgumentError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor!r}"
            )
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode = check_mode("ReduceLROnPlateau", mode)
        self.min_delta, self.cooldown, self.min_lr = min_delta, cooldown, min_lr
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best: float | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._mode = resolve_mode("ReduceLROnPlateau", self.mode, self.monitor, self.model)
        self._reset()

    def get_state(self) -> dict[str, Any]:
        """The plateau counters and the best value (for resuming a run exactly; the learning rate itself is
        part of the optimizer's state)."""
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter, "best": self.best}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore ``get_state()`` (after ``on_train_begin``, which resets it)."""
        self.wait, self.cooldown_counter, self.best = int(state["wait"]), int(state["cooldown_counter"]), state["best"]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer  # type: ignore[union-attr]
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau is conditioned on '{self.monitor}', which is not available. "
                f"Available: {', '.join(sorted(logs))}",
                stacklevel=2,
            )
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if improved(self._mode, current, self.best, self.min_delta):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = optimizer.learning_rate
                if old > np.float32(self.min_lr):
                    new = max(float(old) * self.factor, self.min_lr)
                    optimizer.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
