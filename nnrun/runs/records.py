"""A run folder's JSON records, typed: ``status.json``, ``metrics.json`` and ``history.json``.

These classes are the single description of those files: ``runs/README.md`` explains them and the JSON Schemas
in ``schemas/`` are generated from them (:mod:`nnrun.runs.schemas`). A sweep's ``manifest.json`` is
:class:`~nnrun.runs.manifest.SweepManifest` and its ``summary.json`` rows are :class:`~nnrun.results.TrialRow`.

A field that is None is absent from the file (or null). Times are ISO 8601 with the UTC offset; durations in
seconds; epochs counted from 1. Reading (:meth:`Record.from_json`) is lenient, because a folder may come from
an older or newer nnrun: unknown keys are kept (``others``, written back by ``to_json``) and missing optional
ones read as their default; a missing required key is a ValueError naming it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from nnrun.runs.format import FORMAT_VERSION

STATUSES = ("running", "completed", "diverged", "failed", "interrupted", "pruned")
"""What ``status.json`` may say. A reader also shows ``killed`` (``running``, but its process is gone) and
``unknown`` (no readable status, or ``running`` on another host): never written."""
Status = Literal["running", "completed", "diverged", "failed", "interrupted", "pruned"]
Version = Annotated[int | None, {"const": FORMAT_VERSION}]  # absent in format 0

R = TypeVar("R", bound="Record")


class Record:
    """A JSON record: ``from_json`` reads a mapping leniently, ``to_json`` writes the fields that are set."""

    extra: ClassVar[dict[str, Any]] = {}
    """JSON Schema keywords for keys that are not fields (e.g. a history's metric arrays)."""

    @classmethod
    def from_json(cls: type[R], data: Mapping[str, Any]) -> R:
        hints = typing.get_type_hints(cls)
        values = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                values[f.name] = _typed(hints[f.name], data[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{cls.__name__}: the record has no {f.name!r}. Received the keys: {list(data)}")
        record = cls(**values)
        record.others = {k: v for k, v in data.items() if k not in values}  # type: ignore[attr-defined]
        record.present = set(values)  # type: ignore[attr-defined]
        return record

    def to_json(self) -> dict[str, Any]:
        """The fields that are set (a None field only if it was read as null), then the keys read but unknown."""
        present = getattr(self, "present", set())
        out = {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None or f.name in present
        }
        return {**out, **getattr(self, "others", {})}


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _typed(hint: Any, value: Any) -> Any:
    """``value`` with nested records built from their mappings (lists and dicts of them too)."""
    if typing.get_origin(hint) is Annotated:
        hint = typing.get_args(hint)[0]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        records = [a for a in args if isinstance(a, type) and issubclass(a, Record)]
        return _typed(records[0], value) if records and isinstance(value, Mapping) else value
    if isinstance(hint, type) and issubclass(hint, Record) and isinstance(value, Mapping):
        return hint.from_json(value)
    if origin is dict and isinstance(value, Mapping):
        return {k: _typed(args[1], v) for k, v in value.items()}
    if origin is list and isinstance(value, list):
        return [_typed(args[0], v) for v in value]
    return value


# --- status.json ------------------------------------------------------------------------------------


@dataclass
class Migration(Record):
    """How ``nnrun migrate`` upgraded the folder."""

    from_version: int
    """The format the folder had before."""
    nnrun_version: str
    """The nnrun that migrated it."""
    at: str
    """When (ISO 8601)."""


@dataclass
class RunStatus(Record):
    """``status.json`` of a run folder or a sweep folder: written first (``running``) and last (how it ended)."""

    status: Status
    """running while the process works; then completed, diverged, failed, interrupted or pruned."""
    started: str
    """When the run (or sweep) started (ISO 8601)."""
    updated: str
    """When this status was written (ISO 8601)."""
    format_version: Version = None
    """The folder's format (``runs/README.md``); absent in folders of nnrun 0.1.0 (format 0)."""
    nnrun_version: str | None = None
    """The nnrun release that wrote the folder (absent in format 0)."""
    stop_reason: str | None = None
    """Why it ended, in words (``completed 20 of 20 epochs``, ``early stopping after epoch 7: ...``)."""
    pid: int | None = None
    """The process that runs (or ran) it."""
    host: str | None = None
    """The host of ``pid``: a ``running`` status from another host reads as ``unknown``."""
    pid_start: int | None = None
    """``pid``'s start time in clock ticks since boot (Linux): a reused pid is not taken for the run."""
    resumed_at_epoch: int | None = None
    """``nnrun train --resume``: the epochs the checkpoint held when the run was continued."""
    overrides: list[str] | None = None
    """The ``--set`` overrides given on the command line (``train.epochs=5``)."""
    command: list[str] | None = None
    """The command line that started it, word by word (``["nnrun", "train", "mlp.yaml"]``)."""
    trials: int | None = None
    """A sweep's status: how many trials it has."""
    ran: int | None = None
    """A sweep's status: how many trials this session ran."""
    migrated: Migration | None = None
    """Set by ``nnrun migrate`` when it upgraded an older folder."""


# --- metrics.json -----------------------------------------------------------------------------------


@dataclass
class BestValue(Record):
    """A metric's best epoch."""

    value: float
    """The best value (lowest for losses and errors, highest for the others)."""
    epoch: int
    """Its epoch, counted from 1."""


@dataclass
class DataSizes(Record):
    """Where the data came from and how many samples each split has."""

    source: str
    """The data set, in words."""
    train: int
    """Training samples."""
    validation: int
    """Validation samples (``train.validation_split``; 0 without one)."""
    test: int | None = None
    """Test samples; null without a test set."""


@dataclass
class Versions(Record):
    """The versions that produced the run."""

    nnrun: str
    numpy: str
    python: str


@dataclass
class Placement(Record):
    """Where a sweep's trial ran."""

    hostname: str
    pid: int
    """The worker's process id."""
    node_id: str | None = None
    """The Ray node id (Ray only, else null)."""


@dataclass
class RunMetrics(Record):
    """``metrics.json``: the run's results. A failed run has only ``name``, ``duration_seconds`` and ``error``."""

    name: str
    """The run's name (the config's ``name``)."""
    duration_seconds: float
    """Wall-clock time of the run, in seconds."""
    final: dict[str, float | None] = field(default_factory=dict)
    """The last epoch's value of each history key (null: NaN or infinite)."""
    best: dict[str, BestValue] = field(default_factory=dict)
    """Each metric's best epoch (metrics that were never finite are left out)."""
    test: dict[str, float | None] | None = None
    """The test set's evaluation (loss and metrics); null without a test set or when the run did not end well."""
    epochs_run: int | None = None
    """Epochs finished."""
    epochs_planned: int | None = None
    """``train.epochs``."""
    seed: int | None = None
    """The config's seed."""
    n_params: int | None = None
    """The model's parameter count."""
    data: DataSizes | None = None
    """The data the run used."""
    versions: Versions | None = None
    """The versions that produced the run."""
    status: Status | None = None
    """How the run ended (as status.json)."""
    stop_reason: str | None = None
    """Why (as status.json)."""
    error: str | None = None
    """A failed run: the error (``TypeName: message``); the traceback is in error.txt."""
    ran_on: Placement | None = None
    """A sweep's trial: where it ran."""
    weights_epoch: int | None = None
    """The epoch whose weights weights.npz holds: the last one, or the best one EarlyStopping restored."""
    at_chance: str | None = None
    """Set when a classifier's kept accuracy is no better than chance (1/classes + 0.02): the warning."""
    kept: dict[str, float | None] | None = None
    """Each history key's value at ``weights_epoch``: what the saved weights achieved (a sweep ranks by it)."""


# --- history.json -----------------------------------------------------------------------------------


@dataclass
class RunHistory(Record):
    """``history.json``: Keras's ``History.history`` (one list per metric, one value per epoch: ``loss``,
    ``accuracy``, ``val_loss``, ...; null for NaN or infinite) plus the epoch times and learning rates."""

    epoch_time: list[float] = field(default_factory=list)
    """Seconds each epoch took."""
    learning_rate: list[float | None] = field(default_factory=list)
    """The learning rate at the end of each epoch."""

    extra: ClassVar[dict[str, Any]] = {
        "additionalProperties": {
            "type": "array",
            "items": {"type": ["number", "null"]},
            "description": "A metric's value at the end of each epoch (loss, accuracy, val_loss, ...).",
        }
    }

    @property
    def metrics(self) -> dict[str, list[float | None]]:
        """The per-epoch metrics (every key but ``epoch_time`` and ``learning_rate``)."""
        return {k: v for k, v in getattr(self, "others", {}).items() if isinstance(v, list)}


__all__ = [
    "STATUSES",
    "BestValue",
    "DataSizes",
    "Migration",
    "Placement",
    "Record",
    "RunHistory",
    "RunMetrics",
    "RunStatus",
    "Status",
    "Versions",
]
