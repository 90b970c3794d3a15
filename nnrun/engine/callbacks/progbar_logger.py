"""``ProgbarLogger``: Keras's text progress display for ``fit(verbose=1 or 2)``."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from nnrun.engine.callbacks.callback import Callback


def format_logs(logs: dict[str, Any]) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in sorted(logs.items()) if isinstance(v, (int, float)))


class ProgbarLogger(Callback):
    """verbose=1: a bar updated per batch in a terminal (one line per epoch elsewhere); verbose=2: one line
    per epoch."""

    def __init__(self, verbose: int = 1, stream: TextIO | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream

    @property
    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = self._last = time.perf_counter()
        self._dynamic = self.verbose == 1 and self._out.isatty()
        self._out.write(f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}\n")

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._dynamic:
            return
        now = time.perf_counter()
        steps = self.params.get("steps") or 0
        if now - self._last < 0.05 and batch + 1 < steps:
            return
        self._last = now
        self._out.write("\r" + self._line(batch + 1, steps, now, logs or {}))
        self._out.flush()

    def _line(self, done: int, steps: int, now: float, logs: dict[str, Any]) -> str:
        width = 20
        filled = int(width * done / steps) if steps else width
        bar = "━" * filled + " " * (width - filled)
        elapsed = now - self._start
        per_step = elapsed / max(done, 1)
        text = f"{done}/{steps} {bar} {elapsed:.0f}s {per_step * 1e3:.0f}ms/step"
        return f"{text} - {format_logs(logs)}" if logs else text

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        steps = self.params.get("steps") or 0
        line = self._line(steps, steps, time.perf_counter(), logs or {})
        self._out.write(("\r" if self._dynamic else "") + line + "\n")
        self._out.flush()
