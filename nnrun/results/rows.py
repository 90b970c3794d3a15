"""A trial's row: one line of a sweep's ``summary.csv`` / ``summary.json``, built here and nowhere else.

On disk a row is flat: ``id``, the swept parameters (dotted keys), ``repeat``, ``seed``, ``status``,
``reason``, then, for a trial that has a run folder, ``epochs_run``, ``duration_seconds``,
``final_<key>``, ``best_<key>``, ``test_<key>`` and ``folder``. :class:`TrialRow` is that row, typed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nnrun.results.metrics import NOT_METRICS

PREFIXES = ("final_", "best_", "test_")


def finite(value: Any) -> float | None:
    """``value`` as a finite float; None for null, NaN, inf, booleans, text that is not a number, missing values."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def final_values(metrics: Mapping[str, Any] | None, history: Mapping[str, Sequence] | None) -> dict[str, Any]:
    """A trial's final value per metric: what its saved weights achieved (``metrics.json``'s ``kept``: the
    last epoch, or the best epoch EarlyStopping restored), else ``final``, else its history's last epoch.

    The learning rate and the epoch times are not metrics and are left out.
    """
    metrics = metrics if isinstance(metrics, Mapping) else {}
    kept = metrics.get("kept")
    final = kept if isinstance(kept, Mapping) and kept else metrics.get("final")
    if not isinstance(final, Mapping) or not final:
        final = {k: v[-1] for k, v in (history or {}).items() if isinstance(v, (list, tuple)) and v}
    return {k: v for k, v in final.items() if k not in NOT_METRICS}


@dataclass
class TrialRow:
    """One trial of a sweep, as its summary row. Fields after ``reason`` are set only once it has a run folder."""

    id: str
    """The trial's id in the manifest (``"0001"``)."""
    params: dict[str, Any]
    """The swept parameters: dotted config key -> value."""
    repeat: int
    """Which repeat of its parameter combination (0-based)."""
    seed: int | None
    """The trial's seed."""
    status: str
    """pending, running, completed, diverged, failed or interrupted."""
    reason: str | None = None
    """Why it ended (the run's stop reason), or None."""
    folder: str | None = None
    """Its run folder, relative to the sweep folder; None until it has one."""
    epochs_run: int | None = None
    """Epochs finished."""
    duration_seconds: float | None = None
    """Wall-clock time of the trial."""
    weights_epoch: int | None = None
    """The epoch whose weights the trial kept (the last, or the best one EarlyStopping restored); None in
    folders written before it was recorded."""
    final: dict[str, Any] = field(default_factory=dict)
    """What the kept weights achieved per history key (``final_<key>`` on disk): the value at
    ``weights_epoch``, which is the last epoch unless EarlyStopping restored an earlier one."""
    best: dict[str, Any] = field(default_factory=dict)
    """The best epoch's value per history key (``best_<key>`` on disk)."""
    test: dict[str, Any] = field(default_factory=dict)
    """The test set's evaluation per metric (``test_<key>`` on disk)."""

    def value(self, metric: str) -> float | None:
        """The final ``metric`` as a finite float, or None."""
        return finite(self.final.get(metric))

    def to_json(self) -> dict[str, Any]:
        """The flat row written to summary.json and summary.csv."""
        row: dict[str, Any] = {
            "id": self.id,
            **self.params,
            "repeat": self.repeat,
            "seed": self.seed,
            "status": self.status,
            "reason": self.reason,
        }
        if self.folder is not None:
            row["epochs_run"] = self.epochs_run
            row["duration_seconds"] = self.duration_seconds
            if self.weights_epoch is not None:
                row["weights_epoch"] = self.weights_epoch
            row.update({f"final_{k}": v for k, v in self.final.items()})
            row.update({f"best_{k}": v for k, v in self.best.items()})
            row.update({f"test_{k}": v for k, v in self.test.items()})
            row["folder"] = self.folder
        return row

    @classmethod
    def from_json(cls, row: Mapping[str, Any], parameters: Sequence[str]) -> TrialRow:
        """A row read back from summary.json; ``parameters`` are the sweep's swept keys."""
        return cls(
            id=str(row.get("id", "")),
            params={p: row[p] for p in parameters if p in row},
            repeat=row["repeat"] if isinstance(row.get("repeat"), int) else 0,
            seed=row.get("seed"),
            status=str(row.get("status") or "unknown"),
            reason=row.get("reason"),
            folder=row.get("folder"),
            epochs_run=row.get("epochs_run"),
            duration_seconds=row.get("duration_seconds"),
            weights_epoch=row.get("weights_epoch") if isinstance(row.get("weights_epoch"), int) else None,
            **{p.rstrip("_"): {k[len(p) :]: v for k, v in row.items() if k.startswith(p)} for p in PREFIXES},
        )


def trial_row(
    id: str,
    params: Mapping[str, Any],
    repeat: int,
    seed: int | None,
    status: str,
    reason: str | None = None,
    folder: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    history: Mapping[str, Sequence] | None = None,
) -> TrialRow:
    """A trial's row from its manifest entry and, when it has a ``folder``, its run's metrics and history."""
    row = TrialRow(id=id, params=dict(params), repeat=repeat, seed=seed, status=status, reason=reason)
    if folder is not None:
        metrics = metrics if isinstance(metrics, Mapping) else {}
        row.folder = folder
        row.epochs_run = metrics.get("epochs_run")
        row.duration_seconds = metrics.get("duration_seconds")
        epoch = metrics.get("weights_epoch")
        row.weights_epoch = epoch if isinstance(epoch, int) else None
        row.final = final_values(metrics, history)
        best = metrics.get("best") if isinstance(metrics.get("best"), Mapping) else {}
        row.best = {k: b.get("value") if isinstance(b, Mapping) else None for k, b in best.items()}
        test = metrics.get("test")
        row.test = dict(test) if isinstance(test, Mapping) else {}
    return row


__all__ = ["TrialRow", "final_values", "finite", "trial_row"]
