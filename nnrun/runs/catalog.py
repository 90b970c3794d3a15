"""Reading run folders and sweep folders back: what ``nnrun runs`` lists and ``nnrun plot`` draws.

This module only reads. A folder can be incomplete (a run killed mid-epoch, a sweep still running): a
missing or unreadable file reads as empty (``{}``, ``[]`` or ``None``) and never raises; only a path that
is not a run or sweep folder at all is an error.

The folders' files are named in :mod:`nnrun.runs.layout`; a sweep's manifest is read as a
:class:`~nnrun.runs.manifest.SweepManifest`. Which way a metric is better, the trials' rows, the best point
and the config keys that tell runs apart all come from :mod:`nnrun.results`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from nnrun import results
from nnrun.errors import InvalidArgumentError, did_you_mean
from nnrun.results import (
    TrialRow,
    differing_params,
    flatten_config,
    format_value,
    get_param,
    primary_metric,
    short_names,
)
from nnrun.results.chance import at_chance, classes_of
from nnrun.results.params import described_config, display_value, flat_value
from nnrun.runs import layout
from nnrun.runs.format import check_readable
from nnrun.runs.manifest import SweepManifest, TrialEntry
from nnrun.runs.store import effective_status

RUN_FILES = layout.RUN_FILES
SWEEP_FILES = layout.SWEEP_FILES
PREPROCESSING = "preprocessing.json"  # written by the run store beside the weights
_STAMP = re.compile(r"^(?:sweep-)?(\d{8}-\d{6})-(.+)$")


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
    format_version: int = 0  # the folder's format (nnrun.runs.format); 0: written before versions were recorded
    nnrun_version: str | None = None  # the release that wrote it, when recorded
    user_config: dict[str, Any] = field(default_factory=dict)  # user_config.yaml: as written, with the overrides
    overrides: list[str] = field(default_factory=list)  # status.json's overrides: --set KEY=VALUE as typed
    preprocessing: dict[str, Any] = field(default_factory=dict)  # preprocessing.json (n_classes, ...)

    kind = "run"

    @property
    def described(self) -> dict[str, Any]:
        """The flat config that describes the run in the user's words: user_config.yaml (which holds the
        overrides), else the resolved config with status.json's overrides applied (older folders)."""
        if self.user_config:
            return described_config(self.user_config)
        return described_config(self.config, self.overrides)

    @property
    def classes(self) -> int | None:
        """How many classes the run's classifier has; None for regression or when nothing says."""
        return classes_of(self.config, self.preprocessing)

    @property
    def at_chance(self) -> bool:
        """Whether the run ended at chance level: its final (validation) accuracy at most 1/classes + 0.02."""
        final = self.final
        key = next((k for k in ("val_accuracy", "accuracy", "val_acc", "acc") if k in final), None)
        ended = self.status in ("completed", "interrupted", "killed")  # a diverged or failed run says so already
        return ended and key is not None and at_chance(results.finite(final[key]), self.classes)

    @property
    def final(self) -> dict[str, float | None]:
        """The final value of each metric: metrics.json's, else the history's last epoch."""
        final = self.metrics.get("final")
        if isinstance(final, Mapping) and final:
            return dict(final)
        return results.final_values(None, self.history)


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
    folder: str | None = None  # the run folder, relative to the sweep folder
    finished: str | None = None  # when it was recorded (ISO time, from the manifest)

    def row(self) -> TrialRow:
        """Its summary row (:func:`nnrun.results.trial_row`), with its run's numbers once it has a run folder."""
        run = self.run
        return results.trial_row(
            self.id,
            self.params,
            self.repeat,
            self.seed,
            self.status,
            self.reason,
            folder=(self.folder or f"{layout.TRIALS}/{run.path.name}") if run is not None else None,
            metrics=run.metrics if run is not None else None,
            history=run.history if run is not None else None,
        )


@dataclass
class SweepRecord:
    """One sweep folder, read back: its spec, its manifest and every trial's run folder."""

    path: Path
    name: str
    started: datetime | None
    status: str
    stop_reason: str | None
    spec: dict[str, Any] = field(default_factory=dict)  # sweep.yaml: {name, config, sweep: {...}}
    manifest: SweepManifest | None = None  # None without a readable manifest.json
    trials: list[SweepTrial] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)  # summary.json as the sweep wrote it
    format_version: int = 0  # the folder's format (nnrun.runs.format); 0: written before versions were recorded
    nnrun_version: str | None = None  # the release that wrote it, when recorded

    kind = "sweep"

    @property
    def config(self) -> dict[str, Any]:
        """The base config every trial starts from."""
        config = self.spec.get("config")
        return config if isinstance(config, dict) else {}

    @property
    def parameters(self) -> list[str]:
        """The swept keys, dotted."""
        if self.manifest is not None and self.manifest.parameters is not None:
            return list(self.manifest.parameters)
        return list(dict.fromkeys(k for t in self.trials for k in t.params))

    @property
    def metric(self) -> str:
        """The metric the sweep ranks by: the manifest's, else sweep.yaml's (val_loss if neither says)."""
        sweep = self.spec.get("sweep") if isinstance(self.spec.get("sweep"), dict) else {}
        metric = self.manifest.metric if self.manifest is not None else None
        return str(metric or self.spec.get("metric") or sweep.get("metric") or "val_loss")

    @property
    def mode(self) -> str:
        """``max`` or ``min`` for :attr:`metric`: the manifest's, else sweep.yaml's, else the metric's direction."""
        sweep = self.spec.get("sweep") if isinstance(self.spec.get("sweep"), dict) else {}
        mode = (self.manifest.mode if self.manifest is not None else None) or self.spec.get("mode") or sweep.get("mode")
        return mode if mode in results.DIRECTIONS else results.direction(self.metric)

    def mode_for(self, metric: str) -> str | None:
        """The sweep's mode when ``metric`` is the one it ranks by; None (the metric's direction) otherwise."""
        return self.mode if metric == self.metric else None

    @property
    def repeated(self) -> bool:
        """Whether some parameter combination ran more than once."""
        return (self.manifest is not None and self.manifest.repeats > 1) or any(t.repeat > 0 for t in self.trials)

    @property
    def runs(self) -> list[RunRecord]:
        """The trials that have a run folder."""
        return [t.run for t in self.trials if t.run is not None]

    def best_point(self) -> list[SweepTrial]:
        """The trials (repeats) of the parameter combination with the best mean final metric; [] if none has one.

        Ties go to the combination first in the manifest.
        """
        trials = [t for t in self.trials if t.run is not None]
        rows = [t.row().to_json() for t in trials]
        point = results.best_point(rows, f"final_{self.metric}", self.mode, self.parameters)
        if point is None:
            return []
        by_row = {id(row): trial for row, trial in zip(rows, trials)}
        return [by_row[id(row)] for row in point.rows]


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
    version = check_readable(path)  # a newer format is refused (exit 2), never misread
    status = _read_json(path / layout.STATUS, {})
    metrics = _read_json(path / layout.METRICS, {})
    config = _read_yaml(path / layout.CONFIG)
    overrides = status.get("overrides")
    history = _read_json(path / layout.HISTORY, {})
    history = {k: v for k, v in history.items() if isinstance(v, list)}
    return RunRecord(
        path=path,
        name=str(metrics.get("name") or config.get("name") or _folder_name(path)),
        started=_started(path, status),
        status=effective_status(status) if status.get("status") else str(metrics.get("status") or "unknown"),
        stop_reason=status.get("stop_reason") or metrics.get("stop_reason"),
        config=config,
        history=history,
        metrics=metrics,
        user_config=_read_yaml(path / layout.USER_CONFIG),
        overrides=[str(o) for o in overrides] if isinstance(overrides, list) else [],
        preprocessing=_read_json(path / PREPROCESSING, {}),
        format_version=version.version,
        nnrun_version=version.nnrun_version,
    )


def read_sweep(path: str | Path) -> SweepRecord:
    """A sweep folder's spec, manifest, trials (each with its run folder, once it has one) and summary."""
    path = _existing_folder(path, "sweep")
    version = check_readable(path)  # a newer format is refused (exit 2), never misread
    status = _read_json(path / layout.STATUS, {})
    spec = _read_yaml(path / layout.SWEEP_YAML)
    manifest = _read_json(path / layout.MANIFEST, {})
    record = SweepManifest.from_json(manifest) if manifest else None
    if isinstance(manifest.get("trials"), list):
        trials = [_manifest_trial(path, entry) for entry in record.trials] if record is not None else []
    else:  # no manifest (yet): whatever trial folders there are, with unknown parameters
        trials_dir = path / layout.TRIALS
        folders = sorted(p for p in trials_dir.glob("*") if p.is_dir()) if trials_dir.is_dir() else []
        trials = [_folder_trial(p) for p in folders]
    summary = _read_json(path / layout.SUMMARY_JSON, [])
    if isinstance(summary, Mapping):  # {"rows": [...]} or {"trials": [...]}
        summary = summary.get("rows", summary.get("trials", []))
    return SweepRecord(
        path=path,
        name=str((record.name if record else "") or spec.get("name") or _folder_name(path)),
        started=_started(path, status),
        status=effective_status(status) if status.get("status") else "unknown",
        stop_reason=status.get("stop_reason"),
        spec=spec,
        manifest=record,
        trials=trials,
        summary=[row for row in summary if isinstance(row, dict)] if isinstance(summary, list) else [],
        format_version=version.version,
        nnrun_version=version.nnrun_version,
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


def _warn_skipped(path: Path, error: Exception) -> None:
    warnings.warn(f"skipped {path}: {error}", stacklevel=3)


def scan(
    runs_dir: str | Path, on_skip: Callable[[Path, Exception], None] = _warn_skipped
) -> list[RunRecord | SweepRecord]:
    """The runs and sweeps directly in ``runs_dir``, newest first (a sweep's trials are inside it).

    A folder with an unreadable file (not UTF-8, broken JSON or YAML) is left out and passed to ``on_skip``
    (by default a warning), so one damaged folder never hides the others."""
    root = Path(runs_dir)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise InvalidArgumentError(f"runs folder {root} {what}. Pass the folder nnrun train wrote runs into.")
    records: list[RunRecord | SweepRecord] = []
    for child in sorted(root.iterdir()):
        if child.name.startswith("."):
            continue
        try:
            if is_sweep(child):
                records.append(read_sweep(child))
            elif is_run(child):
                records.append(read_run(child))
        except UnreadableFolderError as e:
            on_skip(child, e)
    return sorted(records, key=_age, reverse=True)


def list_folder(
    path: str | Path, on_skip: Callable[[Path, Exception], None] = _warn_skipped
) -> list[RunRecord | SweepRecord]:
    """What ``nnrun runs`` lists: the runs and sweeps in a runs folder (:func:`scan`), or, for a sweep
    folder, its trials' runs in the manifest's order."""
    if is_sweep(path):
        return read_sweep(path).runs
    return scan(path, on_skip)


def _age(record: RunRecord | SweepRecord) -> tuple:
    """(start time, when its first file was written, folder name in natural order): runs started in the same
    second are told apart by their config.yaml (written first), then ``x-run-2`` comes after ``x-run``."""
    started = record.started.timestamp() if record.started else record.path.stat().st_mtime
    first = next((f for f in (layout.CONFIG, layout.SWEEP_YAML) if (record.path / f).is_file()), None)
    written = (record.path / first).stat().st_mtime_ns if first is not None else 0
    natural = tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", record.path.name))
    return (started, written, natural)


def _existing_folder(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InvalidArgumentError(f"no such {what} folder: {path}")
    if not path.is_dir():
        raise InvalidArgumentError(f"{path} is a file, not a {what} folder. Pass the folder itself.")
    return path


def _manifest_trial(root: Path, entry: TrialEntry) -> SweepTrial:
    folder = entry.folder
    run = read_run(root / folder) if folder is not None and (root / folder).is_dir() else None
    return SweepTrial(
        entry.id, entry.params, entry.repeat, entry.seed, entry.status, entry.reason, run, folder, entry.finished
    )


def _folder_trial(folder: Path) -> SweepTrial:
    run = read_run(folder)
    trial_id, seed = folder.name.split("-", 1)[0], run.config.get("seed")
    return SweepTrial(trial_id, {}, 0, seed, run.status, run.stop_reason, run, f"{layout.TRIALS}/{folder.name}")


class UnreadableFolderError(InvalidArgumentError):
    """A file of a run or sweep folder is not UTF-8, or its config is not valid YAML (listings skip the folder)."""


def _text(path: Path) -> str | None:
    """The file's text; None when it is missing; UnreadableFolderError when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UnreadableFolderError(f"{path} is not UTF-8 text (byte {e.start}: {e.reason})") from None
    except OSError:
        return None


def _read_json(path: Path, empty: dict | list) -> Any:
    """The file's JSON value (``empty`` when the file is missing; a summary may be a list or a mapping)."""
    text = _text(path)
    if text is None:
        return empty
    try:
        value = json.loads(text)
    except ValueError:
        return empty  # cut off by a process killed mid-write (before writes were atomic): read as missing
    return value if isinstance(value, (type(empty), dict)) else empty


SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # LibYAML's, 8× faster, when PyYAML has it


def _read_yaml(path: Path) -> dict[str, Any]:
    text = _text(path)
    if text is None:
        return {}
    try:
        value = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as e:
        raise UnreadableFolderError(f"{path} is not valid YAML ({str(e).splitlines()[0]})") from None
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


# --- comparing configs ------------------------------------------------------------------------------

MAX_LABEL = 56  # characters of a legend label; a longer one is cut with an ellipsis
MAX_LABEL_VALUE = 20  # characters of one value in a label


def run_label(config: Mapping[str, Any], keys: Sequence[str]) -> str:
    """``activation=relu, lr=0.01``: the values of ``keys`` in ``config``, with short key names."""
    names = short_names(keys)
    return ", ".join(f"{names[k]}={format_value(get_param(config, k))}" for k in keys)


def descriptions(records: Sequence[RunRecord | SweepRecord]) -> list[dict[str, Any]]:
    """The flat config that describes each record in the user's words (a sweep by its best point's run).

    When every run has a ``user_config.yaml`` (the config as written, with the command line's overrides),
    those; else every resolved config with its recorded overrides, so that runs compare like with like.
    """
    runs = [_describing_run(r) for r in records]
    as_written = all(run is not None and run.user_config for run in runs)
    out = []
    for record, run in zip(records, runs):
        if run is None:
            out.append(described_config(record.config))
        else:
            out.append(described_config(run.user_config) if as_written else described_config(run.config, run.overrides))
    return out


def _describing_run(record: RunRecord | SweepRecord) -> RunRecord | None:
    if isinstance(record, RunRecord):
        return record
    best = record.best_point()
    return best[0].run if best else None


def describe(flat: Mapping[str, Any], keys: Sequence[str], limit: int = MAX_LABEL) -> str:
    """``activation=relu, lr=0.001235``: the values of ``keys`` in a flat config, short key names, rounded
    values, cut to ``limit`` characters."""
    names = short_names(keys)
    text = ", ".join(f"{names[k]}={display_value(flat_value(flat, k), MAX_LABEL_VALUE)}" for k in keys)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_labels(records: Sequence[RunRecord | SweepRecord]) -> list[str]:
    """A legend label per record from what differs among them, in the user's words (:func:`descriptions`):
    ``optimizer.name=adam``, never every resolved default.

    When that does not tell the records apart (same config, unreadable ones), their names do, else their
    folder names.
    """
    flats = descriptions(records)
    keys = differing_params(flats)
    labels = [describe(flat, keys) for flat in flats] if keys else []
    if len(set(labels)) == len(records):
        return labels
    names = [r.name for r in records]
    return names if len(set(names)) == len(records) else [r.path.name for r in records]


# --- listing ----------------------------------------------------------------------------------------

METRIC_ORDER = ("loss", "val_loss")
WHERE_FIELDS = ("status", "name", "kind")  # --where keys that are not config keys


@dataclass
class Listing:
    """What ``nnrun runs`` shows: one row per run or sweep, with the differing parameters and final metrics.

    A row is ``{"record", "name", "folder", "started", "kind", "trials", "status", "chance", "params": {key:
    value}, "final": {metric: value}}``; ``status`` is what it means now (``killed`` for a ``running`` run
    whose process is gone), ``chance`` whether it ended at chance level. A sweep's row shows its best point:
    the config of the parameter combination with the best mean final metric, and its final values averaged
    over its repeats.
    """

    params: list[str]  # dotted keys in which the listed configs differ
    metrics: list[str]  # final-metric names, loss first
    rows: list[dict[str, Any]]


def listing(
    records: Sequence[RunRecord | SweepRecord],
    sort: str | None = None,
    where: Sequence[str] = (),
    reverse: bool = False,
) -> Listing:
    """The rows of ``records`` (newest first as given), or sorted by the final ``sort`` metric, best first.

    ``where`` keeps the records matching every ``KEY=VALUE`` (``status=completed``, ``activation=relu``: a
    config key, dotted or by its last part, as the user wrote it). ``reverse`` turns the order round (rows
    without the ``sort`` metric still come last). Best is the highest value for accuracy-like metrics and the
    lowest for losses and errors. An unknown ``sort`` metric or ``where`` key is an error naming the known ones.
    """
    records = _filtered(list(records), where)
    flats = descriptions(records)
    keys = differing_params(flats)
    finals = [_final(r) for r in records]
    known = list(dict.fromkeys(k for final in finals for k in final if k not in ("epoch_time", "learning_rate")))
    if sort is not None and sort not in known:
        raise InvalidArgumentError(
            f"--sort {sort}: no listed run has a final {sort!r}. "
            f"Available: {', '.join(known) or 'none (no run has finished an epoch)'}."
            + did_you_mean(sort, known, complete=True)
        )
    metrics = _metric_columns(finals, sort)
    rows = []
    for record, flat, final in zip(records, flats, finals):
        run = _describing_run(record)
        rows.append(
            {
                "record": record,
                "name": record.name,
                "folder": str(record.path),
                "started": record.started,
                "kind": record.kind,
                "trials": len(record.trials) if isinstance(record, SweepRecord) else None,
                "status": record.status,
                "chance": run is not None and run.at_chance,
                "params": {k: flat_value(flat, k) for k in keys},
                "final": {m: results.finite(final.get(m)) for m in metrics},
            }
        )
    if reverse:
        rows.reverse()
    if sort is not None:
        sign = (-1 if results.direction(sort) == "max" else 1) * (-1 if reverse else 1)
        rows.sort(key=lambda row: (row["final"][sort] is None, sign * (row["final"][sort] or 0.0)))
    return Listing(keys, metrics, rows)


def _filtered(records: list[RunRecord | SweepRecord], where: Sequence[str]) -> list[RunRecord | SweepRecord]:
    """The records that match every ``KEY=VALUE`` of ``where``."""
    if not where:
        return records
    flats = descriptions(records)
    for item in where:
        key, sep, text = str(item).partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key:
            raise InvalidArgumentError(f"--where {item}: expected KEY=VALUE, e.g. status=completed or activation=relu.")
        if key in WHERE_FIELDS:
            keep = [_matches(getattr(r, key), text) for r in records]
        else:
            full = _where_key(key, flats)
            keep = [_matches(flat_value(flat, full), text) for flat in flats]
        records = [r for r, k in zip(records, keep) if k]
        flats = [f for f, k in zip(flats, keep) if k]
    return records


def _where_key(key: str, flats: Sequence[Mapping[str, Any]]) -> str:
    """The dotted config key that ``key`` names: itself, or the one key ending with it (``activation``,
    ``lr``); keys that differ among the records, then ``model.hidden`` ones, win over the others."""
    every = list(dict.fromkeys(k for flat in flats for k in flat))
    parents = {".".join(k.split(".")[:i]) for k in every for i in range(1, len(k.split(".")))}
    if key in every or key in parents:
        return key
    wanted = "learning_rate" if key == "lr" else key
    found = [k for k in every if k.endswith("." + wanted)]
    for narrower in (set(differing_params(flats)), {k for k in found if k.startswith("model.hidden.")}):
        if len(found) > 1 and any(k in narrower for k in found):
            found = [k for k in found if k in narrower]
    if len(found) == 1:
        return found[0]
    if found:
        raise InvalidArgumentError(
            f"--where {key}: several config keys end with {key!r}: {', '.join(found)}. Pass one."
        )
    differing = differing_params(flats)
    names = list(dict.fromkeys([*WHERE_FIELDS, *short_names(differing).values()]))
    more = len(every) - len(differing)
    lasts = [k.rsplit(".", 1)[-1] for k in every]
    raise InvalidArgumentError(
        f"--where {key}: no listed run has a key {key!r}. Keys: {', '.join(names)}"
        + (f", or any of the {more} other config keys (dotted, or by their last part)." if more > 0 else ".")
        + did_you_mean(key, list(dict.fromkeys([*names, *lasts, *every])), complete=True)
    )


def _matches(value: Any, text: str) -> bool:
    """Whether a value is what the user typed: as YAML reads it, or as it is shown."""
    if value is None:
        return text.lower() in ("null", "none", "~", "-", "")
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = text
    if isinstance(value, (int, float)) and isinstance(parsed, (int, float)) and not isinstance(value, bool):
        return abs(float(value) - float(parsed)) <= 1e-12 * max(1.0, abs(float(value)))
    return value == parsed or text in (str(value), format_value(value), format_value(value, precise=True))


def _final(record: RunRecord | SweepRecord) -> dict[str, Any]:
    """A run's final values; a sweep's best point's, averaged over its repeats."""
    if isinstance(record, RunRecord):
        return record.final
    trials = record.best_point()
    finals = [t.run.final for t in trials]
    keys = dict.fromkeys(k for final in finals for k in final)
    return {key: results.mean_std(final.get(key) for final in finals)[0] for key in keys}


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


__all__ = [
    "Listing",
    "RunRecord",
    "SweepRecord",
    "SweepTrial",
    "describe",
    "descriptions",
    "differing_params",
    "flatten_config",
    "get_param",
    "is_run",
    "is_sweep",
    "list_folder",
    "listing",
    "read_folder",
    "read_run",
    "read_sweep",
    "run_label",
    "run_labels",
    "scan",
]
