"""Plots of training histories, returned as ``Figure`` objects; the caller saves or shows them."""

from nnrun.report.plots import (
    SAVE_FORMATS,
    history_figure,
    metric_names,
    overlay_figure,
    primary_metric,
    readable_name,
    save_figure,
)

__all__ = [
    "SAVE_FORMATS",
    "history_figure",
    "metric_names",
    "overlay_figure",
    "primary_metric",
    "readable_name",
    "save_figure",
]
