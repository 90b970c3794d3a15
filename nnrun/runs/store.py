"""The run store: the only writer of run folders.

A run folder is ``<runs>/<YYYYmmdd-HHMMSS>-<name>/``, created with an exclusive ``mkdir`` so two runs
started in the same second never share one (the second gets ``-2``, ...). Every file is written to a
temporary name and renamed into place; ``status.json`` is written first (``running``) and last.
The records (status, config, history, metrics, manifests: everything written as JSON or YAML) are also
made durable: the file is fsynced before the rename and its folder after it, so a power loss leaves the
old file or the new one, never an empty one. Bulk files (weights, plots, logs) are only renamed.

A folder that cannot be written raises :class:`~nnrun.errors.StoreError` naming the file and the folder.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import yaml

from nnrun.errors import InvalidArgumentError, StoreError
from nnrun.runs.format import version_fields

RUNS_DIR_ENV = "NNRUN_RUNS_DIR"


def _file_mode() -> int:
    """The mode a plain ``open`` would give a new file (mkstemp's is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def default_runs_dir() -> Path:
    """``$NNRUN_RUNS_DIR``, else ``runs/`` in the current folder."""
    return Path(os.environ.get(RUNS_DIR_ENV) or "runs")


def slug(name: str, max_bytes: int = 150) -> str:
    """A name safe for a folder: letters (with their accents and marks) and digits of any script, and
    ``- _ . = ,``; every other run of characters becomes ``-``. At most ``max_bytes`` in UTF-8 (NFC)."""
    import unicodedata  # local: this edit touches only this function

    kept = "".join(
        c if c in "_.=,-" or unicodedata.category(c)[0] in "LMN" else "\0" for c in unicodedata.normalize("NFC", name)
    )
    text = re.sub("\0+", "-", kept).strip("-.")
    text = text.encode("utf-8")[:max_bytes].decode("utf-8", "ignore").rstrip("-.")
    return text or "run"


def atomic_write(path: Path, write: Callable[[BinaryIO], Any], durable: bool = False) -> None:
    """Write through ``write(file)`` into a temporary file beside ``path``, then rename it into place.

    ``durable``: fsync the file before the rename and the folder after it (survives a power loss).
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        if hasattr(os, "fchmod"):  # POSIX (and Windows from Python 3.13)
            os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: a reader (or a resumed sweep) sees the old file or the new one
        tmp = None
        if durable:
            fsync_folder(path.parent)
    except OSError as e:
        raise _store_error(e, path) from e
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable (a no-op where folders cannot be opened)."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _store_error(error: OSError, path: Path) -> StoreError:
    reason = error.strerror or str(error)
    if error.errno is not None:
        reason += f" (errno {error.errno})"
    return StoreError(f"could not write {path.name} in {path.parent}: {reason}", str(path), str(path.parent))


def to_json(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become null (strict JSON has no NaN), numpy scalars floats."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def now_iso(timespec: str = "seconds") -> str:
    """The local time now, ISO 8601 with its UTC offset (``timespec`` as for :meth:`datetime.isoformat`)."""
    return datetime.now(timezone.utc).astimezone().isoformat(timespec=timespec)


class RunFolder:
    """One run's folder; every write is atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def name(self) -> str:
        return self.path.name

    def write_bytes(self, name: str, data: bytes, durable: bool = False) -> Path:
        target = self.path / name
        atomic_write(target, lambda f: f.write(data), durable=durable)
        return target

    def write_text(self, name: str, text: str, durable: bool = False) -> Path:
        return self.write_bytes(name, text.encode("utf-8"), durable=durable)

    def write_json(self, name: str, value: Any) -> Path:
        """A record: durable."""
        return self.write_text(name, json.dumps(to_json(value), indent=2, allow_nan=False) + "\n", durable=True)

    def write_yaml(self, name: str, value: Any) -> Path:
        """A record: durable."""
        return self.write_text(name, yaml.safe_dump(value, sort_keys=False, allow_unicode=True), durable=True)

    def write_npz(self, name: str, arrays: dict[str, np.ndarray]) -> Path:
        target = self.path / name
        atomic_write(target, lambda f: np.savez(f, **arrays))
        return target

    def write_figure(self, name: str, figure: Any) -> Path:
        target = self.path / name
        fmt = target.suffix.lstrip(".")
        atomic_write(target, lambda f: figure.savefig(f, format=fmt))
        return target

    def set_status(self, status: str, **details: Any) -> None:
        """Record the run's state: running, completed, failed, interrupted or diverged.

        The first status of a folder records its format first (``format_version``, ``nnrun_version``).
        ``running`` also records who runs it (host, pid and the pid's start time), so that a reader can
        tell a live run from one whose process was killed (:func:`effective_status`).
        """
        current = self.read_status()
        if current is None:  # the first status: the folder's format (an existing folder keeps its own)
            current = version_fields()
        record = {**current, "status": status, "updated": now_iso(), **details}
        record.setdefault("started", record["updated"])
        if status == "running":
            record.update(process_identity(details.get("pid", os.getpid())))
        self.write_json("status.json", record)

    def read_status(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / "status.json").read_text())
        except (OSError, ValueError):
            return None


def process_identity(pid: int) -> dict[str, Any]:
    """``host``, ``pid`` and (on Linux) ``pid_start``: enough to tell later whether that process still lives."""
    identity: dict[str, Any] = {"host": socket.gethostname(), "pid": int(pid)}
    start = _pid_start(int(pid))
    if start is not None:
        identity["pid_start"] = start
    return identity


def _pid_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux ``/proc``), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat[stat.rindex(")") + 2 :].split()[19])  # field 22 of stat(5), counted after the name
    except (ValueError, IndexError):
        return None


def _alive(pid: int, start: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    except OSError:
        return False
    return start is None or _pid_start(pid) in (None, start)  # a reused pid has another start time


def effective_status(status: dict[str, Any] | None) -> str:
    """What a status record means now: a ``running`` record whose process is gone reads ``killed``,
    one written on another host ``unknown`` (its process cannot be checked from here)."""
    if not status:
        return "unknown"
    value = str(status.get("status", "unknown"))
    if value != "running":
        return value
    host = status.get("host")
    if host is not None and host != socket.gethostname():
        return "unknown"
    pid = status.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return value
    return value if _alive(pid, status.get("pid_start")) else "killed"


def check_runs_dir(runs_dir: str | Path, option: str = "--runs-dir") -> Path:
    """Make sure run folders can be created under ``runs_dir``, before any work starts; creates nothing.

    The folder, or the nearest folder above it that exists, must be a writable folder (probed with a
    temporary file, which catches read-only mounts and immutable folders that permissions do not show).
    """
    root = Path(runs_dir)
    for parent in [root, *root.parents]:
        if parent.exists() and not parent.is_dir():
            where = "is" if parent == root else f"is under {parent}, which is"
            raise InvalidArgumentError(f"{option} {root} {where} a file, not a folder. Choose a folder for the runs.")
    existing = next(p for p in [root, *root.parents] if p.exists() or p == p.parent)
    try:
        fd, probe = tempfile.mkstemp(prefix=".nnrun-write-check.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        reason = e.strerror or str(e)
        raise InvalidArgumentError(
            f"{option} {root}: cannot create run folders there ({reason}). Choose a writable folder."
        ) from None
    return root


def create_run_folder(runs_dir: str | Path, name: str, when: float | None = None, prefix: str = "") -> RunFolder:
    """A new, unique ``<runs_dir>/<prefix><date-time>-<name>`` folder (never an existing one)."""
    root = Path(runs_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _store_error(e, root) from e
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    base = f"{prefix}{stamp}-{slug(name)}"
    for n in range(1, 10_000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as e:
            raise _store_error(e, path) from e
        return RunFolder(path)
    raise RuntimeError(f"could not create a unique run folder under {root}")
