"""Reading run folders and sweep folders back: what ``nnrun runs`` lists and ``nnrun plot`` draws.

This module only reads. A folder can be incomplete (a run killed mid-epoch, a sweep still running): a
missing or unreadable file reads as empty (``{}``, ``[]`` or ``None``) and never raises; only a path that
is not a run or sweep folder at all is an error.

A run folder holds ``config.yaml``, ``history.json``, ``metrics.json`` and ``status.json`` (see
``nnrun.runs.record``). A sweep folder ``sweep-<stamp>-<name>/`` holds ``sweep.yaml``, ``manifest.json``
(the trials, their parameters and folders), ``trials/<id>-.../`` (one run folder per trial) and the
sweep's own ``summary.json``, ``figures/`` and ``status.json``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from nnrun.errors import InvalidArgumentError
from nnrun.report.plots import higher_is_better, primary_metric
from nnrun.report.sweep import format_value, short_names, suggest

RUN_FILES = ("status.json", "config.yaml", "history.json", "metrics.json")
SWEEP_FILES = ("manifest.json", "sweep.yaml")
IGNORED_KEYS = ("name", "description")  # config keys that never tell two runs apart
_STAMP = re.compile(r"^(?:sweep-)?(\d{8}-\d{6})-(.+)$")
_MISSING = object()


# --- records ----------------------------------------------------------------------------------------


@dataclass
class RunRecord:
    """One run folder, read back. Files that are missing read as empty."""

    path: Path
    name: str
    started: datetime | None
    status: str  # running, completed, failed, interrupted, diverged; "unknown" without status.json
    stop_reason: str | None
    config: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    kind = "run"

    @property
    def final(self) -> dict[str, float | None]:
        """The final value of each metric: metrics.json's, else the history's last epoch."""
        final = self.metrics.get("final")
        if isinstance(final, Mapping) and final:
            return dict(final)
        return {k: v[-1] for k, v in self.history.items() if k not in ("epoch_time", "learning_rate") and v}


@dataclass
class SweepTrial:
    """One trial of a sweep's manifest, with its run folder once it has one."""

    id: str
    params: dict[str, Any]
    repeat: int
    seed: int | None
    status: str
    reason: str | None
    run: RunRecord | None


@dataclass
class SweepRecord:
    """One sweep folder, read back: its spec, its manifest and every trial's run folder."""

    path: Path
    name: str
    started: datetime | None
    status: str
    stop_reason: str | None
    spec: dict[str, Any] = field(default_factory=dict)  # sweep.yaml: {name, config, sweep: {...}}
    manifest: dict[str, Any] = field(default_factory=dict)
    trials: list[SweepTrial] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)  # summary.json as the sweep wrote it

    kind = "sweep"

    @property
    def config(self) -> dict[str, Any]:
        """The base config every trial starts from."""
        config = self.spec.get("config")
        return config if isinstance(config, dict) else {}

    @property
    def parameters(self) -> list[str]:
        """The swept keys, dotted."""
        params = self.manifest.get("parameters")
        if isinstance(params, list):
            return [str(p) for p in params]
        return list(dict.fromkeys(k for t in self.trials for k in t.params))

    @property
    def metric(self) -> str:
        """The metric the sweep ranks by: the manifest's, else sweep.yaml's (val_loss if neither says)."""
        sweep = self.spec.get("sweep") if isinstance(self.spec.get("sweep"), dict) else {}
        return str(self.manifest.get("metric") or self.spec.get("metric") or sweep.get("metric") or "val_loss")

    @property
    def mode(self) -> str:
        sweep = self.spec.get("sweep") if isinstance(self.spec.get("sweep"), dict) else {}
        mode = self.manifest.get("mode") or self.spec.get("mode") or sweep.get("mode")
        return mode if mode in ("min", "max") else metric_mode(self.metric)

    @property
    def runs(self) -> list[RunRecord]:
        """The trials that have a run folder."""
        return [t.run for t in self.trials if t.run is not None]

    def best_point(self) -> list[SweepTrial]:
        """The trials (repeats) of the parameter combination with the best mean final metric; [] if none has one.

        Ties go to the combination first in the manifest.
        """
        points: dict[str, list[SweepTrial]] = {}
        for trial in self.trials:
            if trial.run is not None:
                points.setdefault(_canonical(trial.params), []).append(trial)
        scored = []
        for trials in points.values():
            values = [v for t in trials if (v := _number(t.run.final.get(self.metric))) is not None]
            if values:
                scored.append((sum(values) / len(values), trials))
        if not scored:
            return []
        pick = max if self.mode == "max" else min
        return pick(scored, key=lambda point: point[0])[1]


def metric_mode(metric: str) -> str:
    """``"max"`` for accuracy-like metrics, ``"min"`` for losses and errors."""
    return "max" if higher_is_better(metric) else "min"


# --- reading ----------------------------------------------------------------------------------------


def is_run(path: str | Path) -> bool:
    """A folder holding any of a run's files (and not a sweep)."""
    path = Path(path)
    return path.is_dir() and not is_sweep(path) and any((path / f).is_file() for f in RUN_FILES)


def is_sweep(path: str | Path) -> bool:
    """A folder holding a sweep's ``manifest.json`` or ``sweep.yaml``."""
    path = Path(path)
    return path.is_dir() and any((path / f).is_file() for f in SWEEP_FILES)


def read_run(path: str | Path) -> RunRecord:
    """A run folder's config, history, metrics and status; missing files read as empty."""
    path = _existing_folder(path, "run")
    status = _read_json(path / "status.json", {})
    metrics = _read_json(path / "metrics.json", {})
    config = _read_yaml(path / "config.yaml")
    history = _read_json(path / "history.json", {})
    history = {k: v for k, v in history.items() if isinstance(v, list)}
    return RunRecord(
        path=path,
        name=str(metrics.get("name") or config.get("name") or _folder_name(path)),
        started=_started(path, status),
        status=str(status.get("status") or metrics.get("status") or "unknown"),
        stop_reason=status.get("stop_reason") or metrics.get("stop_reason"),
        config=config,
        history=history,
        metrics=metrics,
    )


def read_sweep(path: str | Path) -> SweepRecord:
    """A sweep folder's spec, manifest, trials (each with its run folder, once it has one) and summary."""
    path = _existing_folder(path, "sweep")
    status = _read_json(path / "status.json", {})
    spec = _read_yaml(path / "sweep.yaml")
    manifest = _read_json(path / "manifest.json", {})
    entries = manifest.get("trials")
    if isinstance(entries, list):
        trials = [_manifest_trial(path, entry) for entry in entries if isinstance(entry, Mapping)]
    else:  # no manifest (yet): whatever trial folders there are, with unknown parameters
        folders = sorted(p for p in (path / "trials").glob("*") if p.is_dir()) if (path / "trials").is_dir() else []
        trials = [_folder_trial(p) for p in folders]
    summary = _read_json(path / "summary.json", [])
    if isinstance(summary, Mapping):  # {"rows": [...]} or {"trials": [...]}
        summary = summary.get("rows", summary.get("trials", []))
    return SweepRecord(
        path=path,
        name=str(manifest.get("name") or spec.get("name") or _folder_name(path)),
        started=_started(path, status),
        status=str(status.get("status") or "unknown"),
        stop_reason=status.get("stop_reason"),
        spec=spec,
        manifest=manifest,
        trials=trials,
        summary=[row for row in summary if isinstance(row, dict)] if isinstance(summary, list) else [],
    )


def read_folder(path: str | Path) -> RunRecord | SweepRecord:
    """A run folder or a sweep folder, whichever ``path`` is."""
    path = _existing_folder(path, "run or sweep")
    if is_sweep(path):
        return read_sweep(path)
    if is_run(path):
        return read_run(path)
    raise InvalidArgumentError(
        f"{path} is not a run folder or a sweep folder: it has none of {', '.join(RUN_FILES + SWEEP_FILES)}. "
        "Pass a folder that nnrun train or nnrun sweep wrote."
    )


def scan(runs_dir: str | Path) -> list[RunRecord | SweepRecord]:
    """The runs and sweeps directly in ``runs_dir``, newest first (a sweep's trials are inside it)."""
    root = Path(runs_dir)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise InvalidArgumentError(f"runs folder {root} {what}. Pass the folder nnrun train wrote runs into.")
    records: list[RunRecord | SweepRecord] = []
    for child in sorted(root.iterdir()):
        if child.name.startswith("."):
            continue
        if is_sweep(child):
            records.append(read_sweep(child))
        elif is_run(child):
            records.append(read_run(child))
    return sorted(records, key=_age, reverse=True)


def list_folder(path: str | Path) -> list[RunRecord | SweepRecord]:
    """What ``nnrun runs`` lists: the runs and sweeps in a runs folder (:func:`scan`), or, for a sweep
    folder, its trials' runs in the manifest's order."""
    if is_sweep(path):
        return read_sweep(path).runs
    return scan(path)


def _age(record: RunRecord | SweepRecord) -> tuple:
    """(start time, folder name in natural order): ``x-run-2`` was made after ``x-run`` in the same second."""
    started = record.started.timestamp() if record.started else record.path.stat().st_mtime
    natural = tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", record.path.name))
    return (started, natural)


def _existing_folder(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InvalidArgumentError(f"no such {what} folder: {path}")
    if not path.is_dir():
        raise InvalidArgumentError(f"{path} is a file, not a {what} folder. Pass the folder itself.")
    return path


def _manifest_trial(root: Path, entry: Mapping[str, Any]) -> SweepTrial:
    folder = entry.get("folder")
    run = read_run(root / folder) if isinstance(folder, str) and (root / folder).is_dir() else None
    params = entry.get("params")
    return SweepTrial(
        id=str(entry.get("id", "")),
        params=dict(params) if isinstance(params, Mapping) else {},
        repeat=entry["repeat"] if isinstance(entry.get("repeat"), int) else 0,
        seed=entry.get("seed"),
        status=str(entry.get("status") or (run.status if run else "pending")),
        reason=entry.get("reason"),
        run=run,
    )


def _folder_trial(folder: Path) -> SweepTrial:
    run = read_run(folder)
    return SweepTrial(folder.name.split("-", 1)[0], {}, 0, run.config.get("seed"), run.status, run.stop_reason, run)


def _read_json(path: Path, empty: dict | list) -> Any:
    """The file's JSON value; ``empty`` when it is missing or unreadable (a summary may be a list or a mapping)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return empty
    return value if isinstance(value, (type(empty), dict)) else empty


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return value if isinstance(value, dict) else {}


def _folder_name(path: Path) -> str:
    """``20260101-120000-mnist-mlp`` -> ``mnist-mlp``."""
    match = _STAMP.match(path.name)
    return match.group(2) if match else path.name


def _started(path: Path, status: Mapping[str, Any]) -> datetime | None:
    """status.json's start time, else the folder name's time stamp."""
    try:
        return datetime.fromisoformat(str(status["started"]))
    except (KeyError, ValueError):
        pass
    match = _STAMP.match(path.name)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").astimezone()
        except ValueError:
            return None
    return None


def _number(value: Any) -> float | None:
    """A finite float, or None (for null, NaN, text and missing values)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


# --- comparing configs ------------------------------------------------------------------------------


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings and lists of mappings (layers) as dotted keys: ``model.layers.0.dense.units``.

    Lists of plain values (``train.metrics``) stay whole values.
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, dotted + "."))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                flat.update(flatten_config(item, f"{dotted}.{i}."))
        else:
            flat[dotted] = value
    return flat


def differing_params(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The dotted keys whose values differ between ``configs`` (absent counts as a value), in config order.

    ``name`` and ``description`` are left out. A resolved config copies ``model.hidden`` into every hidden
    layer, so a layer key (``model.layers.0.dense.activation``) that only follows a differing
    ``model.hidden`` key (``model.hidden.activation``) in every config is left out too.
    """
    flats = [flatten_config(c) for c in configs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    differing = [
        k
        for k in keys
        if k.split(".")[0] not in IGNORED_KEYS and len({_canonical(f.get(k, _MISSING)) for f in flats}) > 1
    ]
    return [k for k in differing if not _follows_hidden(k, differing, flats)]


def _follows_hidden(key: str, differing: list[str], flats: list[dict[str, Any]]) -> bool:
    parts = key.split(".")
    if len(parts) != 5 or parts[:2] != ["model", "layers"] or not parts[2].isdigit():
        return False
    hidden = f"model.hidden.{parts[4]}"
    return hidden in differing and all(f.get(key, f.get(hidden)) == f.get(hidden) for f in flats)


def _canonical(value: Any) -> str:
    if value is _MISSING:
        return "\0missing"
    return json.dumps(value, sort_keys=True, default=str)


def get_param(config: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` (list indices allowed), or None when the config has no such key."""
    value: Any = config
    for part in key.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def run_label(config: Mapping[str, Any], keys: Sequence[str]) -> str:
    """``activation=relu, lr=0.01``: the values of ``keys`` in ``config``, with short key names."""
    names = short_names(keys)
    return ", ".join(f"{names[k]}={format_value(get_param(config, k))}" for k in keys)


def run_labels(records: Sequence[RunRecord | SweepRecord]) -> list[str]:
    """A legend label per record from the parameters in which their configs differ.

    When the configs do not tell the records apart (same config, or unreadable ones), the folder names do.
    """
    keys = differing_params([r.config for r in records])
    labels = [run_label(r.config, keys) for r in records] if keys else []
    if len(set(labels)) == len(records):
        return labels
    return [r.path.name for r in records]


# --- listing ----------------------------------------------------------------------------------------

METRIC_ORDER = ("loss", "val_loss")


@dataclass
class Listing:
    """What ``nnrun runs`` shows: one row per run or sweep, with the differing parameters and final metrics.

    A row is ``{"record", "name", "folder", "started", "kind", "trials", "status", "params": {key: value},
    "final": {metric: value}}``. A sweep's row shows its best point: the config of the parameter combination
    with the best mean final metric, and its final values averaged over its repeats.
    """

    params: list[str]  # dotted keys in which the listed configs differ
    metrics: list[str]  # final-metric names, loss first
    rows: list[dict[str, Any]]


def listing(records: Sequence[RunRecord | SweepRecord], sort: str | None = None) -> Listing:
    """The rows of ``records`` (newest first as given), or sorted by the final ``sort`` metric, best first.

    Best is the highest value for accuracy-like metrics and the lowest for losses and errors; rows without
    the metric come last. An unknown ``sort`` metric is an error that lists the known ones.
    """
    shown = [_shown(r) for r in records]
    keys = differing_params([config for config, _ in shown])
    finals = [final for _, final in shown]
    known = list(dict.fromkeys(k for final in finals for k in final if k not in ("epoch_time", "learning_rate")))
    if sort is not None and sort not in known:
        raise InvalidArgumentError(
            f"--sort {sort}: no listed run has a final {sort!r}. "
            f"Available: {', '.join(known) or 'none (no run has finished an epoch)'}." + suggest(sort, known)
        )
    metrics = _metric_columns(finals, sort)
    rows = []
    for record, (config, final) in zip(records, shown):
        rows.append(
            {
                "record": record,
                "name": record.name,
                "folder": str(record.path),
                "started": record.started,
                "kind": record.kind,
                "trials": len(record.trials) if isinstance(record, SweepRecord) else None,
                "status": record.status,
                "params": {k: get_param(config, k) for k in keys},
                "final": {m: _number(final.get(m)) for m in metrics},
            }
        )
    if sort is not None:
        sign = -1 if higher_is_better(sort) else 1
        rows.sort(key=lambda row: (row["final"][sort] is None, sign * (row["final"][sort] or 0.0)))
    return Listing(keys, metrics, rows)


def _shown(record: RunRecord | SweepRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, final values): a run's own; a sweep's best point, its final values averaged over repeats."""
    if isinstance(record, RunRecord):
        return record.config, record.final
    trials = record.best_point()
    if not trials:
        return record.config, {}
    finals = [t.run.final for t in trials]
    keys = dict.fromkeys(k for final in finals for k in final)
    means = {}
    for key in keys:
        values = [v for final in finals if (v := _number(final.get(key))) is not None]
        means[key] = sum(values) / len(values) if values else None
    return trials[0].run.config, means


def _metric_columns(finals: Sequence[Mapping[str, Any]], sort: str | None) -> list[str]:
    """loss, val_loss, then each run's primary metric and its validation twin (accuracy, or mae ...)."""
    columns: list[str] = []
    for final in finals:
        history = {k: [v] for k, v in final.items() if k not in ("epoch_time", "learning_rate")}
        if not history:
            continue
        primary = primary_metric(history)
        for key in (*METRIC_ORDER, primary, f"val_{primary}"):
            if key in final and key not in columns:
                columns.append(key)
    if sort is not None and sort not in columns:
        columns.append(sort)
    return sorted(columns, key=lambda k: (k.removeprefix("val_") != "loss", columns.index(k)))
