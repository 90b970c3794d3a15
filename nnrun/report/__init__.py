"""Figures and their names, returned as ``Figure`` objects or PNG bytes; the caller saves or writes them.

``plots``: one run's curves and overlays of runs; ``sweep``: a sweep's comparison figures; ``figure``: what
they share; ``planning``: which figures a sweep saves, without the plotting stack. Reports never read or write
run folders (``nnrun.runs`` does) and never run sweeps.

The names below come from ``plots`` when first used, so that importing ``nnrun.report.planning`` does not import
matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnrun.report.plots import (
        SAVE_FORMATS,
        figure_bytes,
        history_figure,
        metric_names,
        overlay_figure,
        plot_names,
        primary_metric,
        readable_name,
        render_plots,
        save_figure,
    )

__all__ = [
    "SAVE_FORMATS",
    "figure_bytes",
    "history_figure",
    "metric_names",
    "overlay_figure",
    "plot_names",
    "primary_metric",
    "readable_name",
    "render_plots",
    "save_figure",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("nnrun.report.plots"), name)
    raise AttributeError(f"module 'nnrun.report' has no attribute {name!r}")
