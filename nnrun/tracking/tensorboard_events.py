"""TensorBoard event files from a finished run or sweep folder, laid out and tagged as Keras's callback does.

A run: ``<dir>/train`` (``epoch_loss``, ``epoch_accuracy``, ..., ``epoch_learning_rate``, ``epoch_time``)
and ``<dir>/validation`` (the ``val_`` values, prefix removed: ``epoch_loss``, ``epoch_accuracy``), step =
epoch (0-based), a NaN epoch (``null`` in history.json) as NaN.

A sweep: one such folder per trial, ``<dir>/<trial folder name>/``, which is also an HParams session
(TensorBoard's HParams plugin: the trial's swept parameters, its status, and its test metrics as
``test_<name>`` scalars); the HParams table and parallel-coordinates view read each session's metrics
(``epoch_loss`` in ``train`` and ``validation``, ...) from its last epoch.

Each tree is written in a temporary folder beside the target and renamed into place, so a reader never
sees half of one; an existing target (an earlier export) is replaced.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nnrun.engine.callbacks.tensorboard import import_tensorboardx
from nnrun.runs.catalog import RunRecord, SweepRecord

HPARAMS_PLUGIN = "hparams"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"


def scalar_layout(history: Mapping[str, list]) -> dict[tuple[str, str], list[float]]:
    """``{(writer, tag): values per epoch}``: Keras's TensorBoard names for each key of history.json."""
    out: dict[tuple[str, str], list[float]] = {}
    for key, values in history.items():
        if not isinstance(values, list):
            continue
        numbers = [float("nan") if v is None else float(v) for v in values]
        if key == "epoch_time":
            out[("train", "epoch_time")] = numbers
        elif key.startswith("val_"):
            out[("validation", f"epoch_{key[4:]}")] = numbers
        else:
            out[("train", f"epoch_{key}")] = numbers
    return out


def export_run(run: RunRecord, target: Path) -> Path:
    """Write ``run``'s event files into ``target`` (replacing an earlier export); returns ``target``."""
    return _replace_tree(target, lambda tmp: _write_run(run, tmp, session=None))


def export_sweep(sweep: SweepRecord, target: Path) -> Path:
    """Write one session folder per trial that has a run folder into ``target``; returns ``target``."""

    def write(tmp: Path) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        for trial in sweep.trials:
            if trial.run is None:
                continue
            params = dict(trial.params)
            if sweep.repeated:
                params["repeat"] = trial.repeat
            group = json.dumps(trial.params, sort_keys=True, default=str)
            session = {"hparams": params, "group": group, "status": trial.status}
            _write_run(trial.run, tmp / trial.run.path.name, session=session)

    return _replace_tree(target, write)


def _write_run(run: RunRecord, folder: Path, session: dict[str, Any] | None) -> None:
    tbx = import_tensorboardx()
    start = run.started.timestamp() if run.started else time.time()
    times = _epoch_end_times(run.history, start)
    layout = scalar_layout(run.history)
    writers: dict[str, Any] = {}
    quiet = logging.getLogger("tensorboardX.x2num")  # warns of each NaN; a diverged run's NaN epochs are data here
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for (which, tag), values in layout.items():
            if which not in writers:
                writers[which] = tbx.SummaryWriter(str(folder / which))
            for epoch, value in enumerate(values):
                wall = times[epoch] if epoch < len(times) else start
                writers[which].add_scalar(tag, value, epoch, walltime=wall)
        if session is not None:
            root = writers.setdefault("", tbx.SummaryWriter(str(folder)))
            end = times[-1] if times else start
            file_writer = root._get_file_writer()
            file_writer.add_summary(session_start_summary(session["hparams"], session["group"], start), 0, start)
            test = run.metrics.get("test") if isinstance(run.metrics.get("test"), Mapping) else {}
            last = max(len(times) - 1, 0)
            for name, value in test.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    root.add_scalar(f"test_{name}", float(value), last, walltime=end)
            file_writer.add_summary(session_end_summary(session["status"], end), 0, end)
    finally:
        quiet.setLevel(level)
        for writer in writers.values():
            writer.close()
    if not writers:  # a run that ended before its first epoch: an empty train folder still shows the run
        (folder / "train").mkdir(parents=True, exist_ok=True)


def _epoch_end_times(history: Mapping[str, list], start: float) -> list[float]:
    """Wall time at the end of each epoch: the start plus the cumulative epoch times (if recorded)."""
    out, now = [], start
    for seconds in history.get("epoch_time") or []:
        now += float(seconds) if isinstance(seconds, (int, float)) and math.isfinite(seconds) else 0.0
        out.append(now)
    return out


def _replace_tree(target: Path, write: Any) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        write(tmp / "tree")
        (tmp / "tree").mkdir(exist_ok=True)
        old = None
        if target.exists():
            old = tmp / "old"
            target.rename(old)
        (tmp / "tree").rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# -- HParams plugin data (TensorBoard's plugin_data.proto, through tensorboardX's copy of the protos) ------


def _hparams_summary(tag: str, **content: Any) -> Any:
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata

    data = HParamsPluginData(version=0, **content)
    metadata = SummaryMetadata(
        plugin_data=SummaryMetadata.PluginData(plugin_name=HPARAMS_PLUGIN, content=data.SerializeToString())
    )
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata)])


def session_start_summary(hparams: Mapping[str, Any], group: str, start: float) -> Any:
    """One session's parameters (text, number or bool; anything else as its JSON text)."""
    from tensorboardX.proto.plugin_hparams_pb2 import SessionStartInfo

    info = SessionStartInfo(group_name=group, start_time_secs=start)
    for name, value in hparams.items():
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[name].number_value = float(value)
        elif isinstance(value, str):
            info.hparams[name].string_value = value
        else:
            info.hparams[name].string_value = json.dumps(value, default=str)
    return _hparams_summary(SESSION_START_INFO_TAG, session_start_info=info)


def session_end_summary(status: str, end: float) -> Any:
    """How the session ended: completed is success, failed and diverged failure, running running."""
    from tensorboardX.proto.api_pb2 import Status
    from tensorboardX.proto.plugin_hparams_pb2 import SessionEndInfo

    code = {"completed": "STATUS_SUCCESS", "failed": "STATUS_FAILURE", "diverged": "STATUS_FAILURE"}.get(
        status, "STATUS_RUNNING" if status == "running" else "STATUS_UNKNOWN"
    )
    return _hparams_summary(
        SESSION_END_INFO_TAG, session_end_info=SessionEndInfo(status=Status.Value(code), end_time_secs=end)
    )
