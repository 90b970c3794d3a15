"""What ``nnrun train`` shows while it runs: a live progress bar in a terminal, plain lines elsewhere.

Every line shown is also kept (``lines``) so the run folder gets a log of the terminal output.
"""

from __future__ import annotations

import io
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from nnrun.engine.callbacks.progbar_logger import format_logs, format_time


class TrainingDisplay:
    """A :class:`~nnrun.trial.TrainingObserver` that renders to a rich console."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.lines: list[str] = []
        self._progress: Progress | None = None
        self._task: Any = None
        self._epochs = 0
        self._steps = 0

    def say(self, text: str = "", style: str | None = None) -> None:
        """Print a line (unless quiet) and keep it for the log."""
        self.lines.append(text)
        if not self.quiet:
            self.console.print(text, style=style, highlight=False, markup=False, soft_wrap=True)

    def on_model(self, summary: str) -> None:
        for line in summary.rstrip("\n").splitlines():
            self.say(line)

    def on_train_begin(self, epochs: int, steps: int) -> None:
        self._epochs, self._steps = epochs, steps
        if self.console.is_terminal and not self.quiet:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[logs]}"),
                console=self.console,
                transient=True,
            )
            self._progress.start()

    def on_epoch_begin(self, epoch: int) -> None:
        self._start = time.perf_counter()
        if self._progress is not None:
            self._task = self._progress.add_task(f"Epoch {epoch + 1}/{self._epochs}", total=self._steps, logs="")

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        if self._progress is not None:  # as Keras: ``120ms/step - accuracy: 0.5800 - loss: 1.1400``
            per_step = format_time((time.perf_counter() - self._start) / (step + 1)).strip()
            shown = f"{per_step} - {format_logs(logs)}" if logs else per_step
            self._progress.update(self._task, completed=step + 1, logs=shown)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self._progress is not None:
            self._progress.remove_task(self._task)
        elapsed = time.perf_counter() - self._start
        line = f"Epoch {epoch + 1}/{self._epochs} - {epoch_timing(elapsed, self._steps)} - {format_logs(logs)}"
        if self._progress is not None and not self.quiet:
            self._progress.console.print(line, highlight=False, markup=False, soft_wrap=True)
            self.lines.append(line)
        else:
            self.say(line)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def epoch_timing(elapsed: float, steps: int) -> str:
    """``1.2s - 4ms/step`` or ``85ms - 552us/step``: the epoch's time and the time per step, as Keras prints it."""
    total = f"{elapsed:.1f}s" if elapsed >= 1 else f"{elapsed * 1e3:.0f}ms"
    return f"{total} -{format_time(elapsed / steps)}" if steps else total


def results_table(metrics: dict[str, Any]) -> Table:
    """final / best / test values of each metric."""
    table = Table(title="Results", title_justify="left")
    table.add_column("metric")
    table.add_column("final", justify="right")
    table.add_column("best (epoch)", justify="right")
    table.add_column("test", justify="right")
    final, best, test = metrics.get("final", {}), metrics.get("best", {}), metrics.get("test") or {}
    for key in [k for k in final if not k.startswith("val_") and k != "learning_rate"]:
        for name in (key, f"val_{key}"):
            if name not in final:
                continue
            b = best.get(name)
            table.add_row(
                name,
                _fmt(final[name]),
                f"{_fmt(b['value'])} ({b['epoch']})" if b else "",
                _fmt(test.get(key)) if name == key else "",
            )
    return table


def results_lines(result: Any) -> list[str]:
    """The results table and the outcome as plain text lines (for the log)."""
    console = Console(width=100, record=True, file=io.StringIO(), color_system=None)
    if result.metrics:
        console.print(results_table(result.metrics))
    console.print(f"{result.status}: {result.stop_reason}", highlight=False, markup=False)
    return console.export_text().rstrip("\n").splitlines()


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def class_table(report: Any, table: Table, max_rows: int | None = None, average_row: bool = False) -> Table:
    """Fill ``table`` with a classifier's scores class by class (precision, recall, F1, support), as
    per_class.csv holds them: every class up to ``max_rows`` (beyond it, none), and a macro-average row."""
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    rows = report.rows()
    for row in rows if max_rows is None or len(rows) <= max_rows else []:
        table.add_row(str(row["name"]), *(f"{row[k]:.4f}" for k in ("precision", "recall", "f1")), str(row["support"]))
    if average_row:
        averages = report.averages()
        table.add_row(
            "macro avg", *(f"{averages[f'macro_{k}']:.4f}" for k in ("precision", "recall", "f1")),
            str(int(report.support.sum())), style="bold",
        )  # fmt: skip
    return table
