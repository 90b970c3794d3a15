"""Logging finished run and sweep folders to TensorBoard and MLflow, and recording how it went.

Called by the process that writes the folders, once a folder is complete (``nnrun train`` after the run,
``nnrun sweep`` after the trials), and by ``nnrun track`` for folders made earlier. A backend that fails
(a server down or too slow, a full disk) never raises here: the folder is already complete, and the
failure is recorded in its ``tracking.json``:

```json
{"mlflow": {"status": "failed", "tracking_uri": "http://127.0.0.1:5000", "experiment": null,
            "error": "ConnectionError: ...", "updated": "2026-12-01T10:00:00+01:00"},
 "tensorboard": {"status": "logged", "logdir": "runs/20261201-100000-mnist-mlp/tensorboard", "updated": "..."}}
```

``status`` is ``logged`` or ``failed``; a logged MLflow entry has ``experiment``, ``experiment_id`` and
``run_id`` (a sweep's: the parent run's, and ``trials``: trial id → child run id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from nnrun.errors import InvalidArgumentError, StoreError
from nnrun.runs.catalog import is_run, is_sweep, read_run, read_sweep
from nnrun.runs.store import RunFolder, now_iso
from nnrun.tracking.settings import TrackingSettings, require_backends

TRACKING_FILE = "tracking.json"
MAX_ERROR = 600


@dataclass
class TrackingOutcome:
    """What happened to one folder: ``{backend: record}`` as written in its tracking.json."""

    folder: Path
    kind: str  # "run" or "sweep"
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    record_error: str | None = None  # tracking.json could not be written

    @property
    def failed(self) -> list[str]:
        return [name for name, record in self.results.items() if record.get("status") == "failed"]

    def messages(self) -> list[str]:
        """What was logged where, one line per backend that succeeded."""
        out = []
        for name, record in self.results.items():
            if record.get("status") == "failed":
                continue
            if name == "tensorboard":
                out.append(f"TensorBoard: {record['logdir']}")
            else:
                what = "already in" if record.get("already") else "logged to"
                out.append(
                    f"MLflow: {self.folder.name} {what} {record['tracking_uri']}, experiment "
                    f"{record['experiment']!r}, run {record['run_id']}"
                )
        return out

    def problems(self) -> list[str]:
        """One line per backend that failed (and if tracking.json could not be written)."""
        out = [
            f"{name} failed for {self.folder}: {record.get('error')}"
            for name, record in self.results.items()
            if record.get("status") == "failed"
        ]
        if self.record_error:
            out.append(f"could not record the outcome in {self.folder / TRACKING_FILE}: {self.record_error}")
        return out


def track_run(folder: str | Path, settings: TrackingSettings) -> TrackingOutcome:
    """Log a complete run folder to the backends ``settings`` name; failures are recorded, never raised."""
    require_backends(settings)
    run = read_run(folder)

    def to_tensorboard(target: Path) -> Path:
        from nnrun.tracking.tensorboard_events import export_run

        return export_run(run, target)

    def to_mlflow(logger: Any) -> dict[str, Any]:
        experiment_id, experiment = logger.experiment_id(run.name)
        run_id, already = logger.log_run(run, experiment_id, key=run.path.name)
        return {"experiment": experiment, "experiment_id": experiment_id, "run_id": run_id, "already": already}

    return _track(TrackingOutcome(run.path, "run"), settings, to_tensorboard, to_mlflow)


def track_sweep(folder: str | Path, settings: TrackingSettings) -> TrackingOutcome:
    """Log a sweep folder (a TensorBoard HParams session / an MLflow child run per trial with a run folder)."""
    require_backends(settings)
    sweep = read_sweep(folder)

    def to_tensorboard(target: Path) -> Path:
        from nnrun.tracking.tensorboard_events import export_sweep

        return export_sweep(sweep, target)

    outcome = TrackingOutcome(sweep.path, "sweep")
    return _track(outcome, settings, to_tensorboard, lambda logger: logger.log_sweep(sweep))


def _track(
    outcome: TrackingOutcome,
    settings: TrackingSettings,
    to_tensorboard: Callable[[Path], Path],
    to_mlflow: Callable[[Any], dict[str, Any]],
) -> TrackingOutcome:
    """Run each configured backend on the folder (each failure recorded, never raised), then record the outcome."""
    if settings.tensorboard:
        target = _tensorboard_target(outcome.folder, settings)
        outcome.results["tensorboard"] = _attempt(lambda: {"logdir": str(to_tensorboard(target))})
    if settings.mlflow is not None:
        ml = settings.mlflow

        def log() -> dict[str, Any]:
            from nnrun.tracking.mlflow_runs import MlflowLogger, bounded_requests

            with bounded_requests(ml):
                return to_mlflow(MlflowLogger(ml))

        outcome.results["mlflow"] = _attempt(
            log, secret=_credentials(ml.tracking_uri), tracking_uri=_safe_uri(ml.tracking_uri), experiment=ml.experiment
        )
    _record(outcome)
    return outcome


def track_folders(paths: list[str | Path], settings: TrackingSettings) -> list[TrackingOutcome]:
    """``nnrun track``: every path must be a run or sweep folder (all checked before anything is logged)."""
    if not settings.enabled:
        raise InvalidArgumentError("nothing to do: pass --tensorboard, --tensorboard-dir DIR or --mlflow URI.")
    require_backends(settings)
    kinds = []
    for path in paths:
        path = Path(path)
        if is_sweep(path):
            kinds.append((path, track_sweep))
        elif is_run(path):
            kinds.append((path, track_run))
        else:
            what = "does not exist" if not path.exists() else "is not a run folder or a sweep folder"
            raise InvalidArgumentError(f"{path} {what}. Pass folders that nnrun train or nnrun sweep wrote.")
    return [track(path, settings) for path, track in kinds]


def read_tracking(folder: str | Path) -> dict[str, Any]:
    """A folder's tracking.json ({} when it has none)."""
    try:
        value = json.loads((Path(folder) / TRACKING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


# -- helpers -------------------------------------------------------------------------------------------


def _tensorboard_target(folder: Path, settings: TrackingSettings) -> Path:
    return settings.tensorboard_dir / folder.name if settings.tensorboard_dir is not None else folder / "tensorboard"


def _attempt(log: Any, secret: str | None = None, **context: Any) -> dict[str, Any]:
    """Run one backend's logging; its failure, whatever it is, becomes a record (the folder is already safe).

    ``secret``: text never to record (a URI's ``user:password@``), removed from the error message."""
    try:
        result = log()
    except Exception as e:  # a tracking backend may fail in any way; the run must not
        message = f"{type(e).__name__}: {e}".strip()
        if secret:
            message = message.replace(secret, "")
        if len(message) > MAX_ERROR:
            message = message[: MAX_ERROR - 1] + "…"
        return {"status": "failed", **context, "error": message, "updated": now_iso()}
    return {"status": "logged", **context, **result, "updated": now_iso()}


def _record(outcome: TrackingOutcome) -> None:
    record = read_tracking(outcome.folder)
    record.update({name: {k: v for k, v in r.items() if k != "already"} for name, r in outcome.results.items()})
    try:
        RunFolder(outcome.folder).write_json(TRACKING_FILE, record)
    except StoreError as e:
        outcome.record_error = str(e)


def _credentials(uri: str) -> str | None:
    """``user:password@`` (or ``user@``) as written in ``uri``, if it has any."""
    netloc = urlsplit(uri).netloc
    return netloc[: netloc.rindex("@") + 1] if "@" in netloc else None


def _safe_uri(uri: str) -> str:
    """The tracking URI without a user name or password."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
