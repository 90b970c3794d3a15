"""Figures of a search: every trial's curve (pruned ones greyed), the metric against each numeric parameter,
the optimization history (best so far by trial) and the parameters' importances (Optuna's fANOVA).

Inputs are the same as :mod:`nnrun.report.sweep`'s: summary rows (``status``, the parameters, ``final_<metric>``)
and the trials' histories, in the sweep's order. :func:`plan_search_figures` plans them (nothing drawn) and
:func:`draw_search_figure` draws one; :func:`nnrun.report.sweep.plan_sweep_figures` registers them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nnrun import results
from nnrun.errors import InvalidArgumentError
from nnrun.report.figure import history_values, new_figure, plot_series, style_axes
from nnrun.report.planning import (  # re-exported: planned here before
    KINDS,
    _value,
    continuous,
    distinct,
    log_axis,
    numeric,
    plan_search_figures,
)
from nnrun.report.plots import readable_name

PRUNED_COLOR, DONE_COLOR, BEST_COLOR, BEST_SO_FAR_COLOR = "#b0b0b0", "C0", "#c0392b", "C1"


def _best(values: Sequence[float | None], mode: str) -> int | None:
    scored = [(v, i) for i, v in enumerate(values) if v is not None]
    if not scored:
        return None
    return (max if mode == "max" else min)(scored)[1]


# --- drawing ------------------------------------------------------------------------------------------


def draw_search_figure(
    kind: str,
    key: str,
    params: Sequence[str],
    mode: str,
    rows: Sequence[Mapping[str, Any]],
    histories: Sequence[Mapping[str, Sequence]],
) -> Figure:
    """Draw one planned search figure."""
    if kind == "trials":
        return trials_figure(rows, histories, key, mode)
    if kind == "scatter":
        return scatter_figure(rows, params[0], key, mode)
    if kind == "history":
        return history_figure(rows, key, mode)
    if kind == "importance":
        return importance_figure(rows, list(params), key, mode)
    raise InvalidArgumentError(f"Unknown search figure kind: {kind!r}. Expected one of: {', '.join(KINDS)}.")


def trials_figure(
    rows: Sequence[Mapping[str, Any]], histories: Sequence[Mapping[str, Sequence]], key: str, mode: str
) -> Figure:
    """Every trial's ``key`` by epoch: pruned trials greyed (their curves end where they were stopped), the
    others in colour, the best one in red."""
    fig = new_figure()
    ax = fig.add_subplot()
    series, n_epochs = [], 1
    finals = [_value(r, f"final_{key}") if r.get("status") != "pruned" else None for r in rows]
    best = _best(finals, mode)
    order = sorted(range(len(rows)), key=lambda i: (rows[i].get("status") != "pruned", i == best))  # grey first
    pruned = 0
    for i in order:
        row, history = rows[i], histories[i]
        if not isinstance(history, Mapping) or key not in history:
            continue
        values = history_values(history, key)
        series.append(values)
        n_epochs = max(n_epochs, len(values))
        if row.get("status") == "pruned":
            pruned += 1
            line = plot_series(ax, values, color=PRUNED_COLOR, linewidth=1.0, marker=None, alpha=0.9)
            if len(values):
                ax.plot([len(values)], [values[-1]], marker="x", color=PRUNED_COLOR, markersize=5)
        elif i == best:
            line = plot_series(ax, values, color=BEST_COLOR, linewidth=2.2, label=f"best: trial {row.get('id')}")
        else:
            line = plot_series(ax, values, color=DONE_COLOR, linewidth=1.2, marker=None, alpha=0.6)
        line.set_gid(f"trial-{row.get('id')}-{row.get('status')}")
    style_axes(ax, n_epochs, readable_name(key), series or [np.array([0.0])])
    ax.plot([], [], color=DONE_COLOR, alpha=0.6, label="completed")
    ax.plot([], [], color=PRUNED_COLOR, marker="x", label=f"pruned ({pruned}, × where stopped)")
    ax.legend(loc="best", fontsize="small", frameon=False)
    ax.set_title(f"{readable_name(key)} of every trial: {len(series)} trials, {pruned} pruned")
    return fig


def scatter_figure(rows: Sequence[Mapping[str, Any]], param: str, column: str, mode: str) -> Figure:
    """The final metric against a numeric parameter (log axis for values spanning decades); pruned trials as
    grey rings (their value is from the epoch they were stopped at), the best trial in red."""
    from nnrun.report.sweep import row_metric_name

    fig = new_figure()
    ax = fig.add_subplot()
    points = [(r[param], y, r.get("status")) for r in rows if param in r and (y := _value(r, column)) is not None]
    done = [(x, y) for x, y, s in points if s != "pruned"]
    pruned = [(x, y) for x, y, s in points if s == "pruned"]
    if pruned:
        x, y = zip(*pruned, strict=True)
        ax.scatter(x, y, facecolors="none", edgecolors=PRUNED_COLOR, s=30, label="pruned", gid="pruned")
    if done:
        ax.scatter(*zip(*done, strict=True), color=DONE_COLOR, s=30, label="completed", gid="completed")
        best = _best([y for _, y in done], mode)
        if best is not None:
            ax.scatter([done[best][0]], [done[best][1]], marker="*", s=180, color=BEST_COLOR, label="best", gid="best")
    if log_axis([x for x, _, _ in points]):
        ax.set_xscale("log")
    ax.set_xlabel(param)
    ax.set_ylabel(row_metric_name(column))
    ax.grid(True, alpha=0.3, linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="best", fontsize="small", frameon=False)
    ax.set_title(f"{row_metric_name(column)} against {results.short_names([param])[param]}")
    return fig


def history_figure(rows: Sequence[Mapping[str, Any]], column: str, mode: str) -> Figure:
    """The optimization history: each trial's final metric by trial (pruned ones grey) and the best so far, in
    the order the trials finished when every row says (``finished``, an ISO time; a grid with a pruner runs its
    trials shuffled), else in the rows' order."""
    from nnrun.report.sweep import row_metric_name

    timed = bool(rows) and all(row.get("finished") for row in rows)
    if timed:
        rows = sorted(rows, key=lambda row: str(row["finished"]))  # stable: ties keep the rows' order
    fig = new_figure()
    ax = fig.add_subplot()
    xs, ys, colors = [], [], []
    best_so_far: list[float] = []
    best: float | None = None
    for n, row in enumerate(rows, 1):
        y = _value(row, column)
        if y is None:
            continue
        xs.append(n)
        ys.append(y)
        pruned = row.get("status") == "pruned"
        colors.append(PRUNED_COLOR if pruned else DONE_COLOR)
        if not pruned and (best is None or (y > best if mode == "max" else y < best)):
            best = y
        best_so_far.append(math.nan if best is None else best)
    ax.scatter(xs, ys, c=colors, s=25, zorder=3, gid="trials")
    ax.step(xs, best_so_far, where="post", color=BEST_SO_FAR_COLOR, linewidth=2, label="best so far", gid="best")
    ax.scatter([], [], color=DONE_COLOR, s=25, label="completed")
    ax.scatter([], [], color=PRUNED_COLOR, s=25, label="pruned (value when stopped)")
    ax.set_xlabel("Trials, in the order they finished" if timed else "Trial")
    ax.set_ylabel(row_metric_name(column))
    ax.grid(True, alpha=0.3, linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="best", fontsize="small", frameon=False)
    ax.set_title("Optimization history")
    return fig


def importances(rows: Sequence[Mapping[str, Any]], params: Sequence[str], column: str, mode: str) -> dict[str, float]:
    """Each parameter's importance for the final metric over the completed trials (Optuna's fANOVA, seeded):
    parameter → share of the variance it explains, largest first."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.trial import create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    completed = [r for r in rows if r.get("status") == "completed" and _value(r, column) is not None]
    dists: dict[str, Any] = {}
    for p in params:
        values = [r.get(p) for r in completed]
        if numeric(values) and len(distinct(values)) > 1:
            low, high = float(min(values)), float(max(values))
            dists[p] = FloatDistribution(low, high, log=log_axis(values))
        elif len(distinct(values)) > 1:
            dists[p] = CategoricalDistribution([results.canonical(v) for v in distinct(values)])
    if not dists:
        return {}
    study = optuna.create_study(direction="maximize" if mode == "max" else "minimize")
    for r in completed:
        params = {
            p: float(r[p]) if isinstance(d, FloatDistribution) else results.canonical(r[p]) for p, d in dists.items()
        }
        study.add_trial(create_trial(params=params, distributions=dists, value=_value(r, column)))
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))


def importance_figure(rows: Sequence[Mapping[str, Any]], params: Sequence[str], column: str, mode: str) -> Figure:
    """Horizontal bars: how much of the final metric's variance each parameter explains (fANOVA)."""
    from nnrun.report.sweep import row_metric_name

    found = importances(rows, params, column, mode)
    fig = new_figure()
    ax = fig.add_subplot()
    names = results.short_names(list(found))
    ordered = list(found.items())[::-1]  # largest at the top
    ax.barh([names[p] for p, _ in ordered], [v for _, v in ordered], color=DONE_COLOR, gid="importance")
    for i, (_, v) in enumerate(ordered):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize="small")
    ax.set_xlabel("Importance (share of variance, fANOVA)")
    ax.set_xlim(0, max([v for _, v in ordered], default=1.0) * 1.15 or 1.0)
    ax.spines[["top", "right"]].set_visible(False)
    n = sum(r.get("status") == "completed" and _value(r, column) is not None for r in rows)
    ax.set_title(f"What drives {row_metric_name(column).lower()} ({n} completed trials)")
    return fig


__all__ = [
    "continuous",
    "draw_search_figure",
    "history_figure",
    "importance_figure",
    "importances",
    "log_axis",
    "plan_search_figures",
    "scatter_figure",
    "trials_figure",
]
