"""Which figures a sweep saves, by name, without drawing them: importable without the plotting stack, so the
sweep's own process plans its figures and only the workers that draw them import matplotlib.

:func:`plan_sweep_figures` plans a sweep's comparison figures (:mod:`nnrun.report.sweep` draws them) and
:func:`plan_search_figures` those of a search or a pruned sweep (:mod:`nnrun.report.search` draws them).
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nnrun import results
from nnrun.errors import InvalidArgumentError, did_you_mean
from nnrun.results import primary_metric, short_names

MAX_PANELS = 12  # a parameter with more values than this is not split into panels
KINDS = ("trials", "scatter", "history", "importance")  # a search's figures (nnrun.report.search draws them)
CONTINUOUS = 8  # a numeric parameter with more distinct values than this is continuous: no heatmap, no curves
SCATTER_MIN = 3  # distinct values of a numeric parameter to draw the metric against it
HISTORY_MIN = 5  # trials with a value before the optimization history is drawn
IMPORTANCE_MIN = 8  # completed trials with a value before the importances are computed
LOG_RATIO = 20.0  # positive values spanning this ratio get a log axis


# --- names and values -------------------------------------------------------------------------------


def file_safe(text: str) -> str:
    """Letters, digits, ``.``, ``_``, ``-`` and ``=``; anything else becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-.") or "x"


def _key(value: Any) -> str:
    """A hashable stand-in for a parameter value (values can be lists or mappings)."""
    return results.canonical(value)


def _ordered(values: Sequence[Any]) -> list[Any]:
    """Distinct values: numbers ascending, anything else in the order first seen (the sweep's order)."""
    found = distinct(values)
    return sorted(found) if numeric(found) else found


def numeric(values: Sequence[Any]) -> bool:
    """Every value is a number (not a boolean) and there is at least one."""
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def distinct(values: Sequence[Any]) -> list[Any]:
    """The values, each once (compared as :func:`_key` does), in the order first seen."""
    return list({_key(v): v for v in values}.values())


def continuous(rows: Sequence[Mapping[str, Any]], param: str) -> bool:
    """A numeric parameter with many distinct values (a range searched by random, tpe or cmaes)."""
    values = [r[param] for r in rows if param in r and r[param] is not None]
    return numeric(values) and len(distinct(values)) > CONTINUOUS


def log_axis(values: Sequence[float]) -> bool:
    """Positive values spanning at least :data:`LOG_RATIO` (a log-scaled range, or a grid of decades)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) >= LOG_RATIO


def _value(row: Mapping[str, Any], column: str) -> float | None:
    return results.finite(row.get(column))


def importances_available() -> bool:
    """Whether Optuna's fANOVA can run (Optuna and scikit-learn's random forests), without importing either."""
    return all(importlib.util.find_spec(name) is not None for name in ("optuna", "sklearn"))


# --- a sweep's figures -----------------------------------------------------------------------------


def curve_metrics(histories: Sequence[Mapping[str, Sequence]], metric: str | None = None) -> list[str]:
    """The history keys worth curves: the validation loss and primary metric (train ones without
    validation data), then ``metric`` if it is another key the histories have."""
    keys = list(dict.fromkeys(k for h in histories for k in h))
    if not keys:
        return []
    first = next(h for h in histories if h)
    bases = list(dict.fromkeys(["loss", primary_metric(first)]))
    out = [f"val_{b}" if f"val_{b}" in keys else b for b in bases if b in keys or f"val_{b}" in keys]
    if metric is not None and metric in keys and metric not in out:
        out.append(metric)
    return out


@dataclass(frozen=True)
class SweepFigure:
    """One figure a sweep saves: its file name and what it draws. Planned without drawing anything."""

    name: str
    """The file name in the sweep's ``figures/`` folder."""
    kind: str
    """``curves`` (one curve per value of ``params[0]``, one panel per value of ``params[1]`` if there is one),
    ``heatmap`` (``params``: x, y) or ``bars``."""
    key: str
    """The history key of the curves, or the row column of the heatmap and bars (``final_<metric>``)."""
    params: tuple[str, ...]
    """The parameters it compares."""
    mode: str | None
    """``max`` or ``min``: which end of ``key`` is best (None for curves, which mark no best)."""


def plan_sweep_figures(
    rows: Sequence[Mapping[str, Any]],
    histories: Sequence[Mapping[str, Sequence]],
    metric: str,
    parameters: Sequence[str],
    mode: str | None = None,
    repeated: bool = False,
) -> list[SweepFigure]:
    """The figures a sweep saves in its ``figures/`` folder, in order, without drawing them.

    ``rows[i]`` (a summary row: the parameters and ``final_<key>`` values) and ``histories[i]`` describe the
    same trial. For each swept parameter, ``curves_<param>_<key>.png`` for the validation loss and the primary
    metric (see :func:`curve_metrics`); for the first two parameters, ``heatmap_<p1>_<p2>_<metric>.png`` of
    the final ``metric``; with repeats or a single parameter, ``bars_<metric>.png``. ``metric`` is a history
    key (``"val_accuracy"``); best is ``mode``, by default the metric's direction.
    """
    params = [p for p in parameters if any(p in r for r in rows)]
    if not rows or not params:
        return []
    searched = _search_figures(rows, histories, metric, params, mode)  # pruned trials, numeric ranges
    params = [p for p in params if not continuous(rows, p)]  # a searched range: no heatmap or curves
    names = {p: file_safe(n) for p, n in short_names(params).items()}
    planned: list[SweepFigure] = []
    drawn = [(r, h) for r, h in zip(rows, histories) if isinstance(h, Mapping) and h.get("loss")]
    for key in curve_metrics([h for _, h in drawn], metric):
        for param in params:
            if any(key in h and param in r for r, h in drawn):
                name = f"curves_{names[param]}_{file_safe(key)}.png"
                planned.append(SweepFigure(name, "curves", key, (param, *_panels_by(param, params, rows)), None))
    column = f"final_{metric}"
    if not any(column in r for r in rows):
        return planned + searched
    mode = results.direction(metric) if mode is None else results.check_direction(mode)
    if len(params) >= 2:
        p1, p2 = params[:2]
        usable = [r for r in rows if p1 in r and p2 in r]
        n1, n2 = len(_ordered([r[p1] for r in usable])), len(_ordered([r[p2] for r in usable]))
        x, y = (p1, p2) if n1 <= n2 else (p2, p1)  # the longer list goes down the side
        name = f"heatmap_{names[p1]}_{names[p2]}_{file_safe(metric)}.png"
        planned.append(SweepFigure(name, "heatmap", column, (x, y), mode))
    if repeated or len(params) == 1:
        planned.append(SweepFigure(f"bars_{file_safe(metric)}.png", "bars", column, tuple(params), mode))
    return planned + searched


def _search_figures(
    rows: Sequence[Mapping[str, Any]],
    histories: Sequence[Mapping[str, Sequence]],
    metric: str,
    params: Sequence[str],
    mode: str | None,
) -> list[SweepFigure]:
    mode = results.direction(metric) if mode is None else results.check_direction(mode)
    planned = plan_search_figures(rows, histories, metric, params, mode)
    return [SweepFigure(name, kind, key, tuple(ps), mode) for name, kind, key, ps in planned]


def headline_figure(planned: Sequence[SweepFigure], metric: str) -> SweepFigure:
    """The one figure that sums a sweep up: the heatmap (two parameters), else the curves of ``metric`` (one
    parameter), else the first planned."""
    if not planned:
        raise InvalidArgumentError("A sweep with no figures has no headline figure.")
    heatmaps = [f for f in planned if f.kind == "heatmap"]
    curves = [f for f in planned if f.kind == "curves" and f.key == metric]
    return (heatmaps or curves or list(planned))[0]


def pick_sweep_figure(planned: Sequence[SweepFigure], name: str) -> SweepFigure:
    """The planned figure called ``name`` (its file name, with or without ``.png``), or the first of a kind
    (``heatmap``, ``curves``, ``bars``); an error naming the figures otherwise."""
    stem = name.removesuffix(".png")
    for f in planned:
        if stem == f.name.removesuffix(".png"):
            return f
    for f in planned:
        if stem == f.kind:
            return f
    names = [f.name.removesuffix(".png") for f in planned]
    kinds = list(dict.fromkeys(f.kind for f in planned))
    raise InvalidArgumentError(
        f"--figure {name}: the sweep has no such figure. Figures: {', '.join(names)} (or a kind: {', '.join(kinds)})."
        + did_you_mean(stem, [*names, *kinds])
    )


def _panels_by(param: str, params: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """The parameter whose values split ``param``'s curves into panels: the other of the first two swept
    ones, when it has at most :data:`MAX_PANELS` values; none for a single parameter."""
    others = [p for p in params[:2] if p != param]
    if not others:
        return ()
    values = _ordered([r[others[0]] for r in rows if others[0] in r])
    return (others[0],) if 1 < len(values) <= MAX_PANELS else ()


# --- a search's figures ----------------------------------------------------------------------------


def plan_search_figures(
    rows: Sequence[Mapping[str, Any]],
    histories: Sequence[Mapping[str, Sequence]],
    metric: str,
    parameters: Sequence[str],
    mode: str,
) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(file name, kind, key, parameters) of each search figure the rows call for:

    ``trials_<metric>.png`` when a trial was pruned; ``<metric>_vs_<param>.png`` for each numeric parameter with
    at least 3 values; and for a search (a continuous parameter, or pruned trials) ``history_<metric>.png`` from
    5 trials with a value and ``importance_<metric>.png`` from 8 completed trials and 2 parameters, when Optuna
    and scikit-learn are installed.
    """
    planned: list[tuple[str, str, str, tuple[str, ...]]] = []
    column = f"final_{metric}"
    safe = file_safe(metric)
    names = {p: file_safe(n) for p, n in results.short_names(list(parameters)).items()}
    if any(r.get("status") == "pruned" for r in rows) and any(metric in h for h in histories):
        planned.append((f"trials_{safe}.png", "trials", metric, tuple(parameters)))
    valued = [r for r in rows if _value(r, column) is not None]
    for param in parameters:
        values = [r[param] for r in valued if param in r]
        if numeric(values) and len(distinct(values)) >= SCATTER_MIN:
            planned.append((f"{safe}_vs_{names[param]}.png", "scatter", column, (param,)))
    searched = any(continuous(rows, p) for p in parameters) or any(r.get("status") == "pruned" for r in rows)
    if searched and len(valued) >= HISTORY_MIN:  # a grid's order means nothing: no history for it
        planned.append((f"history_{safe}.png", "history", column, tuple(parameters)))
    completed = [r for r in valued if r.get("status") == "completed"]
    if searched and len(completed) >= IMPORTANCE_MIN and len(parameters) >= 2 and importances_available():
        planned.append((f"importance_{safe}.png", "importance", column, tuple(parameters)))
    return planned


__all__ = [
    "KINDS",
    "SweepFigure",
    "continuous",
    "curve_metrics",
    "distinct",
    "file_safe",
    "headline_figure",
    "importances_available",
    "log_axis",
    "numeric",
    "pick_sweep_figure",
    "plan_search_figures",
    "plan_sweep_figures",
]
