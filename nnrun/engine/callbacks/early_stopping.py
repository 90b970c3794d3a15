"""``EarlyStopping``: stop when a monitored value stops improving."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from nnrun.engine.callbacks.callback import Callback
from nnrun.engine.callbacks.monitor import check_mode, improved, resolve_mode


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without a strict improvement of ``monitor``.

    ``restore_best_weights=True`` puts back the best epoch's weights when training ends, whether or
    not it stopped early (as Keras does).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.monitor, self.min_delta, self.patience, self.verbose = monitor, abs(min_delta), patience, verbose
        self.mode = check_mode("EarlyStopping", mode)
        self.baseline, self.restore_best_weights, self.start_from_epoch = (
            baseline,
            restore_best_weights,
            start_from_epoch,
        )
        self.stopped_epoch = 0
        self.best_epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._mode = resolve_mode("EarlyStopping", self.mode, self.monitor, self.model)
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights: list | None = None
        self.best_epoch = 0

    def get_state(self) -> dict[str, Any]:
        """What training has taught it (for resuming a run exactly): counts, best value and epoch, and the best
        weights (a list of arrays, or None)."""
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_weights": None if self.best_weights is None else [np.array(w) for w in self.best_weights],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore ``get_state()`` (after ``on_train_begin``, which resets it)."""
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best, self.best_epoch = state["best"], int(state["best_epoch"])
        weights = state["best_weights"]
        self.best_weights = None if weights is None else [np.array(w) for w in weights]

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping is conditioned on '{self.monitor}', which is not available. "
                f"Available: {', '.join(sorted(logs or {}))}",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # type: ignore[union-attr]
        self.wait += 1
        if improved(self._mode, current, self.best, self.min_delta):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()  # type: ignore[union-attr]
            if self.baseline is None or improved(self._mode, current, self.baseline, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True  # type: ignore[union-attr]

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)  # type: ignore[union-attr]
