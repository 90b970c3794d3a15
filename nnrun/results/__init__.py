"""Results: what a trial's numbers mean and how trials compare. The one home of

- a metric's direction (asked once of the engine's metric registry) and a history's primary metric,
- a trial's summary row (:class:`TrialRow`),
- points (parameter combinations), their mean ± std over repeats, their ranking and the best one,
- which config keys tell trials apart, and their short names.

The sweep runner, the run catalog, the reports and the CLI all use this package; it imports only the engine.
"""

from nnrun.results.metrics import (
    DIRECTIONS,
    NOT_METRICS,
    base_name,
    check_direction,
    direction,
    is_accuracy,
    is_loss,
    metric_names,
    primary_metric,
)
from nnrun.results.params import differing_params, flatten_config, format_value, get_param, short_names
from nnrun.results.ranking import Point, best_point, canonical, mean_std, rank
from nnrun.results.rows import TrialRow, final_values, finite, trial_row

__all__ = [
    "DIRECTIONS",
    "NOT_METRICS",
    "Point",
    "TrialRow",
    "base_name",
    "best_point",
    "canonical",
    "check_direction",
    "differing_params",
    "direction",
    "final_values",
    "finite",
    "flatten_config",
    "format_value",
    "get_param",
    "is_accuracy",
    "is_loss",
    "mean_std",
    "metric_names",
    "primary_metric",
    "rank",
    "short_names",
    "trial_row",
]
