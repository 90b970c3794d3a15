"""The ``tracking:`` section of a config: where a run is logged besides its run folder.

```yaml
tracking:
  tensorboard: true                       # event files in the run folder, under tensorboard/
  mlflow: {tracking_uri: sqlite:///mlruns.db, experiment: mnist}
```

The same as ``--tensorboard`` and ``--mlflow URI`` on ``nnrun train`` and ``nnrun sweep``; what they do is
``nnrun.tracking`` (:class:`nnrun.tracking.TrackingSettings` is built from this section).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from nnrun.config.base import StrictModel


class MlflowConfig(StrictModel):
    """An MLflow tracking server or store."""

    tracking_uri: Annotated[str, Field(min_length=1)]
    """where runs are logged: http://HOST:PORT, sqlite:///mlruns.db, or a folder"""
    experiment: Annotated[str, Field(min_length=1)] | None = None
    """the MLflow experiment (default: the config's name)"""
    log_weights: bool = False
    """also upload weights.npz as an artifact"""
    timeout: Annotated[int, Field(ge=1)] = 10
    """seconds to wait for each request to a tracking server"""


class TrackingConfig(StrictModel):
    """Logging to TensorBoard and MLflow; a backend that fails never fails the run."""

    tensorboard: bool = False
    """write TensorBoard event files (the run folder's tensorboard/)"""
    mlflow: MlflowConfig | None = None
    """log to MLflow: tracking_uri and experiment"""
