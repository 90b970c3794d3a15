"""Logging run and sweep folders to TensorBoard and MLflow (``--tensorboard``, ``--mlflow``, ``nnrun track``).

Only the process that writes run folders calls these, once a folder is complete; a backend that fails
is recorded in the folder's ``tracking.json`` and never fails the run. The backends' packages are
imported only when used (``pip install 'nnrun[tensorboard]'``, ``pip install 'nnrun[mlflow]'``).
"""

from nnrun.tracking.settings import (
    MlflowSettings,
    TrackingSettings,
    require_backends,
    settings_from_config,
    settings_from_flags,
)
from nnrun.tracking.track import TRACKING_FILE, TrackingOutcome, read_tracking, track_folders, track_run, track_sweep

__all__ = [
    "TRACKING_FILE",
    "MlflowSettings",
    "TrackingOutcome",
    "TrackingSettings",
    "read_tracking",
    "require_backends",
    "settings_from_config",
    "settings_from_flags",
    "track_folders",
    "track_run",
    "track_sweep",
]
