"""A sweep's ``manifest.json``, typed: the sweep and every trial's entry. The single source of its fields.

The runner writes it after every trial, so it always says which trials are done. Reading is lenient (a
field that is missing or of the wrong type reads as its default) because a folder may have been written
by an older nnrun, or by hand; writing always writes every field, under the names folders on disk use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nnrun.runs.format import FORMAT_VERSION, NNRUN_VERSION

FINAL = ("completed", "diverged", "pruned")  # outcomes a resumed sweep keeps; failed, interrupted run again


@dataclass
class TrialEntry:
    """One trial of the sweep, as the manifest records it."""

    id: str
    """The trial's id, its position in the sweep: ``"0001"``."""
    params: dict[str, Any]
    """The swept parameters: dotted config key -> value."""
    repeat: int = 0
    """Which repeat of its parameter combination (0-based)."""
    seed: int | None = None
    """The trial's seed."""
    status: str = "pending"
    """pending, or how its run ended: completed, diverged, pruned, failed, interrupted."""
    folder: str | None = None
    """Its run folder, relative to the sweep folder (``trials/0001-...``); None until it has one."""
    reason: str | None = None
    """Why its run ended (the run's stop reason); None until it has run."""
    finished: str | None = None
    """When it was recorded (ISO 8601); None until then, and then left out of the file."""

    @property
    def done(self) -> bool:
        """Completed, diverged or pruned: a resumed sweep keeps it."""
        return self.status in FINAL

    def reset(self) -> None:
        """Pending again (to be run, or run again)."""
        self.status, self.folder, self.reason = "pending", None, None

    def to_json(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "params": self.params,
            "repeat": self.repeat,
            "seed": self.seed,
            "status": self.status,
            "folder": self.folder,
            "reason": self.reason,
        }
        if self.finished is not None:
            out["finished"] = self.finished
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrialEntry:
        params = data.get("params")
        return cls(
            id=str(data.get("id", "")),
            params=dict(params) if isinstance(params, Mapping) else {},
            repeat=data["repeat"] if isinstance(data.get("repeat"), int) else 0,
            seed=data.get("seed"),
            status=str(data.get("status") or "pending"),
            folder=data["folder"] if isinstance(data.get("folder"), str) else None,
            reason=data.get("reason"),
            finished=data.get("finished"),
        )


@dataclass
class SweepManifest:
    """A sweep's manifest: what it is, how it ranks trials, and every trial's entry."""

    name: str
    """The sweep's name (the config's ``name``)."""
    fingerprint: str | None = None
    """A hash of the resolved config and sweep section: a resumed sweep must match it."""
    created: str | None = None
    """When the sweep folder was made (ISO 8601)."""
    metric: str | None = None
    """The history key trials are ranked by (``val_accuracy``)."""
    mode: str | None = None
    """``max`` or ``min``: whether a higher ``metric`` is better."""
    parameters: list[str] | None = None
    """The swept keys, dotted, in the sweep's order."""
    repeats: int = 1
    """How many times each parameter combination runs (with different seeds)."""
    trials: list[TrialEntry] = field(default_factory=list)
    """Every trial, in order."""
    format_version: int | None = FORMAT_VERSION
    """The folder's format (:mod:`nnrun.runs.format`); None for a manifest written before versions (format 0),
    which is written back without one (a resumed folder keeps its format until ``nnrun migrate``)."""
    nnrun_version: str | None = NNRUN_VERSION
    """The nnrun release that wrote the folder; None when not recorded."""
    data: dict[str, Any] | None = None
    """Fingerprints of the data files the trials read, by path (each file's name, size in bytes, modification
    time, and SHA-256 up to 256 MiB): a resumed sweep whose data changed stops unless ``--allow-data-change``.
    None for named and generated data sets and for folders written before it was recorded."""

    def trial(self, trial_id: str) -> TrialEntry:
        """The entry of ``trial_id``; KeyError if the sweep has no such trial."""
        for entry in self.trials:
            if entry.id == trial_id:
                return entry
        raise KeyError(f"the sweep {self.name!r} has no trial {trial_id!r}")

    def pending(self) -> list[TrialEntry]:
        """Trials still to run: never run, failed, interrupted, or left half-written."""
        return [t for t in self.trials if not t.done]

    def to_json(self) -> dict[str, Any]:
        version = {"format_version": self.format_version, "nnrun_version": self.nnrun_version}
        return {
            **(version if self.format_version is not None else {}),
            "name": self.name,
            "fingerprint": self.fingerprint,
            "created": self.created,
            "metric": self.metric,
            "mode": self.mode,
            "parameters": self.parameters,
            "repeats": self.repeats,
            "trials": [t.to_json() for t in self.trials],
            **({"data": self.data} if self.data is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SweepManifest:
        trials = data.get("trials") if isinstance(data.get("trials"), list) else []
        parameters = data.get("parameters")
        repeats = data.get("repeats")
        return cls(
            name=str(data.get("name") or ""),
            fingerprint=data.get("fingerprint"),
            created=data.get("created"),
            metric=data["metric"] if isinstance(data.get("metric"), str) else None,
            mode=data["mode"] if data.get("mode") in ("max", "min") else None,
            parameters=[str(p) for p in parameters] if isinstance(parameters, list) else None,
            repeats=repeats if isinstance(repeats, int) and not isinstance(repeats, bool) else 1,
            trials=[TrialEntry.from_json(t) for t in trials if isinstance(t, Mapping)],
            format_version=data.get("format_version"),
            nnrun_version=data["nnrun_version"] if isinstance(data.get("nnrun_version"), str) else None,
            data=data["data"] if isinstance(data.get("data"), dict) else None,
        )


__all__ = ["FINAL", "SweepManifest", "TrialEntry"]
