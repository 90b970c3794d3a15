"""``ProgbarLogger``: Keras's text progress display for ``fit``, ``evaluate`` and ``predict``.

verbose=1: a bar, redrawn per batch in a terminal (in colour, as Keras) and written once at the end of each
epoch elsewhere; verbose=2: one line per epoch, ``32/32 - 0s - 4ms/step - accuracy: 0.9000 - loss: 0.2500``.
"Epoch i/n" is printed only when ``epochs > 1``. Times per step and values are formatted as Keras's Progbar
does (``s``/``ms``/``us`` per step; values at or under 1e-3 in scientific notation).
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from nnrun.engine.callbacks.callback import Callback, Logs

_WIDTH = 20
_INTERVAL = 0.05  # seconds between redraws of a dynamic bar


def format_time(per_step: float) -> str:
    """Keras's time per step: `` 2s/step``, `` 4ms/step`` or `` 552us/step``."""
    if per_step >= 1 or per_step == 0:
        return f" {per_step:.0f}s/step"
    if per_step >= 1e-3:
        return f" {per_step * 1e3:.0f}ms/step"
    return f" {per_step * 1e6:.0f}us/step"


def format_value(value: float, signed: bool = True) -> str:
    """``0.1234`` or, at or under 1e-3, ``1.2340e-04`` (verbose=2 compares the value itself, not its size,
    as Keras does)."""
    small = abs(value) <= 1e-3 if signed else value <= 1e-3
    return f"{value:.4e}" if small else f"{value:.4f}"


def format_logs(logs: Logs, signed: bool = True) -> str:
    """``accuracy: 0.9000 - loss: 0.2500``: the numbers in ``logs``, sorted by name (as Keras's logs are)."""
    return " - ".join(
        f"{k}: {format_value(float(v), signed)}" for k, v in sorted(logs.items()) if isinstance(v, (int, float))
    )


class ProgbarLogger(Callback):
    """Prints progress the way Keras's ``ProgbarLogger`` does (added by ``fit``/``evaluate``/``predict`` when
    ``verbose`` is 1 or 2)."""

    def __init__(self, verbose: int = 1, stream: TextIO | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self._in_fit = False
        self._reset()

    @property
    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def _reset(self) -> None:
        self._start = self._last = time.perf_counter()
        self._after_first: float | None = None
        self._seen = 0
        self._width = 0
        self._dynamic = self.verbose == 1 and self._out.isatty()

    # -- hooks -----------------------------------------------------------------------------------------

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._in_fit = True  # validation inside fit is silent

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._reset()
        epochs = self.params.get("epochs", 1)
        if epochs > 1:
            self._out.write(f"Epoch {epoch + 1}/{epochs}\n")

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._step(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._finish(logs or {})

    def on_test_begin(self, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._reset()

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._step(batch, logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._finish(logs or {})

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._reset()

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._step(batch, None)

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._finish({})

    # -- drawing ---------------------------------------------------------------------------------------

    def _step(self, batch: int, logs: Logs | None) -> None:
        if batch == 0:
            self._after_first = time.perf_counter()
        self._seen = batch + 1
        if not self._dynamic:
            return
        now = time.perf_counter()
        steps = self.params.get("steps") or 0
        if now - self._last < _INTERVAL and self._seen < steps:
            return
        self._last = now
        self._draw(self._seen, steps, now, logs or {}, final=False)

    def _per_step(self, done: int, now: float) -> float:
        if not done:
            return 0.0
        if self._after_first is not None and done > 1:  # Keras leaves the first (slow) step out
            return (now - self._after_first) / (done - 1)
        return (now - self._start) / done

    def _finish(self, logs: Logs) -> None:
        steps = self.params.get("steps") or self._seen
        now = time.perf_counter()
        if self.verbose == 2:
            count = f"{steps:{_digits(steps)}d}/{steps}"
            line = f"{count} - {now - self._start:.0f}s -{format_time(self._per_step(steps, now))}"
            text = format_logs(logs, signed=False)
            self._out.write(line + (f" - {text}" if text else "") + "\n")
        else:
            self._draw(steps, steps, now, logs, final=True)
        self._out.flush()

    def _draw(self, done: int, steps: int, now: float, logs: Logs, final: bool) -> None:
        filled = int(_WIDTH * done / steps) if steps else _WIDTH
        count = f"{done:{_digits(steps)}d}/{steps}"
        if self._dynamic:  # Keras's colours: bold count, green done, grey to do
            bar = f"\x1b[1m{count}\x1b[0m " + (f"\x1b[32m{'━' * filled}\x1b[0m" if filled else "")
            bar += f"\x1b[37m{'━' * (_WIDTH - filled)}\x1b[0m"
            visible = len(count) + 1 + _WIDTH
        else:
            bar = f"{count} {'━' * filled}{' ' * (_WIDTH - filled)}"
            visible = len(bar)
        per_step = self._per_step(done, now)
        if final:
            info = f" {now - self._start:.0f}s"
        else:
            info = f" {_eta(per_step * (steps - done))}"
        info += format_time(per_step)
        text = format_logs(logs)
        if text:
            info += f" - {text}"
        width = visible + len(info)
        pad = " " * max(self._width - width, 0)
        self._width = width
        self._out.write(("\r" if self._dynamic else "") + bar + info + pad + ("\n" if final else ""))
        if not final:
            self._out.flush()


def _digits(n: int) -> int:
    return int(math.log10(n)) + 1 if n > 0 else 1


def _eta(seconds: float) -> str:
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


__all__ = ["ProgbarLogger", "format_logs", "format_time", "format_value"]
