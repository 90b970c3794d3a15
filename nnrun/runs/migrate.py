"""Upgrading run and sweep folders written in an older format to the current one (``nnrun migrate``).

Nothing else ever rewrites an old folder: every command reads every earlier format as it is. Migrating is
planned first (:func:`plan_migration`, what ``nnrun migrate`` lists in a dry run) and applied only when asked
(:func:`apply_migration`). Each step from format N to N+1 is one function in :data:`STEPS`; it changes only
the records it names, each written atomically (a temporary file, fsynced, renamed), and a folder already at
the current format is left alone, so running it again, or after an interruption, is safe.

Format 0 to 1 adds ``format_version`` and ``nnrun_version`` at the front of ``status.json`` (and of a sweep's
``manifest.json``), and ``migrated`` at the end of ``status.json``; every other key and value stays as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.errors import InvalidArgumentError
from nnrun.runs import layout
from nnrun.runs.catalog import is_run, is_sweep
from nnrun.runs.format import FORMAT_VERSION, NNRUN_VERSION, check_readable
from nnrun.runs.store import RunFolder, effective_status, now_iso
from nnrun.runs.sweep_store import SweepFolder


@dataclass
class FolderChange:
    """What migrating one folder writes: ``records`` maps a file name to its new content."""

    folder: Path
    kind: str  # "run" or "sweep"
    from_version: int
    records: dict[str, dict[str, Any]]

    def describe(self) -> str:
        files = ", ".join(self.records)
        return f"{self.folder}: {self.kind} folder, format {self.from_version} -> {FORMAT_VERSION} ({files})"


@dataclass
class MigrationPlan:
    """The folders to upgrade, the ones left as they are (with why), and how many are already current."""

    changes: list[FolderChange] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    current: int = 0


def plan_migration(path: str | Path) -> MigrationPlan:
    """What migrating the runs folder ``path`` (or one run or sweep folder) would change; writes nothing.

    A folder written in a newer format than this nnrun knows raises
    :class:`~nnrun.runs.format.FormatVersionError` before anything is planned for the others.
    """
    root = Path(path)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise InvalidArgumentError(f"RUNS_DIR {root} {what}. Pass the folder nnrun train and nnrun sweep wrote into.")
    if is_run(root) or is_sweep(root):
        folders = [root]
    else:
        folders = sorted(c for c in root.iterdir() if not c.name.startswith(".") and (is_run(c) or is_sweep(c)))
    for folder in folders:  # refuse a newer format before planning anything
        check_readable(folder)
        for trial in _trial_folders(folder) if is_sweep(folder) else []:
            check_readable(trial)
    plan = MigrationPlan()
    for folder in folders:
        if is_sweep(folder):
            _plan_folder(folder, "sweep", plan)
            for trial in _trial_folders(folder):
                _plan_folder(trial, "run", plan)
        else:
            _plan_folder(folder, "run", plan)
    return plan


def apply_migration(plan: MigrationPlan) -> list[Path]:
    """Write the planned records (each atomically, status.json last in its folder); returns the folders."""
    for change in plan.changes:
        folder = RunFolder(change.folder)
        for name in sorted(change.records, key=lambda n: n == layout.STATUS):
            folder.write_json(name, change.records[name])
    return [c.folder for c in plan.changes]


def _plan_folder(folder: Path, kind: str, plan: MigrationPlan) -> None:
    version = check_readable(folder).version
    if version == FORMAT_VERSION:
        plan.current += 1
        return
    status = _read(folder / layout.STATUS)
    if status is None:
        plan.skipped.append((folder, f"no readable {layout.STATUS}: it reads as format {version}, left as it is"))
        return
    if kind == "sweep" and _locked(folder):
        plan.skipped.append((folder, "a sweep process is running in it; migrate it once it has finished"))
        return
    if kind == "run" and effective_status(status) == "running":
        plan.skipped.append((folder, "its run is still running; migrate it once it has finished"))
        return
    records = {layout.STATUS: status}
    manifest = _read(folder / layout.MANIFEST) if kind == "sweep" else None
    if manifest is not None:
        records[layout.MANIFEST] = manifest
    for step in range(version, FORMAT_VERSION):
        records = STEPS[step](folder, records)
    plan.changes.append(FolderChange(folder, kind, version, records))


def _v0_to_v1(folder: Path, records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Format 0 (nnrun 0.1.0) -> 1: the version fields first; ``migrated`` last in status.json."""
    writer = _writer(folder)
    version = {"format_version": 1, "nnrun_version": writer}
    out = {name: {**version, **record} for name, record in records.items()}
    out[layout.STATUS]["migrated"] = {"from_version": 0, "nnrun_version": NNRUN_VERSION, "at": now_iso()}
    return out


STEPS: dict[int, Callable[[Path, dict[str, dict[str, Any]]], dict[str, dict[str, Any]]]] = {0: _v0_to_v1}
"""Format N -> N+1: ``(folder, records) -> records``."""


def _writer(folder: Path) -> str | None:
    """The nnrun that wrote a format-0 folder: its metrics.json's ``versions.nnrun`` (a sweep's: its first
    trial's), else None."""
    for candidate in [folder, *_trial_folders(folder)]:
        versions = (_read(candidate / layout.METRICS) or {}).get("versions")
        if isinstance(versions, dict) and isinstance(versions.get("nnrun"), str):
            return versions["nnrun"]
    return None


def _trial_folders(sweep: Path) -> list[Path]:
    trials = sweep / layout.TRIALS
    return sorted(p for p in trials.iterdir() if p.is_dir()) if trials.is_dir() else []


def _locked(folder: Path) -> bool:
    """A sweep process holds the folder's lock (probed only where a lock file exists: a dry run creates none)."""
    return (folder / ".lock").exists() and SweepFolder(folder).is_locked()


def _read(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


__all__ = ["STEPS", "FolderChange", "MigrationPlan", "apply_migration", "plan_migration"]
