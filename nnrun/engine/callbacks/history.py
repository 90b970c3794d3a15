"""``History``: records the epoch logs; ``fit`` returns it."""

from __future__ import annotations

from typing import Any

from nnrun.engine.callbacks.callback import Callback


class History(Callback):
    """``history.history`` maps each log key (``loss``, ``accuracy``, ``val_loss``, ...) to its per-epoch
    values; ``history.epoch`` lists the epoch indices."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
