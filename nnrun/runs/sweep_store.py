"""Sweep folders: created, found again for resuming, locked while a sweep runs, written only here.

The folder's files are named in :mod:`nnrun.runs.layout`; its manifest is a
:class:`~nnrun.runs.manifest.SweepManifest` and its summary rows are :class:`~nnrun.results.TrialRow`.
Every file is written atomically and the manifest is rewritten after each trial, so a sweep killed at
any moment can be resumed: finished trials are kept, a half-written trial folder is removed and run again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from nnrun.errors import InvalidArgumentError, NnrunError
from nnrun.results import TrialRow
from nnrun.runs import layout
from nnrun.runs.format import check_readable
from nnrun.runs.manifest import FINAL, SweepManifest, TrialEntry
from nnrun.runs.record import write_result
from nnrun.runs.store import RunFolder, create_run_folder, now_iso, slug, to_json
from nnrun.trial import TrialResult


class CorruptManifestError(InvalidArgumentError):
    """A sweep folder's manifest.json is truncated or was edited into something else (exit 2)."""

    def __init__(self, path: Path | str, why: str) -> None:
        super().__init__(path, why)
        self.path, self.why = Path(path), why

    def __str__(self) -> str:
        folder = self.path.parent
        return (
            f"{self.path}: cannot resume the sweep in {folder.name}: {self.why}. Restore the file (nothing in "
            "the folder was changed), or start the sweep again in a new folder with --new."
        )


class SweepBusyError(NnrunError):
    """Another process is running this sweep."""


class SweepFolder(RunFolder):
    """A sweep's folder and its manifest."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.manifest = SweepManifest(name=path.name)
        self._lock_file: Any = None

    # -- locking: one process per sweep folder -------------------------------------------------------

    def lock(self) -> None:
        """Take the folder's lock, or raise SweepBusyError if another process holds it.

        A ``filelock`` lock on ``.lock`` (flock on POSIX, msvcrt on Windows): the system releases it
        when the process ends, however it ends, so a killed sweep never leaves its folder locked.
        """
        lock = FileLock(self.path / ".lock", timeout=0, is_singleton=False)
        try:
            lock.acquire()
        except Timeout:
            raise SweepBusyError(f"the sweep in {self.path} is being run by another process") from None
        self._lock_file = lock

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.release()
            self._lock_file = None

    def is_locked(self) -> bool:
        probe = FileLock(self.path / ".lock", timeout=0, is_singleton=False)
        try:
            probe.acquire()
        except Timeout:
            return True
        probe.release()
        return False

    # -- manifest ----------------------------------------------------------------------------------

    def read_manifest(self) -> SweepManifest:
        """The manifest; a truncated or hand-edited one raises :class:`CorruptManifestError` naming the file."""
        check_readable(self.path)  # a newer nnrun's folder is refused, never rewritten
        path = self.path / layout.MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CorruptManifestError(path, f"it is not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise CorruptManifestError(path, f"it holds a {type(data).__name__}, not a JSON object")
        try:
            self.manifest = SweepManifest.from_json(data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            why = f"a field is missing or has the wrong type ({type(e).__name__}: {e})"
            raise CorruptManifestError(path, why) from None
        return self.manifest

    def write_manifest(self) -> None:
        self.write_json(layout.MANIFEST, self.manifest.to_json())

    def trial(self, trial_id: str) -> TrialEntry:
        return self.manifest.trial(trial_id)

    def pending(self) -> list[TrialEntry]:
        """Trials still to run: never run, failed, interrupted, or left half-written."""
        return self.manifest.pending()

    # -- trials ------------------------------------------------------------------------------------

    def trial_folder_name(self, entry: TrialEntry) -> str:
        label = layout.trial_folder_label(entry.id, entry.params, entry.repeat, self.manifest.repeats)
        return slug(label)[: layout.TRIAL_FOLDER_CHARS]

    def record(self, trial_id: str, config: dict[str, Any], result: TrialResult, log: str | None = None) -> Path:
        """Write a trial's run folder (status last), then mark it in the manifest."""
        entry = self.trial(trial_id)
        folder = RunFolder(self.path / layout.TRIALS / self.trial_folder_name(entry))
        if folder.path.exists():
            shutil.rmtree(folder.path)
        folder.path.mkdir(parents=True)
        folder.write_yaml(layout.CONFIG, config)
        write_result(folder, config.get("name", trial_id), result, log=log)
        entry.status, entry.reason = result.status, result.stop_reason
        entry.folder, entry.finished = folder.path.relative_to(self.path).as_posix(), now_iso("milliseconds")
        self.write_manifest()
        return folder.path

    def clean_partial(self) -> None:
        """After a crash: remove temporary files and trial folders the manifest does not vouch for."""
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        kept = {t.folder for t in self.manifest.trials if t.done and t.folder}
        trials = self.path / layout.TRIALS
        if trials.is_dir():
            for child in trials.iterdir():
                if child.relative_to(self.path).as_posix() in kept:
                    continue
                if child.is_symlink():  # never follow a link out of the folder: remove the link only
                    child.unlink()
                elif child.is_dir():
                    shutil.rmtree(child)

    # -- summary -------------------------------------------------------------------------------------

    def write_summary(self, trial_rows: Sequence[TrialRow]) -> tuple[Path, Path]:
        """summary.json and summary.csv: one row per trial, in manifest order."""
        rows = [row.to_json() for row in trial_rows]
        json_path = self.write_json(layout.SUMMARY_JSON, rows)
        columns: list[str] = []
        for row in rows:
            columns += [k for k in row if k not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in to_json(row).items()})
        csv_path = self.write_text(layout.SUMMARY_CSV, buffer.getvalue())
        return json_path, csv_path


def sweep_folders(runs_dir: str | Path) -> list[SweepFolder]:
    """Every sweep folder under ``runs_dir``, newest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    found = [
        SweepFolder(p)
        for p in root.iterdir()
        if p.is_dir() and p.name.startswith(layout.SWEEP_PREFIX) and (p / layout.MANIFEST).is_file()
    ]
    return sorted(found, key=lambda f: f.path.name, reverse=True)


def find_resumable(runs_dir: str | Path, fingerprint: str, name: str | None = None) -> SweepFolder | None:
    """The newest sweep folder for the same sweep (same fingerprint) that no process is running.

    A folder of a sweep with the same ``name`` whose manifest cannot be read is not silently passed over
    (that would start the sweep again from scratch): :class:`CorruptManifestError` says which file.
    """
    corrupt: CorruptManifestError | None = None
    for folder in sweep_folders(runs_dir):
        try:
            manifest = folder.read_manifest()
        except CorruptManifestError as e:
            if name is not None and folder.path.name.endswith(f"-{slug(name)}") and corrupt is None:
                corrupt = e
            continue
        except OSError:
            continue
        if manifest.fingerprint == fingerprint and not folder.is_locked():
            return folder
    if corrupt is not None:
        raise corrupt
    return None


def create_sweep_folder(runs_dir: str | Path, name: str, manifest: SweepManifest, spec: dict[str, Any]) -> SweepFolder:
    """A new, locked sweep folder with its spec and manifest written."""
    folder = SweepFolder(create_run_folder(runs_dir, name, prefix=layout.SWEEP_PREFIX).path)
    folder.lock()
    folder.write_yaml(layout.SWEEP_YAML, spec)
    folder.manifest = manifest
    folder.write_manifest()
    folder.set_status("running", pid=os.getpid())
    return folder


def open_sweep_folder(path: str | Path) -> SweepFolder:
    """An existing sweep folder, locked for resuming."""
    folder = SweepFolder(Path(path))
    if not (folder.path / layout.MANIFEST).is_file():
        raise NnrunError(f"{folder.path} is not a sweep folder (it has no manifest.json)")
    check_readable(folder.path)  # before taking the lock
    folder.lock()
    try:
        folder.read_manifest()
    except BaseException:
        folder.unlock()
        raise
    return folder


__all__ = [
    "FINAL",
    "CorruptManifestError",
    "SweepBusyError",
    "SweepFolder",
    "SweepManifest",
    "TrialEntry",
    "create_sweep_folder",
    "find_resumable",
    "open_sweep_folder",
    "sweep_folders",
]
