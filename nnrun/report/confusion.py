"""A confusion matrix as a figure: true classes down, predicted classes across, each cell's count written in it
and its colour the share of its true class (so rare classes read as clearly as common ones)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from nnrun.errors import InvalidArgumentError
from nnrun.evaluation import ClassReport
from nnrun.report.figure import DPI
from nnrun.report.plots import figure_bytes

MAX_LABELLED = 30  # more classes than this: no numbers in the cells, ticks thinned


def confusion_figure(matrix: np.ndarray, labels: Sequence[str], title: str = "Confusion matrix") -> Figure:
    """``matrix[i, j]``: samples of true class ``labels[i]`` predicted as ``labels[j]``."""
    m = np.asarray(matrix)
    k = len(labels)
    if m.ndim != 2 or m.shape != (k, k):
        raise InvalidArgumentError(
            f"matrix must be square with one row and column per label ({k} labels). Received: shape {m.shape}"
        )
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros(m.shape, dtype=float), where=rows != 0)
    side = min(max(3.6, 0.45 * k + 1.8), 12.0)
    fig = Figure(figsize=(side + 0.8, side), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    step = 1 if k <= MAX_LABELLED else int(np.ceil(k / MAX_LABELLED))
    ticks = np.arange(0, k, step)
    short = [str(labels[i])[:14] for i in ticks]
    ax.set_xticks(ticks, short, rotation=45 if max(map(len, short), default=0) > 2 else 0, ha="right")
    ax.set_yticks(ticks, short)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(m) / m.sum() if m.sum() else 0.0
    ax.set_title(f"{title}\naccuracy {accuracy:.4f} on {int(m.sum())} samples", fontsize=10)
    if k <= MAX_LABELLED:
        size = 9 if k <= 12 else 7 if k <= 20 else 5
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    color = "white" if share[i, j] > 0.5 else "black"
                    ax.text(j, i, str(int(m[i, j])), ha="center", va="center", color=color, fontsize=size)
    return fig


def confusion_plots(report: ClassReport | None, title: str) -> dict[str, bytes]:
    """``{"confusion_matrix.png": ...}`` for a classifier's results (nothing for None): what the run store writes."""
    if report is None:
        return {}
    return {"confusion_matrix.png": figure_bytes(confusion_figure(report.matrix, report.labels, title))}


__all__ = ["confusion_figure", "confusion_plots"]
