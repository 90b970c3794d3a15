"""What to log where: TensorBoard event files and an MLflow tracking server (from flags or a config)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnrun.engine.callbacks.tensorboard import TENSORBOARD_EXTRA, MissingDependencyError
from nnrun.errors import InvalidArgumentError

MLFLOW_EXTRA = "pip install 'nnrun[mlflow]'"


@dataclass(frozen=True)
class MlflowSettings:
    """An MLflow tracking URI (``http://HOST:PORT``, ``sqlite:///mlruns.db``, a folder) and how to log to it.

    ``experiment``: the MLflow experiment (None: the run's or sweep's name). ``timeout``: seconds per request
    to a tracking server; requests are not retried, so a server that is down costs one timeout.
    """

    tracking_uri: str
    experiment: str | None = None
    log_weights: bool = False
    timeout: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.tracking_uri, str) or not self.tracking_uri.strip():
            raise InvalidArgumentError(
                f"the MLflow tracking URI must be a non-empty text such as http://127.0.0.1:5000 or "
                f"sqlite:///mlruns.db. Received: {self.tracking_uri!r}"
            )
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int) or self.timeout < 1:
            raise InvalidArgumentError(
                f"the MLflow timeout must be a whole number of seconds >= 1. Received: {self.timeout!r}"
            )


@dataclass(frozen=True)
class TrackingSettings:
    """``tensorboard``: write event files, into ``tensorboard_dir/<folder name>/`` or (None) each run or sweep
    folder's own ``tensorboard/``. ``mlflow``: log to that MLflow tracking URI (None: no MLflow)."""

    tensorboard: bool = False
    tensorboard_dir: Path | None = None
    mlflow: MlflowSettings | None = None

    @property
    def enabled(self) -> bool:
        return self.tensorboard or self.mlflow is not None

    def merged(self, other: TrackingSettings) -> TrackingSettings:
        """These settings with ``other``'s (command-line flags over a config's section) where ``other`` sets them."""
        return TrackingSettings(
            tensorboard=self.tensorboard or other.tensorboard,
            tensorboard_dir=other.tensorboard_dir if other.tensorboard_dir is not None else self.tensorboard_dir,
            mlflow=other.mlflow if other.mlflow is not None else self.mlflow,
        )


def settings_from_flags(
    tensorboard: bool | str | Path | None = None, mlflow: str | None = None, experiment: str | None = None
) -> TrackingSettings:
    """``--tensorboard [DIR]`` (True or "" for each folder's own ``tensorboard/``) and ``--mlflow URI``."""
    tb_dir = None if tensorboard in (None, False, True, "") else Path(str(tensorboard))
    ml = MlflowSettings(tracking_uri=mlflow, experiment=experiment) if mlflow is not None else None
    if mlflow is None and experiment is not None:
        raise InvalidArgumentError(f"--experiment {experiment} needs --mlflow URI: it names an MLflow experiment.")
    return TrackingSettings(tensorboard=tensorboard not in (None, False), tensorboard_dir=tb_dir, mlflow=ml)


def settings_from_config(section: Any) -> TrackingSettings:
    """A config's ``tracking:`` section (a :class:`nnrun.config.tracking.TrackingConfig` or its mapping)."""
    if section is None:
        return TrackingSettings()
    if hasattr(section, "model_dump"):
        section = section.model_dump()
    if not isinstance(section, Mapping):
        raise InvalidArgumentError(f"tracking must be a mapping. Received: {section!r}")
    ml = section.get("mlflow")
    return TrackingSettings(
        tensorboard=bool(section.get("tensorboard", False)),
        mlflow=MlflowSettings(**{k: v for k, v in ml.items() if v is not None}) if ml else None,
    )


def require_backends(settings: TrackingSettings) -> None:
    """Fail before any training if a backend's package is not installed (the error names the pip command)."""
    if settings.tensorboard and not _installed("tensorboardX"):
        raise MissingDependencyError(
            f"--tensorboard needs the tensorboardX package. Install it with: {TENSORBOARD_EXTRA}", "tensorboardX"
        )
    if settings.mlflow is not None and not _installed("mlflow"):
        raise MissingDependencyError(f"--mlflow needs the mlflow package. Install it with: {MLFLOW_EXTRA}", "mlflow")


def _installed(package: str) -> bool:
    """Whether ``import package`` can work, without importing it (mlflow takes seconds to import)."""
    if package in sys.modules:
        return sys.modules[package] is not None  # None: imports of it are blocked
    return importlib.util.find_spec(package) is not None
