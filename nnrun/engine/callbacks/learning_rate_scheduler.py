"""``LearningRateScheduler``: set the learning rate at the start of each epoch from ``schedule``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnrun.engine.callbacks.callback import Callback, Logs
from nnrun.errors import InvalidArgumentError


class LearningRateScheduler(Callback):
    """``schedule(epoch, lr) -> new lr`` (or Keras 2's ``schedule(epoch)``), applied at each epoch's start;
    the epoch's rate is logged as ``learning_rate``."""

    def __init__(self, schedule: Callable[..., Any], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise InvalidArgumentError(f"LearningRateScheduler needs a callable schedule. Received: {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def _optimizer(self) -> Any:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            raise InvalidArgumentError('Optimizer must have a "learning_rate" attribute.')
        return optimizer

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        optimizer = self._optimizer()
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the Keras 2 signature: schedule(epoch)
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise InvalidArgumentError(f"The output of the `schedule` function should be a float. Got: {lr!r}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self._optimizer().learning_rate)
