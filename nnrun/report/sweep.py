"""Figures that compare a sweep's trials: curves per parameter value, a heatmap of two parameters, bars.

A trial is described by its parameters (``{"model.hidden.activation": "relu", ...}``, the sweep's dotted
keys) and its history (Keras's ``history.history``). A row is one trial's parameters and numbers, as in a
sweep's summary: ``{"model.hidden.activation": "relu", "final_val_accuracy": 0.93, ...}``. Missing
values, ``None`` and NaN (a failed or diverged trial) are skipped in every mean.

Only the object-oriented API is used, as in :mod:`nnrun.report.plots`: every function returns a new
``Figure`` and the caller saves it.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import FuncNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from nnrun import results
from nnrun.errors import InvalidArgumentError, did_you_mean
from nnrun.report import search
from nnrun.report.figure import (
    FIGSIZE,
    check_history,
    history_values,
    new_figure,
    plot_series,
    run_styles,
    style_axes,
)
from nnrun.report.planning import (  # re-exported: planned here before, drawn here still
    KINDS,
    SweepFigure,
    _key,
    _ordered,
    curve_metrics,
    file_safe,
    headline_figure,
    pick_sweep_figure,
    plan_sweep_figures,
)
from nnrun.report.plots import readable_name
from nnrun.results import format_value, short_names

BEST_COLOR, BAR_COLOR, BEST_EDGE = "C0", "#b3c6de", "#c0392b"
MAX_BARS = 40  # more points than this: the best 40 are drawn and the figure says so
ROTATE_LABELS = 6  # x tick labels longer than this many characters are rotated
MAX_PANEL_COLUMNS = 4  # small multiples: panels per row
PANEL_WIDTH, PANEL_HEIGHT = 3.0, 2.5  # inches per panel
RANK_TICKS = 6  # values named on a heatmap's rank colour bar
ROW_PREFIXES = {"final_": "Final", "best_": "Best", "test_": "Test"}


# --- names and values -------------------------------------------------------------------------------


def row_metric_name(key: str) -> str:
    """``"final_val_accuracy"`` -> ``"Final validation accuracy"``; a plain history key as readable_name."""
    for prefix, word in ROW_PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            base = readable_name(key[len(prefix) :])
            return f"{word} {base if base.isupper() else base[0].lower() + base[1:]}"
    return readable_name(key)


def _number(value: Any) -> float:
    """A row's value as a float; None, text and missing values are NaN."""
    number = results.finite(value)
    return math.nan if number is None else number


def _check_rows(rows: object, needed: Sequence[str], metric: str) -> list[Mapping[str, Any]]:
    if isinstance(rows, Mapping) or not isinstance(rows, Sequence) or not rows:
        raise InvalidArgumentError(f"rows must be a non-empty list of mappings. Received: rows={rows!r:.80}")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidArgumentError(f"rows[{i}] must be a mapping. Received: rows[{i}]={row!r:.80}")
        for key in needed:
            if key not in row:
                raise InvalidArgumentError(
                    f"rows[{i}] has no parameter {key!r}. It has: {', '.join(map(str, row))}."
                    + did_you_mean(key, [str(k) for k in row], complete=True)
                )
    if not any(metric in row for row in rows):
        numeric = list(dict.fromkeys(str(k) for row in rows for k, v in row.items() if not np.isnan(_number(v))))
        raise InvalidArgumentError(
            f"No row has {metric!r}. The rows have: {', '.join(numeric) or 'no numbers'}."
            + did_you_mean(metric, numeric, complete=True)
        )
    return list(rows)


def _point_stats(point: results.Point) -> tuple[float, float, int]:
    """A point's (mean, sample std, count of finite values) for drawing: NaN mean when it has no value, std 0
    for one value."""
    return (math.nan if point.mean is None else point.mean), (0.0 if point.std is None else point.std), point.n


def _title(ax, title: str | None, default: str) -> None:
    """The given title, or the default one wrapped to the figure's width (each line wrapped on its own)."""
    if title is None:
        chars = max(30, int(ax.figure.get_figwidth() * 9))
        title = "\n".join(textwrap.fill(line, chars) for line in default.split("\n"))
    ax.set_title(title)


def _format_cell(value: float) -> str:
    return f"{value:.3f}" if 1e-3 <= abs(value) < 1e3 or value == 0 else f"{value:.3g}"


# --- curves per parameter value ---------------------------------------------------------------------


def param_curves_figure(
    trials: Sequence[tuple[Mapping[str, Any], Mapping[str, Sequence[float]]]],
    param: str,
    metric: str,
    title: str | None = None,
    by: str | None = None,
) -> Figure:
    """One curve of ``metric`` per value of ``param``: the median over the trials with that value, each of
    them drawn thin beside it.

    With ``by`` (another swept parameter), one panel per value of ``by`` (small multiples, a shared y axis),
    so that a curve never mixes trials that differ in ``by``: a mean over ``zeros`` and ``he_normal`` matches
    no real run. The median at each epoch is over the trials that reached it with a finite value. Trials
    whose history lacks ``metric`` (failed before the first epoch) are left out; a value all of whose trials
    diverged ends where they did.
    """
    if isinstance(trials, Mapping) or not isinstance(trials, Sequence) or not trials:
        raise InvalidArgumentError(
            f"trials must be a non-empty list of (params, history) pairs. Received: trials={trials!r:.80}"
        )
    for i, pair in enumerate(trials):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], Mapping)):
            raise InvalidArgumentError(
                f"trials[{i}] must be a (params, history) pair. Received: trials[{i}]={pair!r:.80}"
            )
        params, history = pair
        check_history(history, f"trials[{i}] history")
        for key in (param, by) if by is not None else (param,):
            if key not in params:
                raise InvalidArgumentError(
                    f"trials[{i}] has no parameter {key!r}. It has: {', '.join(params) or 'none'}."
                    + did_you_mean(key, params, complete=True)
                )
    series = [
        (params, history_values(history, metric, f"trials[{i}] history"))
        for i, (params, history) in enumerate(trials)
        if metric in history and len(history[metric])
    ]
    if not series:
        available = sorted({k for _, h in trials for k in h})
        raise InvalidArgumentError(
            f"No trial has {metric!r}. The histories have: {', '.join(available) or 'nothing'}."
            + did_you_mean(metric, available, complete=True)
        )

    names = short_names([param, by]) if by is not None and by != param else {param: short_names([param])[param]}
    values = _ordered([p[param] for p, _ in trials])
    panels = _ordered([p[by] for p, _ in trials]) if by is not None else [None]
    n_epochs = max(len(s) for _, s in series)
    columns = min(len(panels), MAX_PANEL_COLUMNS)
    rows = math.ceil(len(panels) / columns)
    legend_rows = math.ceil(len(values) / min(len(values), 4))
    size = (max(FIGSIZE[0], PANEL_WIDTH * columns), (FIGSIZE[1] if rows == 1 else PANEL_HEIGHT * rows + 1.2))
    fig = new_figure((size[0], size[1] + 0.2 * legend_rows))
    axes = fig.subplots(rows, columns, sharey=True, squeeze=False).ravel()
    styles = dict(zip([_key(v) for v in values], run_styles(len(values))))
    several = False
    for ax, panel in zip(axes, panels):
        shown = [(p, s) for p, s in series if by is None or _key(p[by]) == _key(panel)]
        plotted: list[np.ndarray] = []
        for value in values:
            group = [s for p, s in shown if _key(p[param]) == _key(value)]
            if not group:
                continue
            color, style = styles[_key(value)]
            stack = np.full((len(group), n_epochs), np.nan)
            for row, s in zip(stack, group):
                row[: len(s)] = np.where(np.isfinite(s), s, np.nan)
            if len(group) > 1:
                several = True
                for row in stack:
                    plot_series(ax, row, color=color, linestyle="-", linewidth=0.7, alpha=0.35, marker=None, gid="run")
            label = format_value(value)
            diverged = sum(not np.isfinite(s).all() for s in group)
            notes = ([f"n={len(group)}"] if len(group) > 1 and by is None else []) + (
                [f"{diverged} diverged"] if diverged else []
            )
            label += f" ({', '.join(notes)})" if notes else ""
            plot_series(ax, _column_median(stack), color=color, linestyle=style, label=label, gid="median")
            plotted += [row for row in stack]
        style_axes(ax, n_epochs, readable_name(metric) if ax in axes[::columns] else "", plotted or [np.zeros(1)])
        if by is not None:
            ax.set_title(f"{names[by]} = {format_value(panel)}", fontsize=9.5)
        if ax not in axes[len(axes) - columns :]:
            ax.set_xlabel("")
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    heading = f"{readable_name(metric)} by {names[param]}"
    if by is not None:
        heading += f", one panel per {names[by]}"
        if title is None:
            chars = max(30, int(fig.get_figwidth() * 9))
            fig.suptitle(textwrap.fill(heading, chars))
        else:
            fig.suptitle(title)
    else:
        _title(axes[0], title, heading)
    legend_title = f"{names[param]} ({'median; thin: each run' if several else 'one run each'})"
    if by is None and len(values) <= 6:
        axes[0].legend(title=legend_title, loc="best", fontsize=8.5, title_fontsize=8.5, frameon=False)
    else:
        handles, labels = _unique_legend(axes)
        fig.legend(
            handles,
            labels,
            title=legend_title,
            loc="outside lower center",
            ncols=min(len(labels), 4),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
        )
    return fig


def _unique_legend(axes) -> tuple[list, list[str]]:
    """The panels' median lines, each value once, in the order first drawn."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for line in ax.lines:
            if line.get_gid() == "median":
                value = line.get_label().split(" (")[0]
                seen.setdefault(value, line)
    return list(seen.values()), list(seen)


def _column_median(stack: np.ndarray) -> np.ndarray:
    """Per-epoch median over the rows with a finite value there (NaN where none has one)."""
    out = np.full(stack.shape[1], np.nan)
    for j in range(stack.shape[1]):
        column = stack[:, j][np.isfinite(stack[:, j])]
        if column.size:
            out[j] = float(np.median(column))
    return out


# --- heatmap of two parameters ----------------------------------------------------------------------


def heatmap_figure(
    rows: Sequence[Mapping[str, Any]],
    x_param: str,
    y_param: str,
    metric: str,
    mode: str = "max",
    title: str | None = None,
) -> Figure:
    """The mean of ``metric`` (a row key, e.g. ``"final_val_accuracy"``) over the grid of two parameters.

    Each cell shows its mean (and ``±`` the sample std when it has several finite values); the best cell
    (``mode``: ``"max"`` or ``"min"``) is outlined. Brighter is better either way. Colours follow the cells'
    ranks (each distinct value one even step of the colour map), so that close good cells differ in colour
    as much as they differ in rank; the colour bar names the values. A combination with no
    row is blank; one whose rows have no value (failed or diverged) shows a dash.
    """
    results.check_direction(mode)
    rows = _check_rows(rows, [x_param, y_param], metric)
    xs, ys = _ordered([r[x_param] for r in rows]), _ordered([r[y_param] for r in rows])
    x_index, y_index = {_key(v): j for j, v in enumerate(xs)}, {_key(v): i for i, v in enumerate(ys)}
    points = results.rank(rows, metric, mode, [y_param, x_param])  # best first
    cells = [(y_index[_key(p.params[y_param])], x_index[_key(p.params[x_param])]) for p in points]
    mean, std, count = (np.full((len(ys), len(xs)), np.nan) for _ in range(3))
    for (i, j), point in zip(cells, points):
        mean[i, j], std[i, j], count[i, j] = _point_stats(point)

    names = short_names([x_param, y_param]) if x_param != y_param else {x_param: short_names([x_param])[x_param]}
    x_labels, y_labels = [format_value(v) for v in xs], [format_value(v) for v in ys]
    width = max(FIGSIZE[0], 0.95 * len(xs) + 0.09 * max(map(len, y_labels)) + 2.4)
    height = max(3.6, 0.5 * len(ys) + 0.07 * max(map(len, x_labels)) + 1.8)
    fig = new_figure((min(width, 16), min(height, 14)))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis" if mode == "max" else "viridis_r"]
    norm, ticks = _rank_norm(mean[np.isfinite(mean)])
    image = ax.imshow(np.ma.masked_invalid(mean), cmap=cmap, norm=norm, aspect="auto")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.9)
    colorbar.set_label(row_metric_name(metric) + (" (colour by rank)" if ticks is not None else ""))
    if ticks is not None:
        colorbar.set_ticks(ticks, labels=[_format_cell(t) for t in ticks])
        colorbar.minorticks_off()

    best = cells[0] if points[0].mean is not None else None
    for i, j in cells:
        if not math.isfinite(mean[i, j]):
            ax.text(j, i, "—", ha="center", va="center", color="0.45", fontsize=9, gid="cell")
            continue
        text = _format_cell(mean[i, j]) + (f"\n±{_format_cell(std[i, j])}" if count[i, j] > 1 else "")
        r, g, b, _ = cmap(norm(mean[i, j]))
        color = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"
        weight = "bold" if (i, j) == best else "normal"
        size = 9 if len(xs) <= 8 else 7.5
        ax.text(j, i, text, ha="center", va="center", color=color, fontsize=size, fontweight=weight, gid="cell")
    if best is not None:
        i, j = best
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=BEST_EDGE, linewidth=2.5, gid="best"))

    ax.set_xticks(range(len(xs)), x_labels)
    ax.set_yticks(range(len(ys)), y_labels)
    if max(map(len, x_labels)) > ROTATE_LABELS:
        ax.tick_params(axis="x", labelrotation=35)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    ax.tick_params(length=0)
    ax.spines[:].set_visible(False)
    ax.set_xlabel(names[x_param])
    ax.set_ylabel(names[y_param])
    repeats = int(np.nanmax(count)) if np.isfinite(count).any() else 0
    default = f"{row_metric_name(metric)} by {names[x_param]} and {names[y_param]}"
    default += f"\n(mean ± std of {repeats} per cell; best {'highest' if mode == 'max' else 'lowest'})" * (repeats > 1)
    _title(ax, title, default)
    return fig


def _rank_norm(values: np.ndarray) -> tuple[Normalize, list[float] | None]:
    """A colour scale on which each distinct value is one even step (its rank), so that the differences
    among close good cells show as much as the gap to the bad ones; and the values to tick on the colour
    bar. With fewer than 3 distinct values, a linear scale (and no ticks of its own)."""
    distinct = np.unique(values)
    if distinct.size < 3:
        return Normalize(*(distinct.min(), distinct.max()) if distinct.size else (0, 1)), None
    steps = np.linspace(0.0, 1.0, distinct.size)
    norm = FuncNorm(
        (lambda x: np.interp(x, distinct, steps), lambda y: np.interp(y, steps, distinct)),
        vmin=float(distinct[0]),
        vmax=float(distinct[-1]),
    )
    picks = np.unique(np.round(np.linspace(0, distinct.size - 1, min(RANK_TICKS, distinct.size))).astype(int))
    return norm, [float(distinct[i]) for i in picks]


# --- bars per point ---------------------------------------------------------------------------------


def bars_figure(
    rows: Sequence[Mapping[str, Any]],
    metric: str,
    group_by: Sequence[str],
    mode: str = "max",
    title: str | None = None,
) -> Figure:
    """One horizontal bar per combination of the ``group_by`` values: the mean of ``metric`` over its rows.

    Error bars are ± the sample std over the rows of a point (the repeats). Bars are sorted best first
    (``mode``), top to bottom, the best highlighted; points without a value (failed or diverged) come
    last with a note. Past :data:`MAX_BARS` points, the best are drawn and the title says how many.
    """
    results.check_direction(mode)
    if isinstance(group_by, str):
        raise InvalidArgumentError(f"group_by must be a list of parameters. Received: group_by={group_by!r}")
    group_by = list(group_by)
    rows = _check_rows(rows, group_by, metric)
    ranked = results.rank(rows, metric, mode, group_by)  # best first, points without a value last
    points = [(tuple(p.params[k] for k in group_by), *_point_stats(p), len(p.rows)) for p in ranked]
    shown = points[:MAX_BARS]

    names = short_names(group_by) if group_by else {}
    labels = [" / ".join(format_value(v) for v in values) or "all trials" for values, *_ in shown]
    height = max(2.6, 0.3 * len(shown) + 1.5)
    width = max(FIGSIZE[0], 0.075 * max(map(len, labels)) + 5.0)
    fig = new_figure((min(width, 14), min(height, 16)))
    ax = fig.add_subplot()
    means = np.array([p[1] for p in shown])
    stds = np.array([p[2] if p[3] > 1 else 0.0 for p in shown])
    bar_means = np.where(np.isfinite(means), means, 0.0)
    colors = [BEST_COLOR if i == 0 and math.isfinite(means[0]) else BAR_COLOR for i in range(len(shown))]
    y = np.arange(len(shown))
    with_errors = (stds > 0).any()
    ax.barh(
        y,
        bar_means,
        xerr=np.where(np.isfinite(stds), stds, 0.0) if with_errors else None,
        color=colors,
        height=0.7,
        error_kw={"ecolor": "0.25", "capsize": 3, "elinewidth": 1},
        gid="bars",
    )
    if math.isfinite(means[0]):
        ax.patches[0].set_edgecolor(BEST_EDGE)
        ax.patches[0].set_linewidth(1.8)
        ax.patches[0].set_gid("best")
    reach = np.where(np.isfinite(means), np.abs(means) + stds, 0.0)
    span = float(reach.max()) if reach.size and reach.max() > 0 else 1.0
    for k, (_, m, s, n_finite, n_rows) in enumerate(shown):
        if math.isfinite(m):
            note = _format_cell(m) + (f" ± {_format_cell(s)}" if n_finite > 1 else "")
            note += f"  (n={n_finite}{f' of {n_rows}' if n_rows != n_finite else ''})" if n_rows > 1 else ""
        else:
            note = f"no value ({n_rows} failed or diverged)" if n_rows > 1 else "no value (failed or diverged)"
        x = (m if math.isfinite(m) else 0.0) + (stds[k] if math.isfinite(m) else 0.0)
        ax.text(x + 0.01 * span, k, " " + note, va="center", ha="left", fontsize=8, color="0.2", gid="value")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    finite = means[np.isfinite(means)]
    low = min(0.0, float((finite - stds[np.isfinite(means)]).min())) if finite.size else 0.0
    ax.set_xlim(low, low + (span - low) * 1.35)
    ax.set_xlabel(row_metric_name(metric) + (" (higher is better)" if mode == "max" else " (lower is better)"))
    ax.set_ylabel(" / ".join(names[p] for p in group_by) if group_by else "")
    ax.grid(True, axis="x", alpha=0.3, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    default = f"{row_metric_name(metric)}" + (f" by {' and '.join(names[p] for p in group_by)}" if group_by else "")
    if len(points) > len(shown):
        default += f"\n(the best {len(shown)} of {len(points)} points)"
    _title(ax, title, default)
    return fig


# --- what a sweep saves -----------------------------------------------------------------------------


def draw_sweep_figure(
    figure: SweepFigure, rows: Sequence[Mapping[str, Any]], histories: Sequence[Mapping[str, Sequence]]
) -> Figure:
    """Draw one planned figure from the trials' rows and histories (as given to :func:`plan_sweep_figures`)."""
    if figure.kind == "curves":
        param, *by = figure.params
        pairs = [
            (r, h)
            for r, h in zip(rows, histories)
            if isinstance(h, Mapping) and h.get("loss") and figure.key in h and all(p in r for p in figure.params)
        ]
        return param_curves_figure(pairs, param, figure.key, by=by[0] if by else None)
    usable = [r for r in rows if all(p in r for p in figure.params)]
    if figure.kind == "heatmap":
        x, y = figure.params
        return heatmap_figure(usable, x, y, figure.key, mode=str(figure.mode))
    if figure.kind == "bars":
        return bars_figure(usable, figure.key, list(figure.params), mode=str(figure.mode))
    if figure.kind in KINDS:
        return search.draw_search_figure(figure.kind, figure.key, figure.params, str(figure.mode), rows, histories)
    raise InvalidArgumentError(
        f"Unknown sweep figure kind: {figure.kind!r}. Expected one of: curves, heatmap, bars."
        + did_you_mean(figure.kind, ["curves", "heatmap", "bars"])
    )


def sweep_figures(
    manifest: Mapping[str, Any],
    trials: Sequence[tuple[Mapping[str, Any], Mapping[str, Sequence], Mapping[str, Any]]],
    metric: str,
) -> dict[str, Figure]:
    """Every figure of a sweep, drawn, keyed by file name (:func:`plan_sweep_figures`, then
    :func:`draw_sweep_figure` for each).

    ``manifest`` is a sweep's manifest as JSON (``parameters``, ``metric``, ``mode``, ``repeats``,
    ``trials``); ``trials`` is ``(params, history, metrics)`` per trial that has a run folder. Best is the
    manifest's ``mode`` when ``metric`` is the manifest's metric, else the metric's direction.
    """
    params = manifest.get("parameters")
    params = list(params) if isinstance(params, list) else list(dict.fromkeys(k for p, _, _ in trials for k in p))
    mode = manifest.get("mode") if metric == manifest.get("metric") else None
    entries = manifest.get("trials") if isinstance(manifest.get("trials"), list) else []
    repeats = manifest.get("repeats")
    repeated = (isinstance(repeats, int) and repeats > 1) or any(
        isinstance(t, Mapping) and (t.get("repeat") or 0) > 0 for t in entries
    )
    rows = [{**p, **{f"final_{k}": v for k, v in results.final_values(m, h).items()}} for p, h, m in trials]
    histories = [h for _, h, _ in trials]
    mode = mode if mode in results.DIRECTIONS else None
    planned = plan_sweep_figures(rows, histories, metric, params, mode, repeated)
    return {f.name: draw_sweep_figure(f, rows, histories) for f in planned}


__all__ = [
    "SweepFigure",
    "bars_figure",
    "curve_metrics",
    "draw_sweep_figure",
    "file_safe",
    "format_value",
    "headline_figure",
    "heatmap_figure",
    "param_curves_figure",
    "pick_sweep_figure",
    "plan_sweep_figures",
    "row_metric_name",
    "short_names",
    "sweep_figures",
]
