"""The version of the on-disk format of run and sweep folders (``runs/README.md`` documents each version).

A folder's format is ``format_version`` in its ``status.json`` (a sweep folder's ``manifest.json`` too), with
``nnrun_version``, the release that wrote it. Folders written before versions were recorded have neither:
they are format 0. This nnrun reads every format up to :data:`FORMAT_VERSION`; a newer one is refused with
:class:`FormatVersionError` (exit 2) naming the version and the release that wrote it, never guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnrun import __version__
from nnrun.errors import InvalidArgumentError
from nnrun.runs import layout

FORMAT_VERSION = 1
"""The format this nnrun writes. 0: no ``format_version`` (nnrun 0.1.0); 1: ``format_version`` and
``nnrun_version`` in ``status.json`` and ``manifest.json``."""
NNRUN_VERSION = __version__


class FormatVersionError(InvalidArgumentError):
    """A folder written in a format this nnrun does not know (a newer release wrote it)."""

    def __init__(self, message: str, path: str | None = None, version: Any = None, writer: str | None = None) -> None:
        super().__init__(message, path, version, writer)
        self.message, self.path, self.version, self.writer = message, path, version, writer

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FolderFormat:
    """A folder's format version (0 when it records none) and the nnrun release that wrote it, if recorded."""

    version: int
    nnrun_version: str | None = None


def version_fields() -> dict[str, Any]:
    """What every new folder records first: ``{"format_version": ..., "nnrun_version": ...}``."""
    return {"format_version": FORMAT_VERSION, "nnrun_version": NNRUN_VERSION}


def folder_format(path: str | Path) -> FolderFormat:
    """The format of the run or sweep folder at ``path``: the highest ``format_version`` its ``status.json``
    and ``manifest.json`` record (0 when none does, or the files are missing or unreadable).

    A ``format_version`` that is not a whole number >= 1 raises :class:`FormatVersionError`.
    """
    path = Path(path)
    found = FolderFormat(0)
    for name in (layout.STATUS, layout.MANIFEST):
        record = _json_object(path / name)
        if record is None or "format_version" not in record:
            continue
        version, writer = record["format_version"], record.get("nnrun_version")
        writer = writer if isinstance(writer, str) else None
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise FormatVersionError(
                f"{path}: {name} has format_version {version!r}, which is not a format nnrun writes (a whole "
                f"number from 1; absent in folders of nnrun 0.1.0). Was the file edited by hand?",
                str(path),
                version,
                writer,
            )
        if version > found.version:
            found = FolderFormat(version, writer)
    return found


def check_readable(path: str | Path) -> FolderFormat:
    """The folder's format, if this nnrun reads it; :class:`FormatVersionError` for a newer format."""
    found = folder_format(path)
    if found.version > FORMAT_VERSION:
        writer = f"nnrun {found.nnrun_version}" if found.nnrun_version else "a newer nnrun"
        raise FormatVersionError(
            f"{path}: written in folder format {found.version} by {writer}; this nnrun ({NNRUN_VERSION}) reads "
            f"formats 0 to {FORMAT_VERSION}. Upgrade nnrun (pip install -U nnrun) to read it; the folder was "
            "left unchanged.",
            str(path),
            found.version,
            found.nnrun_version,
        )
    return found


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


__all__ = [
    "FORMAT_VERSION",
    "NNRUN_VERSION",
    "FolderFormat",
    "FormatVersionError",
    "check_readable",
    "folder_format",
    "version_fields",
]
