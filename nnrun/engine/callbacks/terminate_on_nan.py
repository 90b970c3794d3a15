"""``TerminateOnNaN``: stop as soon as a batch loss is NaN or infinite."""

from __future__ import annotations

import math
from typing import Any

from nnrun.engine.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Sets ``model.stop_training`` after a batch whose loss is NaN or inf (``stopped_batch`` records it)."""

    def __init__(self) -> None:
        super().__init__()
        self.stopped_batch: int | None = None

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.stopped_batch = batch
            self.model.stop_training = True  # type: ignore[union-attr]
