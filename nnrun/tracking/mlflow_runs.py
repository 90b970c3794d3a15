"""MLflow runs from finished run and sweep folders, through ``MlflowClient`` (no global active run).

A run folder becomes one MLflow run: its resolved config as parameters (dotted keys, as ``--set``), its
history as metrics per epoch (step = epoch, 0-based; the same keys as history.json, a NaN epoch left out),
its test evaluation as ``test_<name>``, tags (``status``, ``stop_reason``, ``seed``, ``host``, nnrun's
version, the folder) and its files as artifacts (weights.npz only with ``log_weights``). A sweep becomes a
parent run (the sweep's spec, summary and figures; the best value of its ranking metric) with one nested
child run per trial (``mlflow.parentRunId``), whose parameters also include ``trial``, ``repeat``.

Uploading again is safe: each MLflow run carries the folder's key (``nnrun.key``); a run already uploaded
completely is skipped, a partial one (a server that went down half-way) is deleted and uploaded again.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from nnrun.engine.callbacks.tensorboard import MissingDependencyError
from nnrun.results import flatten_config
from nnrun.runs.catalog import RunRecord, SweepRecord, SweepTrial
from nnrun.tracking.settings import MLFLOW_EXTRA, MlflowSettings

KEY_TAG, UPLOAD_TAG, STARTED_TAG = "nnrun.key", "nnrun.upload", "nnrun.started"
RUN_STATUS = {"completed": "FINISHED", "failed": "FAILED", "diverged": "FAILED", "interrupted": "KILLED"}
SKIPPED_FILES = ("tracking.json", "checkpoint.json", "checkpoint.npz")  # tracking's own record; training state
SKIPPED_FOLDERS = ("tensorboard",)
MAX_PARAMS, MAX_METRICS = 100, 1000  # MLflow's limits for one log_batch call


def _mlflow() -> Any:
    for name in ("mlflow", "alembic"):  # their INFO lines ("Updating database tables") are not the user's business
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return importlib.import_module("mlflow")
    except ImportError as e:
        raise MissingDependencyError(
            f"logging to MLflow needs the mlflow package ({e}). Install it with: {MLFLOW_EXTRA}", "mlflow"
        ) from None


@contextlib.contextmanager
def bounded_requests(settings: MlflowSettings) -> Iterator[None]:
    """No retries and ``settings.timeout`` seconds per request, unless the user's environment says otherwise."""
    wanted = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": str(settings.timeout)}
    added = [name for name in wanted if name not in os.environ]
    os.environ.update({name: wanted[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


class MlflowLogger:
    """One connection to a tracking URI; logs run folders and sweeps into experiments by name."""

    def __init__(self, settings: MlflowSettings) -> None:
        self.settings = settings
        mlflow = _mlflow()
        self.client = mlflow.tracking.MlflowClient(tracking_uri=settings.tracking_uri)
        self._entities = importlib.import_module("mlflow.entities")

    def experiment_id(self, default_name: str) -> tuple[str, str]:
        """(id, name) of the settings' experiment, or of ``default_name``; created when missing."""
        name = self.settings.experiment or default_name
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            return self.client.create_experiment(name), name
        if experiment.lifecycle_stage == "deleted":
            self.client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id, name

    # -- runs ------------------------------------------------------------------------------------------

    def log_run(
        self,
        run: RunRecord,
        experiment_id: str,
        key: str,
        parent_id: str | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> tuple[str, bool]:
        """Upload one run folder; returns (MLflow run id, whether it was already there)."""
        started = _iso(run)
        existing = self._find(experiment_id, key)
        if existing is not None:
            tags = existing.data.tags
            if tags.get(UPLOAD_TAG) == "complete" and tags.get(STARTED_TAG) == started:
                return existing.info.run_id, True
            self.client.delete_run(existing.info.run_id)
        tags = {KEY_TAG: key, STARTED_TAG: started, UPLOAD_TAG: "partial", **run_tags(run)}
        if parent_id is not None:
            tags["mlflow.parentRunId"] = parent_id
        created = self.client.create_run(experiment_id, start_time=_ms(run.started), tags=tags, run_name=run.name)
        run_id = created.info.run_id
        params = {**(extra_params or {}), **run_params(run)}
        self._log(run_id, params=params, metrics=run_metrics(run))
        self._log_files(run_id, run.path)
        self.client.set_tag(run_id, UPLOAD_TAG, "complete")
        self.client.set_terminated(run_id, RUN_STATUS.get(run.status, "FINISHED"), end_time=_end_ms(run))
        return run_id, False

    def log_sweep(self, sweep: SweepRecord) -> dict[str, Any]:
        """The sweep's parent run and a child run per trial with a run folder."""
        experiment_id, experiment = self.experiment_id(sweep.name)
        key = sweep.path.name
        parent = self._find(experiment_id, key)
        if parent is None:
            tags = {KEY_TAG: key, "status": sweep.status, "nnrun.kind": "sweep", "nnrun.folder": str(sweep.path)}
            tags.update({"metric": sweep.metric, "mode": sweep.mode})
            parent_id = self.client.create_run(
                experiment_id, start_time=_ms(sweep.started), tags=tags, run_name=sweep.name
            ).info.run_id
            self._log(parent_id, params=sweep_params(sweep), metrics={})
        else:
            parent_id = parent.info.run_id
            self.client.set_tag(parent_id, "status", sweep.status)
        children: dict[str, str] = {}
        for trial in sweep.trials:
            if trial.run is None:
                continue
            run_id, _ = self.log_run(
                trial.run, experiment_id, f"{key}/{trial.run.path.name}", parent_id, trial_params(trial)
            )
            children[trial.id] = run_id
        best = best_value(sweep)
        if best is not None:
            self._log(parent_id, params={}, metrics={f"best_{sweep.metric}": [(0, best, None)]})
        self._log_files(parent_id, sweep.path, folders=("figures",))
        status = "FINISHED" if sweep.status == "completed" else "KILLED" if sweep.status == "interrupted" else None
        if status is not None:
            self.client.set_terminated(parent_id, status)
        return {"experiment": experiment, "experiment_id": experiment_id, "run_id": parent_id, "trials": children}

    # -- helpers ---------------------------------------------------------------------------------------

    def _find(self, experiment_id: str, key: str) -> Any:
        found = self.client.search_runs([experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{key}'", max_results=1)
        return found[0] if found else None

    def _log(self, run_id: str, params: Mapping[str, Any], metrics: Mapping[str, list[tuple[int, float, int | None]]]):
        e = self._entities
        param_list = [e.Param(k, _param_value(v)) for k, v in params.items()]
        for i in range(0, len(param_list), MAX_PARAMS):
            self.client.log_batch(run_id, params=param_list[i : i + MAX_PARAMS])
        metric_list = [
            e.Metric(name, value, stamp if stamp is not None else 0, step)
            for name, points in metrics.items()
            for step, value, stamp in points
        ]
        for i in range(0, len(metric_list), MAX_METRICS):
            self.client.log_batch(run_id, metrics=metric_list[i : i + MAX_METRICS])

    def _log_files(self, run_id: str, folder: Path, folders: tuple[str, ...] = ()) -> None:
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name in SKIPPED_FILES:
                continue
            if path.is_file():
                if path.suffix == ".npz" and not self.settings.log_weights:
                    continue
                self.client.log_artifact(run_id, str(path))
            elif path.is_dir() and path.name in folders and path.name not in SKIPPED_FOLDERS:
                self.client.log_artifacts(run_id, str(path), artifact_path=path.name)


# -- what a folder holds, as MLflow params, metrics and tags ---------------------------------------------


def run_params(run: RunRecord) -> dict[str, Any]:
    """The resolved config as dotted keys (``model.layers.0.dense.units``)."""
    return flatten_config(run.config)


def trial_params(trial: SweepTrial) -> dict[str, Any]:
    return {"trial": trial.id, "repeat": trial.repeat}


def sweep_params(sweep: SweepRecord) -> dict[str, Any]:
    """The sweep section (method, metric, ...) and each swept key with its values."""
    section = sweep.spec.get("sweep") if isinstance(sweep.spec.get("sweep"), Mapping) else {}
    params = {f"sweep.{k}": v for k, v in section.items() if k != "parameters"}
    swept = section.get("parameters") if isinstance(section.get("parameters"), Mapping) else {}
    params.update({f"sweep.parameters.{k}": v for k, v in swept.items()})
    params["sweep.trials"] = len(sweep.trials)
    return params


def run_metrics(run: RunRecord) -> dict[str, list[tuple[int, float, int | None]]]:
    """``{name: [(step, value, timestamp ms)]}``: every history key per epoch, then ``test_<name>``."""
    start = _ms(run.started)
    stamps: list[int | None] = []
    now = start
    for seconds in run.history.get("epoch_time") or []:
        if now is not None and isinstance(seconds, (int, float)):
            now += int(round(seconds * 1000))
        stamps.append(now)
    out: dict[str, list[tuple[int, float, int | None]]] = {}
    for name, values in run.history.items():
        points = [
            (epoch, float(v), stamps[epoch] if epoch < len(stamps) else start)
            for epoch, v in enumerate(values)
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        if points:
            out[name] = points
    test = run.metrics.get("test")
    epochs = len(run.history.get("loss") or [])
    if isinstance(test, Mapping):
        for name, value in test.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"test_{name}"] = [(epochs, float(value), stamps[-1] if stamps else start)]
    return out


def run_tags(run: RunRecord) -> dict[str, str]:
    """status, stop_reason, seed, host (where status.json recorded it), versions and the folder."""
    status = _read_json(run.path / "status.json")
    tags = {"status": run.status, "nnrun.kind": "run", "nnrun.folder": str(run.path)}
    if run.stop_reason:
        tags["stop_reason"] = str(run.stop_reason)[:5000]
    seed = run.metrics.get("seed", run.config.get("seed"))
    if seed is not None:
        tags["seed"] = str(seed)
    if status.get("host"):
        tags["host"] = str(status["host"])
    versions = run.metrics.get("versions")
    if isinstance(versions, Mapping):
        tags.update({f"version.{k}": str(v) for k, v in versions.items()})
    return tags


def best_value(sweep: SweepRecord) -> float | None:
    """The best final value of the sweep's ranking metric over its trials (None if no trial has one)."""
    values = [v for t in sweep.runs if isinstance(v := t.final.get(sweep.metric), (int, float)) and math.isfinite(v)]
    if not values:
        return None
    return float(max(values) if sweep.mode == "max" else min(values))


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _ms(when: Any) -> int | None:
    return int(when.timestamp() * 1000) if when is not None else None


def _iso(run: RunRecord) -> str:
    return run.started.isoformat() if run.started else ""


def _end_ms(run: RunRecord) -> int | None:
    status = _read_json(run.path / "status.json")
    try:
        from datetime import datetime

        return int(datetime.fromisoformat(str(status["updated"])).timestamp() * 1000)
    except (KeyError, ValueError):
        return None
