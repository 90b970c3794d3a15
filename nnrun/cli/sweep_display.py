"""What ``nnrun sweep`` shows: overall progress and ETA, a line per running trial, finished trials with their
result, then the ranked table. Plain lines when not in a terminal."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from nnrun.sweep.events import BatchProgress, EpochEnded, SweepEvent, TrialFinished
from nnrun.sweep.spec import TrialPoint


@dataclass
class RunningTrial:
    """What the display knows of a running trial: when it started, its epoch (from 1) and latest logs."""

    start: float
    epoch: int = 0
    epochs: int = 0
    logs: dict[str, float] = field(default_factory=dict)


class SweepDisplay:
    """A :class:`~nnrun.sweep.events.SweepObserver` rendering to a rich console; keeps a plain log."""

    def __init__(self, console: Console, trials: list[TrialPoint], metric: str, quiet: bool = False) -> None:
        self.console, self.metric, self.quiet = console, metric, quiet
        self.labels = {t.id: t.label + (f" (repeat {t.repeat})" if t.repeat else "") for t in trials}
        self.lines: list[str] = []
        self.running: dict[str, RunningTrial] = {}
        self._live: Live | None = None
        self._progress: Progress | None = None

    def say(self, text: str) -> None:
        self.lines.append(text)
        if self.quiet:
            return
        if self._live is not None:
            self._live.console.print(text, highlight=False, markup=False, soft_wrap=True)
        else:
            self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    # -- observer ------------------------------------------------------------------------------------

    def on_sweep_begin(self, folder: Path, total: int, pending: int, workers: int) -> None:
        done = total - pending
        self.say(
            f"Sweep {folder} : {total} trials, {pending} to run"
            + (f" ({done} already done)" if done else "")
            + f", {workers} worker{'s' if workers > 1 else ''}"
        )
        self._start = time.monotonic()
        if self.console.is_terminal and not self.quiet and pending:
            self._progress = Progress(
                TextColumn("trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._task = self._progress.add_task("trials", total=pending)
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.start()

    def on_event(self, event: SweepEvent) -> None:
        if isinstance(event, TrialFinished):
            self._finished(event)
        else:
            state = self.running.setdefault(event.trial_id, RunningTrial(time.monotonic()))
            if isinstance(event, (BatchProgress, EpochEnded)):
                state.epoch, state.epochs, state.logs = event.epoch, event.epochs, event.logs
        if self._live is not None:
            self._live.update(self._render())

    def _finished(self, event: TrialFinished) -> None:
        result, trial_id = event.result, event.trial_id
        state = self.running.pop(trial_id, None)
        seconds = result.duration or (time.monotonic() - state.start if state is not None else 0.0)
        shown = f"{self.metric} {event.value:.4f}" if event.value is not None else ""
        mark = {"completed": "done", "diverged": "DIVERGED", "failed": "FAILED", "interrupted": "stopped"}[
            result.status
        ]
        detail = shown if result.status == "completed" else result.stop_reason
        self.say(f"{mark:>8} {trial_id} {self.labels.get(trial_id, '')}  {detail}  ({seconds:.1f}s)")
        if self._progress is not None:
            self._progress.advance(self._task)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _render(self) -> Group:
        rows = Table.grid(padding=(0, 2))
        for trial_id, state in sorted(self.running.items()):
            epoch = f"epoch {state.epoch}/{state.epochs}" if state.epochs else "starting"
            logs = state.logs
            metric = self.metric if self.metric in logs else next((k for k in ("loss",) if k in logs), None)
            rows.add_row(
                f"  {trial_id}", self.labels.get(trial_id, ""), epoch, f"{metric} {logs[metric]:.4f}" if metric else ""
            )
        return Group(self._progress, rows) if self._progress is not None else Group(rows)


def ranked_table(
    ranked: list[dict[str, Any]], parameters: list[str], metric: str, mode: str, limit: int | None = None
) -> Table:
    """Points ranked by the metric's mean (± std over repeats); the best row highlighted."""
    table = Table(
        title=f"Ranked by {metric} ({'higher' if mode == 'max' else 'lower'} is better)", title_justify="left"
    )
    table.add_column("#", justify="right")
    for p in parameters:
        table.add_column(p.rsplit(".", 1)[-1])
    table.add_column(metric, justify="right")
    repeated = any(r["trials"] > 1 for r in ranked)
    if repeated:
        table.add_column("± std", justify="right")
        table.add_column("n", justify="right")
    table.add_column("status")
    for i, row in enumerate(ranked[:limit] if limit else ranked, 1):
        cells = [str(i), *[str(row[p]) for p in parameters], f"{row['mean']:.4f}" if row["mean"] is not None else "-"]
        if repeated:
            cells += [f"{row['std']:.4f}" if row["std"] is not None else "", str(row["n"])]
        cells.append(", ".join(row["statuses"]))
        table.add_row(*cells, style="bold green" if i == 1 and row["mean"] is not None else None)
    return table
