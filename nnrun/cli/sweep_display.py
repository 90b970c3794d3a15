"""What ``nnrun sweep`` shows while it runs.

In a terminal: a live region at the bottom (the progress bar with how many trials run at once, a line per
running trial, the last few finished trials and the best so far); above it only failed, diverged and stopped
trials (the first few), and a summary line at the end. The live region goes away when the sweep ends, so the
screen keeps the header, the problems and the ranked table. In a pipe: a plain line per finished trial, in
aligned columns. ``lines`` keeps every line (the sweep folder's ``log.txt``).

Parameter values are shown with 4 significant digits (:func:`nnrun.results.format_value`); the sweep's files
keep every digit.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from nnrun.results import format_value
from nnrun.sweep.events import BatchProgress, EpochEnded, SweepEvent, TrialFinished
from nnrun.sweep.spec import TrialPoint, short_key

RECENT = 4  # finished trials kept in the live region
PROBLEMS = 5  # failed, diverged or stopped trials printed above the live region (then one line counts the rest)
MARKS = {"completed": "done", "diverged": "DIVERGED", "failed": "FAILED", "interrupted": "stopped"}
TABLE_CHROME = 10  # lines around the ranked table's rows: title, header (3), bottom rule, caption, 2 paths, prompt


@dataclass
class RunningTrial:
    """What the display knows of a running trial: when it started, its epoch (from 1) and latest logs."""

    start: float
    epoch: int = 0
    epochs: int = 0
    logs: dict[str, float] = field(default_factory=dict)


def trial_label(trial: TrialPoint) -> str:
    """``activation=relu, lr=0.001235`` (short keys, values with 4 significant digits), and the repeat."""
    label = ", ".join(f"{short_key(k)}={format_value(v)}" for k, v in trial.params.items())
    return label + (f" (repeat {trial.repeat})" if trial.repeat else "")


def format_seconds(seconds: float) -> str:
    """``85ms``, ``1.2s``, ``2m05s``: a duration as wide as it needs, with ms under a second."""
    if seconds < 1:
        return f"{seconds * 1e3:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class SweepDisplay:
    """A :class:`~nnrun.sweep.events.SweepObserver` rendering to a rich console; keeps a plain log.

    ``mode`` (``max`` / ``min``) lets the live region show the best trial so far."""

    def __init__(
        self, console: Console, trials: list[TrialPoint], metric: str, quiet: bool = False, mode: str | None = None
    ) -> None:
        self.console, self.metric, self.quiet, self.mode = console, metric, quiet, mode
        self.labels = {t.id: trial_label(t) for t in trials}
        self._id_width = max((len(i) for i in self.labels), default=4)
        self._label_width = max((len(label) for label in self.labels.values()), default=0)
        self.lines: list[str] = []
        self.running: dict[str, RunningTrial] = {}
        self.recent: deque[str] = deque(maxlen=RECENT)
        self.counts: dict[str, int] = {}
        self.best: tuple[float, str] | None = None
        self._pending = 0
        self._start = time.monotonic()
        self._live: Live | None = None
        self._progress: Progress | None = None
        self._task: Any = None

    @property
    def live(self) -> bool:
        """Whether the live region is shown (a terminal, not quiet)."""
        return self._live is not None

    def say(self, text: str, crop: bool = False) -> None:
        """Print a line above the live region (unless quiet; ``crop``: to the terminal's width, not wrapped) and
        keep it for the log."""
        self.lines.append(text)
        if not self.quiet:
            console = self._live.console if self._live is not None else self.console
            if crop:
                console.print(text, highlight=False, markup=False, no_wrap=True, overflow="ellipsis")
            else:
                console.print(text, highlight=False, markup=False, soft_wrap=True)

    # -- observer ------------------------------------------------------------------------------------

    def on_sweep_begin(self, folder: Path, total: int, pending: int, workers: int) -> None:
        done = total - pending
        self.say(
            f"Sweep {folder} : {total} trials, {pending} to run"
            + (f" ({done} already done)" if done else "")
            + f", {workers} worker{'s' if workers > 1 else ''}"
        )
        self._start, self._pending = time.monotonic(), pending
        if self.console.is_terminal and not self.quiet and pending:
            self._progress = Progress(
                TextColumn("trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[running]}"),
                console=self.console,
            )
            self._task = self._progress.add_task("trials", total=pending, running="")
            self._live = Live(self.render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.start()

    def on_event(self, event: SweepEvent) -> None:
        if isinstance(event, TrialFinished):
            self._finished(event)
        else:
            state = self.running.setdefault(event.trial_id, RunningTrial(time.monotonic()))
            if isinstance(event, (BatchProgress, EpochEnded)):
                state.epoch, state.epochs, state.logs = event.epoch, event.epochs, event.logs
        if self._live is not None:
            self._live.update(self.render())

    def _finished(self, event: TrialFinished) -> None:
        result, trial_id = event.result, event.trial_id
        if not self.labels.get(trial_id) and event.params:  # a search's trial: its values are known now
            label = ", ".join(f"{short_key(k)}={format_value(v)}" for k, v in event.params.items())
            self.labels[trial_id] = label
            self._label_width = max(self._label_width, len(label))
        state = self.running.pop(trial_id, None)
        seconds = result.duration or (time.monotonic() - state.start if state is not None else None)
        self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if event.value is not None and self.mode in ("max", "min"):
            best = self.best[0] if self.best is not None else None
            if best is None or (event.value > best if self.mode == "max" else event.value < best):
                self.best = (event.value, trial_id)
        line = self.done_line(trial_id, result.status, event.value, seconds, result.stop_reason)
        problems = sum(n for status, n in self.counts.items() if status != "completed")
        if self._live is None:
            self.say(line)  # a pipe gets every line
        elif result.status != "completed" and problems <= PROBLEMS:
            self.say(line, crop=True)  # a terminal keeps the first problems above the live region, one row each
        else:
            self.lines.append(line)
        self.recent.append(line)
        if self._progress is not None:
            self._progress.advance(self._task)
        if sum(self.counts.values()) == self._pending:
            if self._live is not None and problems > PROBLEMS:
                self.say(f"   … and {problems - PROBLEMS} more not completed (log.txt and summary.csv say why)")
            self.say(self.summary_line())

    def done_line(
        self, trial_id: str, status: str, value: float | None, seconds: float | None, reason: str = ""
    ) -> str:
        """A finished trial in aligned columns: mark, id, parameters, metric, time (and the reason if not completed)."""
        took = format_seconds(seconds) if seconds is not None else "-"
        line = self._row(MARKS.get(status, status), trial_id, value, took.rjust(6))
        return line + (f"  {reason}" if status != "completed" and reason else "")

    def _row(self, mark: str, trial_id: str, value: float | None, tail: str = "", metric: str | None = None) -> str:
        shown = f"{value:.4f}" if value is not None else "-"
        return (
            f"{mark:>8} {trial_id:<{self._id_width}}  {self.labels.get(trial_id, ''):<{self._label_width}}  "
            f"{metric or self.metric} {shown:>6}  {tail}"
        ).rstrip()

    def summary_line(self) -> str:
        """``24 trials in 14.2s: 23 completed, 1 failed; best val_accuracy 0.9362 (0024)``."""
        n = sum(self.counts.values())
        counts = ", ".join(f"{c} {s}" for s, c in sorted(self.counts.items(), key=lambda sc: -sc[1]))
        best = f"; best {self.metric} {self.best[0]:.4f} ({self.best[1]})" if self.best is not None else ""
        elapsed = format_seconds(time.monotonic() - self._start)
        return f"{n} trial{'s' if n != 1 else ''} in {elapsed}: {counts}{best}"

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def render(self) -> Group:
        """The live region: the progress bar, the running trials, the last finished ones and the best so far."""
        if self._progress is not None:
            n = len(self.running)
            self._progress.update(self._task, running=f"{n} running" if n else "")
        parts: list[Any] = [] if self._progress is None else [self._progress]
        for trial_id, state in sorted(self.running.items()):
            logs = state.logs
            metric = self.metric if self.metric in logs or "loss" not in logs else "loss"
            epoch = f"ep {state.epoch}/{state.epochs}" if state.epochs else "starting"  # in the mark's column
            line = self._row(epoch, trial_id, logs.get(metric), metric=metric)
            parts.append(Text(line, no_wrap=True, overflow="ellipsis"))
        parts += [Text(line, style="dim", no_wrap=True, overflow="ellipsis") for line in self.recent]
        if self.best is not None:
            line = self._row("best", self.best[1], self.best[0])
            parts.append(Text(line, style="green", no_wrap=True, overflow="ellipsis"))
        return Group(*parts)


def table_limit(console: Console, points: int) -> int | None:
    """How many rows of the ranked table fit the terminal with the lines around it (None: all, or not a
    terminal). At least 5 rows are shown."""
    if not console.is_terminal:
        return None
    room = console.size.height - TABLE_CHROME
    return None if points <= room else max(5, room)


def ranked_table(
    ranked: list[dict[str, Any]], parameters: list[str], metric: str, mode: str, limit: int | None = None
) -> Table:
    """Points ranked by the metric's mean (± std over repeats); the best row highlighted. With ``limit``, the
    first ``limit`` points and a caption saying how many more are in the summary."""
    table = Table(
        title=f"Ranked by {metric} ({'higher' if mode == 'max' else 'lower'} is better)", title_justify="left"
    )
    table.add_column("#", justify="right")
    for p in parameters:  # numbers right-aligned
        numeric = all(isinstance(r[p], (int, float)) and not isinstance(r[p], bool) for r in ranked)
        table.add_column(short_key(p), justify="right" if numeric and ranked else "left")
    table.add_column(metric, justify="right")
    repeated = any(r["trials"] > 1 for r in ranked)
    if repeated:
        table.add_column("± std", justify="right")
        table.add_column("n", justify="right")
    table.add_column("status")
    shown = ranked[:limit] if limit else ranked
    for i, row in enumerate(shown, 1):
        cells = [
            str(i),
            *[format_value(row[p]) for p in parameters],
            f"{row['mean']:.4f}" if row["mean"] is not None else "-",
        ]
        if repeated:
            cells += [f"{row['std']:.4f}" if row["std"] is not None else "", str(row["n"])]
        cells.append(", ".join(row["statuses"]))
        table.add_row(*cells, style="bold green" if i == 1 and row["mean"] is not None else None)
    if len(shown) < len(ranked):
        table.caption = f"… {len(ranked) - len(shown)} more points in summary.csv"
        table.caption_justify = "left"
    return table
