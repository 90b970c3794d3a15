"""Figures that compare a sweep's trials: curves per parameter value, a heatmap of two parameters, bars.

A trial is described by its parameters (``{"model.hidden.activation": "relu", ...}``, the sweep's dotted
keys) and its history (Keras's ``history.history``). A row is one trial's parameters and numbers, as in a
sweep's summary: ``{"model.hidden.activation": "relu", "final_val_accuracy": 0.93, ...}``. Missing
values, ``None`` and NaN (a failed or diverged trial) are skipped in every mean.

Only the object-oriented API is used, as in :mod:`nnrun.report.plots`: every function returns a new
``Figure`` and the caller saves it.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import yaml
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from nnrun.errors import InvalidArgumentError, did_you_mean
from nnrun.report.plots import (
    FIGSIZE,
    _check_history,
    _new_figure,
    _plot_series,
    _run_styles,
    _style_axes,
    _values,
    higher_is_better,
    primary_metric,
    readable_name,
)

BAND_ALPHA = 0.15
BEST_COLOR, BAR_COLOR, BEST_EDGE = "C0", "#b3c6de", "#c0392b"
MAX_BARS = 40  # more points than this: the best 40 are drawn and the figure says so
ROTATE_LABELS = 6  # x tick labels longer than this many characters are rotated
ABBREVIATIONS = {"learning_rate": "lr"}  # short names of keys in labels
ROW_PREFIXES = {"final_": "Final", "best_": "Best", "test_": "Test"}
MODES = ("max", "min")


# --- names and values -------------------------------------------------------------------------------


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest dotted suffix that tells each key apart: ``model.hidden.activation`` -> ``activation``.

    ``learning_rate`` is written ``lr``; a suffix starting at a list index keeps the list's name
    (``layers.0.dense.units``). Keys that no suffix tells apart keep their full names.
    """
    parts = {k: k.split(".") for k in keys}
    for k, p in parts.items():
        if p[-1] in ABBREVIATIONS:
            parts[k] = [*p[:-1], ABBREVIATIONS[p[-1]]]
    depth = dict.fromkeys(keys, 1)
    for _ in range(max((len(p) for p in parts.values()), default=0)):
        names = {k: ".".join(_suffix(parts[k], depth[k])) for k in keys}
        clashes = [k for k in keys if list(names.values()).count(names[k]) > 1]
        if not clashes:
            return names
        for k in clashes:
            depth[k] += 1
    return {k: k for k in keys}


def _suffix(parts: list[str], depth: int) -> list[str]:
    depth = min(depth, len(parts))
    if parts[-depth].isdigit() and depth < len(parts):
        depth += 1
    return parts[-depth:]


def format_value(value: Any) -> str:
    """A parameter's value as YAML writes it, compactly: ``0.01``, ``relu``, ``true``, ``{name: sgd}``."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1_000).strip()
    return str(value)


def file_safe(text: str) -> str:
    """Letters, digits, ``.``, ``_``, ``-`` and ``=``; anything else becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "-", text).strip("-.") or "x"


def row_metric_name(key: str) -> str:
    """``"final_val_accuracy"`` -> ``"Final validation accuracy"``; a plain history key as readable_name."""
    for prefix, word in ROW_PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            base = readable_name(key[len(prefix) :])
            return f"{word} {base if base.isupper() else base[0].lower() + base[1:]}"
    return readable_name(key)


def suggest(value: object, choices: Sequence[str]) -> str:
    """`` Did you mean 'x'?`` for a typo (:func:`did_you_mean`) or for a unique completion of a prefix."""
    hint = did_you_mean(value, choices)
    starting = [c for c in choices if isinstance(value, str) and value and c.startswith(value)]
    return hint or (f" Did you mean '{starting[0]}'?" if len(starting) == 1 else "")


def _key(value: Any) -> str:
    """A hashable stand-in for a parameter value (values can be lists or mappings)."""
    return json.dumps(value, sort_keys=True, default=str)


def _ordered(values: Sequence[Any]) -> list[Any]:
    """Distinct values: numbers ascending, anything else in the order first seen (the sweep's order)."""
    distinct = list({_key(v): v for v in values}.values())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in distinct):
        return sorted(distinct)
    return distinct


def _number(value: Any) -> float:
    """A row's value as a float; None, text and missing values are NaN."""
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidArgumentError(f"mode must be 'max' or 'min'. Received: mode={mode!r}" + suggest(mode, MODES))


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
                    + suggest(key, [str(k) for k in row])
                )
    if not any(metric in row for row in rows):
        numeric = list(dict.fromkeys(str(k) for row in rows for k, v in row.items() if not np.isnan(_number(v))))
        raise InvalidArgumentError(
            f"No row has {metric!r}. The rows have: {', '.join(numeric) or 'no numbers'}." + suggest(metric, numeric)
        )
    return list(rows)


def _stats(values: list[float]) -> tuple[float, float, int]:
    """(mean, sample std, count) of the finite values; NaN mean when there are none."""
    finite = np.array([v for v in values if math.isfinite(v)], dtype=np.float64)
    if not finite.size:
        return math.nan, math.nan, 0
    std = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return float(finite.mean()), std, int(finite.size)


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
) -> Figure:
    """One curve of ``metric`` per value of ``param``: the mean over every trial with that value.

    The mean at each epoch is over the trials that reached it with a finite value (so it averages over
    the other parameters and the repeats); a light band spans their minimum to maximum when several
    trials share a value. Trials whose history lacks ``metric`` (failed before the first epoch) are left
    out; a value all of whose trials diverged ends where they did.
    """
    if isinstance(trials, Mapping) or not isinstance(trials, Sequence) or not trials:
        raise InvalidArgumentError(
            f"trials must be a non-empty list of (params, history) pairs. Received: trials={trials!r:.80}"
        )
    groups: dict[str, tuple[Any, list[np.ndarray]]] = {}
    for i, pair in enumerate(trials):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], Mapping)):
            raise InvalidArgumentError(
                f"trials[{i}] must be a (params, history) pair. Received: trials[{i}]={pair!r:.80}"
            )
        params, history = pair
        _check_history(history, f"trials[{i}] history")
        if param not in params:
            raise InvalidArgumentError(
                f"trials[{i}] has no parameter {param!r}. It has: {', '.join(params) or 'none'}."
                + suggest(param, params)
            )
        value = params[param]
        group = groups.setdefault(_key(value), (value, []))
        if metric in history and len(history[metric]):
            group[1].append(_values(history, metric, f"trials[{i}] history"))
    if not any(series for _, series in groups.values()):
        available = sorted({k for _, h in trials for k in h})
        raise InvalidArgumentError(
            f"No trial has {metric!r}. The histories have: {', '.join(available) or 'nothing'}."
            + suggest(metric, available)
        )

    name = short_names([param])[param]
    order = [_key(v) for v in _ordered([v for v, _ in groups.values()])]
    drawn = [(groups[k][0], groups[k][1]) for k in order if groups[k][1]]
    n_epochs = max(len(s) for _, series in drawn for s in series)
    fig = _new_figure()
    ax = fig.add_subplot()
    plotted: list[np.ndarray] = []
    for (value, series), (color, style) in zip(drawn, _run_styles(len(drawn))):
        stack = np.full((len(series), n_epochs), np.nan)
        for row, s in zip(stack, series):
            row[: len(s)] = np.where(np.isfinite(s), s, np.nan)
        mean, low, high = _column_stats(stack)
        label = format_value(value)
        diverged = sum(not np.isfinite(s).all() for s in series)
        notes = ([f"n={len(series)}"] if len(series) > 1 else []) + ([f"{diverged} diverged"] if diverged else [])
        label += f" ({', '.join(notes)})" if notes else ""
        _plot_series(ax, mean, color=color, linestyle=style, label=label, gid="mean")
        plotted.append(mean)
        if len(series) > 1:
            epochs = np.arange(1, n_epochs + 1)
            ax.fill_between(epochs, low, high, color=color, alpha=BAND_ALPHA, linewidth=0, gid="band")
            plotted += [low, high]
    _style_axes(ax, n_epochs, readable_name(metric), plotted)
    _title(ax, title, f"{readable_name(metric)} by {name}")
    banded = any(len(series) > 1 for _, series in drawn)
    ax.legend(
        title=f"{name} (mean, band: min–max)" if banded else name,
        loc="best",
        fontsize=8.5,
        title_fontsize=8.5,
        frameon=False,
    )
    return fig


def _column_stats(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-epoch mean, min and max over the rows with a finite value there (NaN where none has one)."""
    finite = np.isfinite(stack)
    count = finite.sum(axis=0)
    has = count > 0
    mean = np.full(stack.shape[1], np.nan)
    mean[has] = np.where(finite, stack, 0.0).sum(axis=0)[has] / count[has]
    low = np.where(has, np.where(finite, stack, np.inf).min(axis=0), np.nan)
    high = np.where(has, np.where(finite, stack, -np.inf).max(axis=0), np.nan)
    return mean, low, high


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
    (``mode``: ``"max"`` or ``"min"``) is outlined. Brighter is better either way. A combination with no
    row is blank; one whose rows have no value (failed or diverged) shows a dash.
    """
    _check_mode(mode)
    rows = _check_rows(rows, [x_param, y_param], metric)
    xs, ys = _ordered([r[x_param] for r in rows]), _ordered([r[y_param] for r in rows])
    x_index, y_index = {_key(v): j for j, v in enumerate(xs)}, {_key(v): i for i, v in enumerate(ys)}
    cells: dict[tuple[int, int], list[float]] = {}
    for r in rows:
        cells.setdefault((y_index[_key(r[y_param])], x_index[_key(r[x_param])]), []).append(_number(r.get(metric)))
    mean, std, count = (np.full((len(ys), len(xs)), np.nan) for _ in range(3))
    for (i, j), values in cells.items():
        mean[i, j], std[i, j], count[i, j] = _stats(values)

    names = short_names([x_param, y_param]) if x_param != y_param else {x_param: short_names([x_param])[x_param]}
    x_labels, y_labels = [format_value(v) for v in xs], [format_value(v) for v in ys]
    width = max(FIGSIZE[0], 0.95 * len(xs) + 0.09 * max(map(len, y_labels)) + 2.4)
    height = max(3.6, 0.5 * len(ys) + 0.07 * max(map(len, x_labels)) + 1.8)
    fig = _new_figure((min(width, 16), min(height, 14)))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["viridis" if mode == "max" else "viridis_r"]
    finite = mean[np.isfinite(mean)]
    norm = Normalize(*(finite.min(), finite.max()) if finite.size else (0, 1))
    image = ax.imshow(np.ma.masked_invalid(mean), cmap=cmap, norm=norm, aspect="auto")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.9)
    colorbar.set_label(row_metric_name(metric))

    best = _best_cell(mean, mode)
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


def _best_cell(mean: np.ndarray, mode: str) -> tuple[int, int] | None:
    if not np.isfinite(mean).any():
        return None
    masked = np.where(np.isfinite(mean), mean, -np.inf if mode == "max" else np.inf)
    flat = int(np.argmax(masked) if mode == "max" else np.argmin(masked))
    i, j = np.unravel_index(flat, mean.shape)
    return int(i), int(j)


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
    _check_mode(mode)
    if isinstance(group_by, str):
        raise InvalidArgumentError(f"group_by must be a list of parameters. Received: group_by={group_by!r}")
    group_by = list(group_by)
    rows = _check_rows(rows, group_by, metric)
    groups: dict[str, tuple[tuple, list[float]]] = {}
    for r in rows:
        values = tuple(r[p] for p in group_by)
        groups.setdefault(_key(values), (values, []))[1].append(_number(r.get(metric)))
    points = [(values, *_stats(numbers), len(numbers)) for values, numbers in groups.values()]
    sign = -1 if mode == "max" else 1
    points.sort(key=lambda p: (not math.isfinite(p[1]), sign * p[1] if math.isfinite(p[1]) else 0))
    shown = points[:MAX_BARS]

    names = short_names(group_by) if group_by else {}
    labels = [" / ".join(format_value(v) for v in values) or "all trials" for values, *_ in shown]
    height = max(2.6, 0.3 * len(shown) + 1.5)
    width = max(FIGSIZE[0], 0.075 * max(map(len, labels)) + 5.0)
    fig = _new_figure((min(width, 14), min(height, 16)))
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


def sweep_rows(trials: Sequence[tuple[Mapping[str, Any], Mapping[str, Sequence], Mapping[str, Any]]]) -> list[dict]:
    """One row per trial: its parameters and ``final_<key>`` for every final value in its metrics.

    A trial without ``metrics.json`` (interrupted) takes the last epoch of its history instead.
    """
    rows = []
    for params, history, metrics in trials:
        final = metrics.get("final") if isinstance(metrics, Mapping) else None
        if not isinstance(final, Mapping) or not final:
            final = {k: v[-1] for k, v in history.items() if len(v) and k not in ("epoch_time", "learning_rate")}
        rows.append({**params, **{f"final_{k}": v for k, v in final.items()}})
    return rows


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


def sweep_figures(
    manifest: Mapping[str, Any],
    trials: Sequence[tuple[Mapping[str, Any], Mapping[str, Sequence], Mapping[str, Any]]],
    metric: str,
) -> dict[str, Figure]:
    """The figures a sweep saves in its ``figures/`` folder, keyed by file name.

    ``trials`` is ``(params, history, metrics)`` per trial that has a run folder. For each swept
    parameter, ``curves_<param>_<key>.png`` for the validation loss and the primary metric (see
    :func:`curve_metrics`); for the first two parameters, ``heatmap_<p1>_<p2>_<metric>.png`` of the
    final ``metric``; with repeats or a single parameter, ``bars_<metric>.png``. ``metric`` is a history
    key (``"val_accuracy"``); best is the manifest's ``mode`` when ``metric`` is the manifest's metric,
    else max for accuracy-like metrics and min for the rest.
    """
    params = manifest.get("parameters")
    params = list(params) if isinstance(params, list) else list(dict.fromkeys(k for p, _, _ in trials for k in p))
    params = [p for p in params if any(p in t[0] for t in trials)]
    if not trials or not params:
        return {}
    mode = manifest.get("mode") if metric == manifest.get("metric") else None
    mode = mode if mode in MODES else ("max" if higher_is_better(metric) else "min")
    names = {p: file_safe(n) for p, n in short_names(params).items()}
    figures: dict[str, Figure] = {}

    histories = [(p, h) for p, h, _ in trials if isinstance(h, Mapping) and h.get("loss")]
    for key in curve_metrics([h for _, h in histories], metric):
        pairs = [(p, h) for p, h in histories if key in h]
        for param in params:
            usable = [(p, h) for p, h in pairs if param in p]
            if usable:
                figures[f"curves_{names[param]}_{file_safe(key)}.png"] = param_curves_figure(usable, param, key)

    rows = sweep_rows(trials)
    column = f"final_{metric}"
    if not any(column in r for r in rows):
        return figures
    if len(params) >= 2:
        p1, p2 = params[:2]
        usable = [r for r in rows if p1 in r and p2 in r]
        n1, n2 = len(_ordered([r[p1] for r in usable])), len(_ordered([r[p2] for r in usable]))
        x, y = (p1, p2) if n1 <= n2 else (p2, p1)  # the longer list goes down the side
        name = f"heatmap_{names[p1]}_{names[p2]}_{file_safe(metric)}.png"
        figures[name] = heatmap_figure(usable, x, y, column, mode=mode)
    entries = manifest.get("trials") if isinstance(manifest.get("trials"), list) else []
    repeats = manifest.get("repeats")
    repeated = (isinstance(repeats, int) and repeats > 1) or any(
        isinstance(t, Mapping) and (t.get("repeat") or 0) > 0 for t in entries
    )
    if repeated or len(params) == 1:
        usable = [r for r in rows if all(p in r for p in params)]
        figures[f"bars_{file_safe(metric)}.png"] = bars_figure(usable, column, params, mode=mode)
    return figures


__all__ = [
    "bars_figure",
    "curve_metrics",
    "file_safe",
    "format_value",
    "heatmap_figure",
    "param_curves_figure",
    "row_metric_name",
    "short_names",
    "suggest",
    "sweep_figures",
    "sweep_rows",
]
