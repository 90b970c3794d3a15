"""The run store: the only writer of run folders.

A run folder is ``<runs>/<YYYYmmdd-HHMMSS>-<name>/``, created with an exclusive ``mkdir`` so two runs
started in the same second never share one (the second gets ``-2``, ...). Every file is written to a
temporary name and renamed into place; ``status.json`` is written first (``running``) and last.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import yaml

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


def slug(name: str) -> str:
    """A name safe for a folder: letters, digits and ``- _ . = ,``."""
    return re.sub(r"[^A-Za-z0-9._=,-]+", "-", name).strip("-.") or "run"


def atomic_write(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write through ``write(file)`` into a temporary file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)  # atomic: a reader (or a resumed sweep) sees the old file or the new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


class RunFolder:
    """One run's folder; every write is atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def name(self) -> str:
        return self.path.name

    def write_bytes(self, name: str, data: bytes) -> Path:
        target = self.path / name
        atomic_write(target, lambda f: f.write(data))
        return target

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, value: Any) -> Path:
        return self.write_text(name, json.dumps(to_json(value), indent=2, allow_nan=False) + "\n")

    def write_yaml(self, name: str, value: Any) -> Path:
        return self.write_text(name, yaml.safe_dump(value, sort_keys=False, allow_unicode=True))

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
        """Record the run's state: running, completed, failed, interrupted or diverged."""
        current = self.read_status() or {}
        record = {**current, "status": status, "updated": now_iso(), **details}
        record.setdefault("started", record["updated"])
        self.write_json("status.json", record)

    def read_status(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / "status.json").read_text())
        except (OSError, ValueError):
            return None


def create_run_folder(runs_dir: str | Path, name: str, when: float | None = None, prefix: str = "") -> RunFolder:
    """A new, unique ``<runs_dir>/<prefix><date-time>-<name>`` folder (never an existing one)."""
    root = Path(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    base = f"{prefix}{stamp}-{slug(name)}"
    for n in range(1, 10_000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return RunFolder(path)
    raise RuntimeError(f"could not create a unique run folder under {root}")
