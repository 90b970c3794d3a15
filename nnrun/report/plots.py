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
from typing import Any

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

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
from nnrun.report.notes import RunNotes, run_notes

TRAIN_COLOR, VAL_COLOR = "C0", "C1"
STOP_COLOR, TEST_COLOR, CHANCE_COLOR = "0.45", "C2", "0.35"
FLAT_FRACTION = 0.02  # curves whose values all lie within 2% of their size are flat: drawn from 0, noise shrunk
NEAR_CHANCE = 0.05  # an accuracy curve never above chance + this is "at chance level"
MANY_RUNS = 10  # beyond this many runs, an overlay colours them by rank and names only the best
HIGHLIGHT = 3  # the best runs an overlay of many draws bold and names in its legend
RANK_CMAP, RANK_SPAN = "viridis", 0.9  # rank 1 (best) is dark, the worst light (the top of viridis is left out)
MAX_LEGEND_LABEL = 60  # characters; a longer label is cut with an ellipsis
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
    history: Mapping[str, Sequence[float]],
    metric: str = "loss",
    title: str | None = None,
    mode: str | None = None,
    notes: RunNotes | None = None,
) -> Figure:
    """Train and validation curves of one metric per epoch, the best validation epoch marked.

    ``metric`` is a base name (``"loss"``, ``"accuracy"``, ``"mse"``); its ``val_`` twin is drawn when the
    history has it. ``title`` is the whole title, e.g. ``"mnist-mlp — loss"``; by default the metric's name.
    The best epoch is the maximum when ``mode`` is ``"max"``, the minimum when it is ``"min"``; by default
    the metric's direction (:func:`nnrun.results.direction`: losses and errors down, accuracy-like metrics
    up; a name it does not know needs ``mode``), taken on the validation curve (or on the training curve
    when there is no validation). Non-finite points are
    skipped and the first of them is noted as "diverged at epoch N".

    ``notes`` (:func:`nnrun.report.notes.run_notes`) adds what the caller knows of the run: the key
    hyperparameters under the title, the epoch early stopping stopped at and the epoch whose weights were
    kept, the test score (a star at the epoch of the weights evaluated), and, for a classifier, a dashed
    chance level when the curves come near it or are flat. Flat curves are drawn from 0, so that noise does
    not look like learning.
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

    notes = notes if notes is not None else RunNotes()
    fig = new_figure()
    ax = fig.add_subplot()
    if train is not None:
        plot_series(ax, train, color=TRAIN_COLOR, marker="o", label="train")
    if val is not None:
        plot_series(ax, val, color=VAL_COLOR, marker="s", label="validation")
    style_axes(ax, n_epochs, readable_name(metric), series)
    _mark_chance(ax, metric, notes.chance(metric), series)
    _mark_stop(ax, notes, metric, n_epochs)
    if val is not None:
        _mark_best(ax, val, maximise, VAL_COLOR, "validation")
    elif train is not None:
        _mark_best(ax, train, maximise, TRAIN_COLOR, "train")
    diverged = _first_nonfinite(*series)
    if diverged is not None:
        _mark_divergence(ax, diverged, n_epochs)
    ax.set_title(title if title is not None else readable_name(metric), pad=14 if notes.subtitle else None)
    if notes.subtitle:
        ax.annotate(
            notes.subtitle,
            xy=(0.5, 1.0),
            xycoords="axes fraction",
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color="0.35",
            gid="subtitle",
        )
    ax.legend(loc="upper left" if diverged is not None else "best", frameon=False, fontsize=8.5)
    return fig


def _mark_chance(ax, metric: str, chance: float | None, series: Sequence[np.ndarray]) -> None:
    """Flat curves, and curves that never leave the chance level, are drawn from 0 (an accuracy up to 1), so
    that their noise shrinks to what it is; the chance level is drawn when the curves come near it."""
    finite = np.concatenate([s[np.isfinite(s)] for s in series])
    if not finite.size or ax.get_yscale() == "log":
        return
    low, high = float(finite.min()), float(finite.max())
    accuracy = results.is_accuracy(metric)
    flat = low >= 0 and high - low <= FLAT_FRACTION * max(abs(high), 1e-12)
    stuck = chance is not None and (
        high <= chance + NEAR_CHANCE if accuracy else max(abs(high - chance), abs(low - chance)) <= 0.05 * chance
    )
    if flat or stuck:
        top = 1.0 if accuracy and high <= 1.0 else max(high, chance or 0.0) * 1.15
        ax.set_ylim(0, top or 1.0)
    if stuck:
        ax.text(
            0.98,
            0.97,
            "at chance level",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=9,
            fontweight="bold",
            color=ALERT_COLOR,
            gid="at-chance",
        )
    if chance is None:
        return
    bottom, top = ax.get_ylim()
    if not bottom <= chance <= top:
        return
    how = "1/classes" if accuracy else "ln classes"
    ax.axhline(
        chance,
        color=CHANCE_COLOR,
        linestyle=(0, (5, 3)),
        linewidth=1.1,
        label=f"chance ({how} = {chance:.3g})",
        gid="chance",
        zorder=1,
    )


def _mark_stop(ax, notes: RunNotes, metric: str, n_epochs: int) -> None:
    """Where early stopping stopped, the epoch whose weights were kept, and the test score at that epoch."""
    if notes.stopped_epoch is not None:
        ax.axvline(
            notes.stopped_epoch,
            color=STOP_COLOR,
            linestyle=":",
            linewidth=1.2,
            label=f"early stop (epoch {notes.stopped_epoch})",
            gid="early-stop",
        )
    if notes.restored_epoch is not None:
        ax.axvline(
            notes.restored_epoch,
            color=TEST_COLOR,
            linestyle="--",
            linewidth=1.2,
            label=f"weights kept (epoch {notes.restored_epoch})",
            gid="restored",
        )
    test = results.finite(notes.test.get(metric))
    if test is not None:
        epoch = notes.restored_epoch or n_epochs  # the weights evaluated on the test set
        ax.scatter(
            [epoch],
            [test],
            marker="*",
            s=150,
            color=TEST_COLOR,
            edgecolors="white",
            linewidths=0.6,
            zorder=6,
            label=f"test {_format_value(test)}",
            gid="test",
        )


def overlay_figure(
    histories: Sequence[tuple[str, Mapping[str, Sequence[float]]]],
    metric: str = "val_loss",
    title: str | None = None,
    mode: str | None = None,
) -> Figure:
    """Several runs' curves of one history key (``"val_loss"``, ``"accuracy"``, ...) on one axis.

    ``histories`` is a list of ``(label, history)``; every history must have ``metric``. Up to
    :data:`MANY_RUNS` runs get a colour each and a legend (inside the axes for a few short labels, else
    under them: the axes keep their width whatever the labels). More runs are coloured by their rank on the
    final value of ``metric`` (best ``mode``, by default the metric's direction; a colour bar says which
    end is best); the best :data:`HIGHLIGHT` are drawn bold and are the only ones in the legend. A run with
    non-finite values ends with an ``x`` where it diverged.
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
        runs.append((_short_label(label), history_values(history, metric, f"histories[{i}]")))

    n_runs, n_epochs = len(runs), max(1, *(len(values) for _, values in runs))
    ranked = n_runs > MANY_RUNS
    if ranked:
        maximise = (results.direction(metric) if mode is None else results.check_direction(mode)) == "max"
        order = _rank_order([values for _, values in runs], maximise)  # run index, best first
        rank = {run: r for r, run in enumerate(order)}
        shown = [runs[i][0] for i in order[:HIGHLIGHT]]
    else:
        shown = [label for label, _ in runs]
    inside = not ranked and n_runs <= 6 and max(len(label) for label in shown) <= 28
    columns = 1 if inside else _legend_columns(shown)
    rows = 0 if inside else math.ceil(len(shown) / columns)
    fig = new_figure((FIGSIZE[0], FIGSIZE[1] + 0.2 * rows))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps[RANK_CMAP]
    n_diverged = 0
    for i, ((label, values), (color, style)) in enumerate(zip(runs, run_styles(n_runs))):
        kwargs: dict[str, Any] = {"color": color, "linestyle": style, "label": label, "alpha": 0.9}
        if ranked:
            top = rank[i] < HIGHLIGHT
            color = cmap(RANK_SPAN * rank[i] / max(1, n_runs - 1))
            kwargs = {"color": color, "linestyle": "-", "alpha": 1.0 if top else 0.55, "zorder": 3 if top else 2}
            kwargs["label"] = f"#{rank[i] + 1} {label}" if top else "_nolegend_"
            kwargs["linewidth"] = 2.4 if top else 0.9
        line = plot_series(ax, values, marker="o" if n_runs <= 6 else None, **kwargs)
        if ranked:
            line.set_gid("best" if rank[i] < HIGHLIGHT else "other")
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
    if ranked:
        colors = ListedColormap([cmap(RANK_SPAN * r / max(1, n_runs - 1)) for r in range(n_runs)])
        bar = fig.colorbar(ScalarMappable(Normalize(0.5, n_runs + 0.5), colors), ax=ax, fraction=0.04, pad=0.02)
        bar.ax.invert_yaxis()  # rank 1 (best) on top
        bar.ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        bar.set_label(f"rank by final {readable_name(metric).lower()} (1 = best)", fontsize=8.5)
        bar.ax.set_gid("rank-colorbar")
    if inside:
        ax.legend(loc="best", fontsize=8.5, frameon=False)
    else:
        handles, labels = ax.get_legend_handles_labels()
        if ranked:  # best first
            pairs = sorted(zip(handles, labels), key=lambda p: int(p[1][1:].split(" ", 1)[0]))
            handles, labels = [h for h, _ in pairs], [label for _, label in pairs]
        title = f"best {len(shown)} of {n_runs}" if ranked else None
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncols=columns,
            fontsize=8,
            title=title,
            title_fontsize=8,
            frameon=False,
            handlelength=2.2,
            columnspacing=1.2,
            labelspacing=0.25,
        )
    return fig


def _rank_order(series: Sequence[np.ndarray], maximise: bool) -> list[int]:
    """Run indices best first by their last value; runs that end non-finite (diverged) come last."""

    def key(i: int) -> tuple[bool, float]:
        last = series[i][-1] if len(series[i]) else math.nan
        ok = math.isfinite(last)
        return (not ok, (-last if maximise else last) if ok else 0.0)

    return sorted(range(len(series)), key=key)


def _short_label(label: str) -> str:
    return label if len(label) <= MAX_LEGEND_LABEL else label[: MAX_LEGEND_LABEL - 1] + "…"


def _legend_columns(labels: Sequence[str]) -> int:
    """As many columns as the longest label lets fit across the figure, at most 4."""
    longest = max(len(label) for label in labels)
    return max(1, min(4, 64 // (longest + 6)))


# --- a run's own plots -----------------------------------------------------------------------------


def plot_names(history: Mapping[str, Sequence[float]]) -> list[tuple[str, str]]:
    """(metric, file name) of a run's plots: the loss and the primary metric (accuracy, or the regression metric)."""
    out = [("loss", "loss.png")]
    metric = primary_metric(history)
    if metric != "loss":
        out.append((metric, "accuracy.png" if "acc" in metric else f"{metric}.png"))
    return out


def render_plots(
    name: str,
    history: Mapping[str, Sequence[float]],
    metrics: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    preprocessing: Mapping[str, Any] | None = None,
    classes: Any = None,
) -> dict[str, bytes]:
    """A run's plots as PNG files in memory, by file name (no curves without a loss history): the run store
    writes them as they are. ``metrics`` (as in ``metrics.json``), the resolved ``config`` and
    ``preprocessing`` (as mappings) add the run's notes: early stopping, test score, hyperparameters, chance.
    ``classes`` (a classifier's test set, a :class:`~nnrun.evaluation.ClassReport`) adds its confusion matrix."""
    plots = {}
    notes = run_notes(metrics, config, preprocessing)
    if history.get("loss"):
        for metric, file in plot_names(history):
            title = f"{name} — {readable_name(metric).lower()}"
            plots[file] = figure_bytes(history_figure(history, metric=metric, title=title, notes=notes))
    if classes is not None:
        from nnrun.report.confusion import confusion_plots  # it draws with this module's figure_bytes

        plots.update(confusion_plots(classes, f"{name} — test set"))
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
