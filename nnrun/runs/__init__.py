"""Run folders: creating them, writing them atomically, recording a trial's result, and reading them back.

For other tools: :func:`load` reads one run or sweep folder and :func:`scan` every one in a runs folder, as
typed records (:class:`RunRecord`, :class:`SweepRecord`); ``runs/README.md`` documents the files.
"""

from __future__ import annotations

from pathlib import Path

from nnrun.runs.catalog import RunRecord, SweepRecord, read_folder, scan
from nnrun.runs.format import FORMAT_VERSION, FormatVersionError
from nnrun.runs.record import start_run, write_result
from nnrun.runs.store import RunFolder, create_run_folder, default_runs_dir


def load(path: str | Path) -> RunRecord | SweepRecord:
    """The run folder or sweep folder at ``path``, read back (any earlier format; a newer one raises
    :class:`FormatVersionError`). Missing files read as empty; a path that is neither kind of folder raises."""
    return read_folder(path)


__all__ = [
    "FORMAT_VERSION",
    "FormatVersionError",
    "RunFolder",
    "RunRecord",
    "SweepRecord",
    "create_run_folder",
    "default_runs_dir",
    "load",
    "scan",
    "start_run",
    "write_result",
]
