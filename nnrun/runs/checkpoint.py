"""A run's end-of-epoch checkpoint (``checkpoint.json`` + ``checkpoint.npz``), and opening a run to resume it.

``checkpoint.npz`` holds the arrays (weights, optimizer variables, callbacks' arrays) and, as ``epoch``, the
epoch count it belongs to; ``checkpoint.json`` holds the rest (epochs done, callbacks' counters, random
generator states, the history so far). The npz is written first and the json last, each atomically; a reader
checks that both name the same epoch. No pickles: the npz loads with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.engine.models.training_state import TrainingCheckpoint
from nnrun.errors import InvalidArgumentError, StoreError
from nnrun.runs import layout
from nnrun.runs.format import check_readable
from nnrun.runs.store import RunFolder, effective_status

CHECKPOINT_JSON = "checkpoint.json"
CHECKPOINT_NPZ = "checkpoint.npz"
EPOCH_KEY = "epoch"


def write_checkpoint(folder: RunFolder, checkpoint: TrainingCheckpoint) -> None:
    """Store the state after a complete epoch (replacing the previous one)."""
    folder.write_npz(CHECKPOINT_NPZ, {**checkpoint.arrays, EPOCH_KEY: np.array(checkpoint.epoch, np.int64)})
    folder.write_json(CHECKPOINT_JSON, checkpoint.meta)


class CheckpointingObserver:
    """A training observer that also writes each checkpoint into the run folder (the trial writes nothing).

    ``signals`` (the command's StopSignals): while a checkpoint is written, a second Ctrl-C does not abort
    (it would leave the epoch out of the history and the checkpoint pair torn); training still stops after
    the current batch, as the first signal asked.
    """

    def __init__(self, observer: Any, folder: RunFolder, signals: Any = None) -> None:
        self._observer, self._folder, self._signals = observer, folder, signals

    def __getattr__(self, name: str) -> Any:
        return getattr(self._observer, name)

    def on_checkpoint(self, checkpoint: TrainingCheckpoint) -> None:
        shield = self._signals is not None and self._signals.abort_allowed
        if shield:
            self._signals.abort_allowed = False
        try:
            write_checkpoint(self._folder, checkpoint)
        except StoreError as e:  # the run fails now (its status says why) rather than train on unrecorded
            raise StoreError(f"the run folder could not be written: {e.message}", e.path, e.folder) from None
        finally:
            if shield:
                self._signals.abort_allowed = True


def read_checkpoint(run: Path) -> TrainingCheckpoint:
    """The checkpoint of the run folder ``run``; InvalidArgumentError saying why when there is none."""
    meta_path, npz_path = run / CHECKPOINT_JSON, run / CHECKPOINT_NPZ
    if not meta_path.exists() or not npz_path.exists():
        raise InvalidArgumentError(
            f"--resume {run}: the run has no checkpoint ({CHECKPOINT_JSON} and {CHECKPOINT_NPZ}), so its "
            "optimizer state, callbacks' state and random streams were not saved (it was recorded before nnrun "
            "saved them after each epoch, or it stopped before finishing one). It cannot be continued exactly; "
            "start a new run instead."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as e:
        raise InvalidArgumentError(f"--resume {run}: the checkpoint cannot be read: {e}") from None
    epoch = arrays.pop(EPOCH_KEY, None)
    if epoch is None or int(epoch) != meta.get("epoch"):
        raise InvalidArgumentError(
            f"--resume {run}: {CHECKPOINT_NPZ} (epoch {None if epoch is None else int(epoch)}) and "
            f"{CHECKPOINT_JSON} (epoch {meta.get('epoch')}) do not belong together (the process was stopped "
            "while writing them); the run cannot be continued exactly."
        )
    return TrainingCheckpoint(meta, arrays)


def check_resumable(run: Path) -> RunFolder:
    """``run`` as a RunFolder if it is a run folder that no live process is writing; else InvalidArgumentError."""
    if not run.is_dir():
        raise InvalidArgumentError(f"--resume {run}: no such folder. Give a run folder made by `nnrun train`.")
    if any((run / f).exists() for f in layout.SWEEP_FILES) or not (run / layout.CONFIG).exists():
        raise InvalidArgumentError(
            f"--resume {run}: not a run folder (expected {layout.CONFIG}, {layout.STATUS} and a checkpoint). "
            "Give a run folder made by `nnrun train`."
        )
    check_readable(run)  # a newer nnrun's folder is refused (exit 2), never rewritten
    folder = RunFolder(run)
    status = folder.read_status()
    if effective_status(status) == "running" and (status or {}).get("pid") != os.getpid():
        raise InvalidArgumentError(
            f"--resume {run}: the run is still running (pid {(status or {}).get('pid')}); stop it first."
        )
    return folder


def config_changes(stored: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys whose values differ between two resolved configs."""
    keys = sorted(set(stored) | set(new))
    out = []
    for k in keys:
        a, b, path = stored.get(k), new.get(k), f"{prefix}{k}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_changes(a, b, f"{path}.")
        elif a != b:
            out.append(path)
    return out


def open_resume(run: Path, config: Path | None, overrides: list[str]) -> tuple[RunFolder, Any, TrainingCheckpoint]:
    """The run folder, the config to continue with and the checkpoint, for ``nnrun train --resume RUN``.

    The config is the run's own (``config.yaml``), or ``config`` when given, with ``overrides``; it may differ
    from the run's only in ``train.epochs``, which must exceed the epochs already done.
    """
    from nnrun.config import load_config

    folder = check_resumable(run)
    checkpoint = read_checkpoint(run)
    stored = load_config(run / layout.CONFIG, [])
    new = load_config(config if config is not None else run / layout.CONFIG, overrides)
    changes = [k for k in config_changes(stored.to_yaml_dict(), new.to_yaml_dict()) if k != "train.epochs"]
    if changes:
        raise InvalidArgumentError(
            f"--resume {run}: only train.epochs may change when a run is continued; the config differs from the "
            f"run's in {', '.join(changes)}. Start a new run to change them."
        )
    if new.train.epochs <= checkpoint.epoch:
        raise InvalidArgumentError(
            f"--resume {run}: the run has completed {checkpoint.epoch} epoch(s) and train.epochs is "
            f"{new.train.epochs}: nothing to continue. Give more epochs, e.g. "
            f"--set train.epochs={checkpoint.epoch + 10}."
        )
    return folder, new, checkpoint


def restart_run(folder: RunFolder, experiment: Any, checkpoint: TrainingCheckpoint) -> None:
    """Mark a run folder as running again, with the config it now continues with."""
    folder.write_yaml(layout.CONFIG, experiment.config.to_yaml_dict())
    folder.set_status("running", pid=os.getpid(), stop_reason=None, resumed_at_epoch=checkpoint.epoch)


def previous_log(folder: RunFolder, checkpoint: TrainingCheckpoint | None) -> list[str]:
    """The log of the sessions before a resumed one, and a line saying where it resumed ([] for a new run)."""
    if checkpoint is None:
        return []
    try:
        before = (folder.path / layout.LOG).read_text(encoding="utf-8").rstrip("\n").splitlines()
    except OSError:
        before = []
    return [*before, f"--- resumed after epoch {checkpoint.epoch} ---"]


__all__ = [
    "CHECKPOINT_JSON",
    "CHECKPOINT_NPZ",
    "CheckpointingObserver",
    "check_resumable",
    "config_changes",
    "open_resume",
    "previous_log",
    "read_checkpoint",
    "restart_run",
    "write_checkpoint",
]
