"""Figures and their names, returned as ``Figure`` objects or PNG bytes; the caller saves or writes them.

``plots``: one run's curves and overlays of runs; ``sweep``: a sweep's comparison figures; ``figure``: what
they share. Reports never read or write run folders (``nnrun.runs`` does) and never run sweeps.
"""

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
