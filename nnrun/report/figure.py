"""What every nnrun figure shares: a new figure, epoch axes, a curve, colours per run, and history checks.

Used by :mod:`nnrun.report.plots` (one run, overlays) and :mod:`nnrun.report.sweep` (a sweep's figures).
Only the object-oriented API: a ``Figure`` is built directly, ``pyplot`` is never touched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from nnrun.errors import InvalidArgumentError

FIGSIZE = (6.4, 4.2)  # inches
DPI = 120
ALERT_COLOR = "#c0392b"
LOG_SCALE_RATIO = 100  # a y range wider than this (max / min of positive values) is drawn on a log axis
MARKER_MAX_EPOCHS = 30  # draw a marker on every point up to this many epochs


# --- histories --------------------------------------------------------------------------------------


def check_history(history: object, where: str = "history") -> None:
    if not isinstance(history, Mapping):
        raise InvalidArgumentError(
            f"{where} must map metric names to per-epoch lists, like Keras's history.history. "
            f"Received: {where}={type(history).__name__}"
        )
    for key, values in history.items():
        if not isinstance(key, str) or isinstance(values, (str, bytes, Mapping)) or np.ndim(values) != 1:
            raise InvalidArgumentError(
                f"{where} must map metric names to per-epoch lists. Received: {where}[{key!r}]={values!r}"
            )


def history_values(history: Mapping[str, Sequence[float]], key: str, where: str = "history") -> np.ndarray:
    """The per-epoch values of ``key`` as float64, with ``None`` read as NaN."""
    try:
        return np.array([math.nan if v is None else v for v in history[key]], dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{where}[{key!r}] must hold one number per epoch. Received: {list(history[key])!r}"
        ) from None


# --- axes -------------------------------------------------------------------------------------------


def new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    return Figure(figsize=figsize, dpi=DPI, layout="constrained")


def style_axes(ax, n_epochs: int, ylabel: str, series: Sequence[np.ndarray]) -> None:
    """Labels, integer epoch ticks, a light grid; a log y axis when positive values span 2+ decades."""
    ax.set_xlabel("Epoch")
    ax.set_ylabel(ylabel)
    finite = np.concatenate([s[np.isfinite(s)] for s in series])
    if finite.size and finite.min() > 0 and finite.max() / finite.min() >= LOG_SCALE_RATIO:
        ax.set_yscale("log")
    ax.set_xticks(epoch_ticks(n_epochs))
    pad = max(0.5, 0.02 * (n_epochs - 1))
    ax.set_xlim(1 - pad, n_epochs + pad)
    ax.grid(True, alpha=0.3, linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)


def epoch_ticks(n_epochs: int) -> list[int]:
    """Integer epochs starting at 1: every epoch when few, else 1 and round multiples of a nice step."""
    n_epochs = max(n_epochs, 1)
    if n_epochs <= 12:
        return list(range(1, n_epochs + 1))
    step = max(1, int(MaxNLocator(nbins=8, integer=True, steps=[1, 2, 5, 10]).tick_values(1, n_epochs)[1]))
    if step < 5:
        return list(range(1, n_epochs + 1, step))
    return [1, *range(step, n_epochs + 1, step)]


def plot_series(ax, values: np.ndarray, **kwargs):
    """A curve over epochs 1..n; NaN breaks the line, inf is drawn as a gap too."""
    epochs = np.arange(1, len(values) + 1)
    shown = np.where(np.isfinite(values), values, np.nan)
    marker = kwargs.pop("marker", "o")
    marker = marker if len(values) <= MARKER_MAX_EPOCHS else None
    kwargs.setdefault("linewidth", 1.8)
    (line,) = ax.plot(epochs, shown, marker=marker, markersize=4, **kwargs)
    return line


def run_styles(n: int) -> list[tuple[tuple, str]]:
    """(colour, line style) per run: the tab10 cycle, then the same colours dashed, dotted, dash-dotted."""
    colors = matplotlib.colormaps["tab10"].colors
    styles = ("-", "--", ":", "-.")
    return [(colors[i % 10], styles[(i // 10) % len(styles)]) for i in range(n)]


__all__ = [
    "ALERT_COLOR",
    "DPI",
    "FIGSIZE",
    "check_history",
    "epoch_ticks",
    "history_values",
    "new_figure",
    "plot_series",
    "run_styles",
    "style_axes",
]
