"""Figures from training histories: curves per epoch, overlays of many runs, atomic saving.

A history is Keras's ``history.history``: ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``,
one value per epoch. NaN, inf and ``None`` (NaN written as JSON ``null``) are points that are not drawn;
the first of them is where the run diverged.

Only the object-oriented API is used: every function builds its own ``matplotlib.figure.Figure``, nothing
touches ``pyplot`` or selects a backend, so this is safe in worker processes and needs no display.
"""

from __future__ import annotations

import io
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nnrun import results
from nnrun.errors import InvalidArgumentError, did_you_mean
from nnrun.report.figure import (
    ALERT_COLOR,
    FIGSIZE,
    check_history,
    history_values,
    new_figure,
    plot_series,
    run_styles,
    style_axes,
)

TRAIN_COLOR, VAL_COLOR = "C0", "C1"
SAVE_FORMATS = (".png", ".svg", ".pdf")
# what each format stamps into the file that would make two saves of one figure differ
_NO_DATES = {"png": {}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}

NOT_METRICS = results.NOT_METRICS
READABLE = {
    "loss": "Loss",
    "accuracy": "Accuracy",
    "acc": "Accuracy",
    "binary_accuracy": "Binary accuracy",
    "categorical_accuracy": "Categorical accuracy",
    "sparse_categorical_accuracy": "Sparse categorical accuracy",
    "mse": "Mean squared error",
    "mean_squared_error": "Mean squared error",
    "mae": "Mean absolute error",
    "mean_absolute_error": "Mean absolute error",
    "rmse": "Root mean squared error",
    "root_mean_squared_error": "Root mean squared error",
    "mape": "Mean absolute percentage error",
    "mean_absolute_percentage_error": "Mean absolute percentage error",
    "auc": "AUC",
    "learning_rate": "Learning rate",
    "lr": "Learning rate",
}


# --- names ------------------------------------------------------------------------------------------


def readable_name(key: str) -> str:
    """``"val_mse"`` -> ``"Validation mean squared error"``; unknown names are only de-snake-cased."""
    if key.startswith("val_") and len(key) > 4:
        base = readable_name(key[4:])
        return "Validation " + (base if base.isupper() else base[0].lower() + base[1:])
    name = READABLE.get(key.lower(), key.replace("_", " "))
    return name[0].upper() + name[1:] if name else name


def metric_names(history: Mapping[str, Sequence[float]]) -> list[str]:
    """The base metrics of a history (``val_`` stripped, ``learning_rate`` left out), loss first."""
    check_history(history)
    return results.metric_names(history)


def primary_metric(history: Mapping[str, Sequence[float]]) -> str:
    """The metric worth a second plot: accuracy if tracked, else the first non-loss metric, else loss."""
    check_history(history)
    return results.primary_metric(history)


# --- data -------------------------------------------------------------------------------------------


def _first_nonfinite(*series: np.ndarray) -> int | None:
    """The 1-based epoch of the first non-finite value in any of the series."""
    bad = [int(np.flatnonzero(~np.isfinite(s))[0]) + 1 for s in series if not np.isfinite(s).all()]
    return min(bad) if bad else None


def _best(values: np.ndarray, maximise: bool) -> int | None:
    """The 0-based index of the best finite value (the first, on ties), or None if there is none."""
    finite = np.isfinite(values)
    if not finite.any():
        return None
    masked = np.where(finite, values, -np.inf if maximise else np.inf)
    return int(np.argmax(masked) if maximise else np.argmin(masked))


def _format_value(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3e}"


# --- axes -------------------------------------------------------------------------------------------


def _mark_best(ax, values: np.ndarray, maximise: bool, color: str, who: str) -> None:
    i = _best(values, maximise)
    if i is None:
        return
    epoch, value = i + 1, float(values[i])
    ax.scatter([epoch], [value], s=110, facecolors="none", edgecolors=color, linewidths=1.8, zorder=4, gid="best")
    # the note goes from the point toward the middle of the axes, so it stays inside them
    ax.get_xlim(), ax.get_ylim()  # settle the autoscaled limits before reading them through transLimits
    x_frac, y_frac = ax.transLimits.transform(ax.transScale.transform((epoch, value)))
    right_half, upper_half = x_frac > 0.5, y_frac > 0.5
    ax.annotate(
        f"best {who} {_format_value(value)}\n(epoch {epoch})",
        xy=(epoch, value),
        xytext=(-14 if right_half else 14, -16 if upper_half else 16),
        textcoords="offset points",
        ha="right" if right_half else "left",
        va="top" if upper_half else "bottom",
        fontsize=8.5,
        color="0.15",
        bbox={"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": color, "alpha": 0.9},
        arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.8},
        gid="best-note",
        zorder=5,
    )


def _mark_divergence(ax, epoch: int, n_epochs: int) -> None:
    ax.axvspan(epoch - 0.5, n_epochs + 0.5, color=ALERT_COLOR, alpha=0.08, linewidth=0, gid="diverged-span")
    ax.text(
        0.98,
        0.97,
        f"diverged at epoch {epoch}",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=9,
        fontweight="bold",
        color=ALERT_COLOR,
        gid="diverged",
    )


# --- figures ----------------------------------------------------------------------------------------


def history_figure(
    history: Mapping[str, Sequence[float]], metric: str = "loss", title: str | None = None, mode: str | None = None
) -> Figure:
    """Train and validation curves of one metric per epoch, the best validation epoch marked.

    ``metric`` is a base name (``"loss"``, ``"accuracy"``, ``"mse"``); its ``val_`` twin is drawn when the
    history has it. ``title`` is the whole title, e.g. ``"mnist-mlp — loss"``; by default the metric's name.
    The best epoch is the maximum when ``mode`` is ``"max"``, the minimum when it is ``"min"``; by default
    the metric's direction (:func:`nnrun.results.direction`: losses and errors down, accuracy-like metrics
    up; a name it does not know needs ``mode``), taken on the validation curve (or on the training curve
    when there is no validation). Non-finite points are
    skipped and the first of them is noted as "diverged at epoch N".
    """
    check_history(history)
    if isinstance(metric, str) and metric.startswith("val_"):
        raise InvalidArgumentError(
            f"metric is a base name; its validation curve is drawn with it. Received: metric={metric!r}. "
            f"Pass metric={metric[4:]!r}."
        )
    if not isinstance(metric, str) or (metric not in history and f"val_{metric}" not in history):
        raise InvalidArgumentError(
            f"Unknown metric: metric={metric!r}. The history has: {', '.join(metric_names(history)) or 'nothing'}."
            + did_you_mean(metric, metric_names(history))
        )
    train = history_values(history, metric) if metric in history else None
    val = history_values(history, f"val_{metric}") if f"val_{metric}" in history else None
    series = [s for s in (train, val) if s is not None]
    n_epochs = max(1, *(len(s) for s in series))
    maximise = (results.direction(metric) if mode is None else results.check_direction(mode)) == "max"

    fig = new_figure()
    ax = fig.add_subplot()
    if train is not None:
        plot_series(ax, train, color=TRAIN_COLOR, marker="o", label="train")
    if val is not None:
        plot_series(ax, val, color=VAL_COLOR, marker="s", label="validation")
    style_axes(ax, n_epochs, readable_name(metric), series)
    if val is not None:
        _mark_best(ax, val, maximise, VAL_COLOR, "validation")
    elif train is not None:
        _mark_best(ax, train, maximise, TRAIN_COLOR, "train")
    diverged = _first_nonfinite(*series)
    if diverged is not None:
        _mark_divergence(ax, diverged, n_epochs)
    ax.set_title(title if title is not None else readable_name(metric))
    ax.legend(loc="upper left" if diverged is not None else "best", frameon=False)
    return fig


def overlay_figure(
    histories: Sequence[tuple[str, Mapping[str, Sequence[float]]]],
    metric: str = "val_loss",
    title: str | None = None,
) -> Figure:
    """Several runs' curves of one history key (``"val_loss"``, ``"accuracy"``, ...) on one axis.

    ``histories`` is a list of ``(label, history)``; every history must have ``metric``. Up to 6 runs get
    a legend inside the plot; more get a compact legend below it, with line styles varying as well as
    colours past 10 runs. A run with non-finite values ends with an ``x`` where it diverged.
    """
    if isinstance(histories, Mapping) or not isinstance(histories, Sequence) or not histories:
        raise InvalidArgumentError(
            f"histories must be a non-empty list of (label, history) pairs. Received: histories={histories!r:.80}"
        )
    runs: list[tuple[str, np.ndarray]] = []
    for i, pair in enumerate(histories):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], str)):
            raise InvalidArgumentError(
                f"histories[{i}] must be a (label, history) pair. Received: histories[{i}]={pair!r:.80}"
            )
        label, history = pair
        check_history(history, f"histories[{i}] ({label!r})")
        if metric not in history:
            raise InvalidArgumentError(
                f"Run {label!r} (histories[{i}]) has no {metric!r}. It has: {', '.join(history) or 'nothing'}."
                + did_you_mean(metric, history)
            )
        runs.append((label, history_values(history, metric, f"histories[{i}]")))

    n_runs, n_epochs = len(runs), max(1, *(len(values) for _, values in runs))
    many = n_runs > 6
    rows = math.ceil(n_runs / _legend_columns(runs)) if many else 0
    fig = new_figure((FIGSIZE[0], FIGSIZE[1] + 0.19 * rows))
    ax = fig.add_subplot()
    n_diverged = 0
    for (label, values), (color, style) in zip(runs, run_styles(n_runs)):
        marker = "o" if n_runs <= 6 else None
        plot_series(ax, values, color=color, linestyle=style, marker=marker, label=label, alpha=0.9)
        if not np.isfinite(values).all():
            n_diverged += 1
            last_good = _first_nonfinite(values) - 1  # 1-based epoch of the last point before divergence
            if last_good >= 1:
                ax.scatter(
                    [last_good], [values[last_good - 1]], marker="x", s=40, color=color, zorder=4, gid="diverged"
                )
    if n_diverged:
        runs_word = "run" if n_diverged == 1 else "runs"
        ax.text(
            0.98,
            0.97,
            f"× {n_diverged} {runs_word} diverged",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=9,
            color=ALERT_COLOR,
            gid="diverged-note",
        )

    style_axes(ax, n_epochs, readable_name(metric), [values for _, values in runs])
    ax.set_title(title if title is not None else f"{readable_name(metric)} — {n_runs} run{'s' * (n_runs > 1)}")
    if many:
        fig.legend(
            loc="outside lower center",
            ncols=_legend_columns(runs),
            fontsize=7.5,
            frameon=False,
            handlelength=2.2,
            columnspacing=1.2,
            labelspacing=0.25,
        )
    else:
        ax.legend(loc="best", fontsize=8.5, frameon=False)
    return fig


def _legend_columns(runs: Sequence[tuple[str, np.ndarray]]) -> int:
    """As many columns as the longest label lets fit across the figure, at most 4."""
    longest = max(len(label) for label, _ in runs)
    return max(1, min(4, 64 // (longest + 6)))


# --- a run's own plots -----------------------------------------------------------------------------


def plot_names(history: Mapping[str, Sequence[float]]) -> list[tuple[str, str]]:
    """(metric, file name) of a run's plots: the loss and the primary metric (accuracy, or the regression metric)."""
    out = [("loss", "loss.png")]
    metric = primary_metric(history)
    if metric != "loss":
        out.append((metric, "accuracy.png" if "acc" in metric else f"{metric}.png"))
    return out


def render_plots(name: str, history: Mapping[str, Sequence[float]]) -> dict[str, bytes]:
    """A run's plots as PNG files in memory, by file name (nothing without a loss history): the run store
    writes them as they are."""
    plots = {}
    if history.get("loss"):
        for metric, file in plot_names(history):
            title = f"{name} — {readable_name(metric).lower()}"
            plots[file] = figure_bytes(history_figure(history, metric=metric, title=title))
    return plots


# --- saving -----------------------------------------------------------------------------------------


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as PNG, SVG or PDF (by the suffix), atomically; returns the path written.

    The figure is rendered to a temporary file in the same folder and moved into place with
    ``os.replace``, so the path holds either the old file or the whole new one, never a partial one.
    The folder is created if needed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SAVE_FORMATS:
        raise InvalidArgumentError(
            f"Cannot save a figure as {suffix or 'a file with no suffix'!r}: the suffix must be one of "
            f"{', '.join(SAVE_FORMATS)}. Received: path={str(path)!r}"
        )
    fmt = suffix[1:]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with open(tmp, "xb") as f:
            fig.savefig(f, format=fmt, dpi="figure", metadata=_NO_DATES[fmt])
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def figure_bytes(fig: Figure, fmt: str = "png") -> bytes:
    """``fig`` encoded as a PNG (or SVG, PDF) file, in memory, without a date stamp."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata=_NO_DATES.get(fmt, {}))
    return buffer.getvalue()
