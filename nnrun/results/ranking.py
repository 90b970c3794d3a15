"""Points of a sweep (parameter combinations), their mean ± std over repeats, ranked best first.

Rows are flat mappings, as in a sweep's summary: ``{"model.hidden.activation": "relu", "final_val_accuracy":
0.93, ...}``. Missing values, None, NaN and inf (a failed or diverged trial) are left out of every mean.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nnrun.results.metrics import check_direction
from nnrun.results.rows import finite


def mean_std(values: Iterable[Any]) -> tuple[float | None, float | None, int]:
    """(mean, sample standard deviation, count) of the finite values; None when there are too few."""
    numbers = [v for value in values if (v := finite(value)) is not None]
    mean = statistics.fmean(numbers) if numbers else None
    std = statistics.stdev(numbers) if len(numbers) > 1 else None
    return mean, std, len(numbers)


def canonical(value: Any) -> str:
    """A hashable stand-in for a parameter value (values can be lists or mappings)."""
    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class Point:
    """One combination of the swept parameters and the rows (trials, one per repeat) that have it."""

    params: dict[str, Any]
    """The combination: parameter -> value."""
    rows: list[Any] = field(default_factory=list)
    """Its rows, in the order given."""
    mean: float | None = None
    """The mean of the ranking column over its rows' finite values; None if none has one."""
    std: float | None = None
    """Their sample standard deviation; None with fewer than two values."""
    n: int = 0
    """How many of its rows have a finite value."""

    @property
    def statuses(self) -> list[str]:
        """Its rows' statuses, sorted, each once."""
        return sorted({str(_get(r, "status")) for r in self.rows if _get(r, "status") is not None})


def rank(rows: Sequence[Any], column: str, mode: str, parameters: Sequence[str]) -> list[Point]:
    """Group ``rows`` by their values of ``parameters`` and rank the points by the mean of ``column``.

    Best first (``mode``: ``"max"`` or ``"min"``); points without a value come last; ties keep the order of
    their first row. A row is a mapping (or an object with attributes) holding ``column`` and the parameters.
    """
    check_direction(mode)
    groups: dict[str, Point] = {}
    for row in rows:
        params = {p: _get(row, p) for p in parameters}
        groups.setdefault(canonical(list(params.values())), Point(params)).rows.append(row)
    points = list(groups.values())
    for point in points:
        point.mean, point.std, point.n = mean_std(_get(r, column) for r in point.rows)
    sign = -1 if mode == "max" else 1
    points.sort(key=lambda p: (p.mean is None, sign * (p.mean or 0.0)))
    return points


def best_point(rows: Sequence[Any], column: str, mode: str, parameters: Sequence[str]) -> Point | None:
    """The point with the best mean of ``column``; None when no row has a value."""
    points = rank(rows, column, mode, parameters)
    return points[0] if points and points[0].mean is not None else None


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)


__all__ = ["Point", "best_point", "canonical", "mean_std", "rank"]
