"""``nnrun train --resume RUN``: an interrupted-and-resumed run ends with the same history and weights, bit for
bit, as one never interrupted (optimizer state, callbacks' state and random streams restored)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.config import load_config
from nnrun.experiment import prepare
from nnrun.runs.checkpoint import CHECKPOINT_JSON, CHECKPOINT_NPZ, read_checkpoint, write_checkpoint
from nnrun.runs.store import RunFolder
from nnrun.trial import run_trial

FIXTURES = Path(__file__).parent / "fixtures" / "v0"
runner = CliRunner()

# dropout (its own random stream), batchnorm (moving statistics), Adam (slots), shuffling, early stopping with
# best weights, and learning-rate reductions: every piece of state a resumed run must get back
CONFIG = """\
name: resumable
seed: 5
data: {dataset: blobs, n_samples: 400, test_split: 0.2}
model:
  hidden: {activation: relu}
  layers:
    - dense: 16
    - batchnorm: {}
    - dropout: 0.2
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.05}
  metrics: [accuracy]
  epochs: 7
  batch_size: 32
  validation_split: 0.25
  callbacks:
    early_stopping: {monitor: val_loss, patience: 5, min_delta: 0.02, restore_best_weights: true}
    reduce_lr_on_plateau: {monitor: val_loss, patience: 1, factor: 0.5, min_delta: 0.05}
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "resumable.yaml"
    path.write_text(CONFIG)
    return path


class Recorder:
    """An observer that stores each checkpoint the way the CLI does (through the run store) and reads it back."""

    def __init__(self, folder: Path, stop_after: int | None = None) -> None:
        self.folder, self.stop_after, self.epochs = RunFolder(folder), stop_after, 0

    def __getattr__(self, name):
        return lambda *args, **kwargs: None

    def on_checkpoint(self, checkpoint) -> None:
        write_checkpoint(self.folder, checkpoint)
        self.epochs = checkpoint.epoch

    def should_stop(self) -> bool:
        return self.stop_after is not None and self.epochs >= self.stop_after


def test_interrupted_and_resumed_trial_equals_an_uninterrupted_one_bit_for_bit(config, tmp_path):
    experiment = prepare(load_config(config, []))
    full = run_trial(experiment, observer=Recorder(tmp_path / "full"))
    assert full.status == "completed" and len(full.history["loss"]) == 7

    stopped = Recorder(tmp_path / "stopped", stop_after=3)  # stops in the first batch of epoch 4
    part = run_trial(experiment, observer=stopped, should_stop=stopped.should_stop)
    assert part.status == "interrupted" and "epoch 4" in part.stop_reason

    checkpoint = read_checkpoint(tmp_path / "stopped")
    assert checkpoint.epoch == 3
    early, plateau = checkpoint.meta["callbacks"]
    assert early["class_name"] == "EarlyStopping" and early["state"]["best_weights"] == {
        "arrays": 8
    }  # 2 Dense + BatchNormalization
    assert plateau["class_name"] == "ReduceLROnPlateau" and plateau["state"]["best"] is not None
    assert list(checkpoint.meta["rng"]["layers"]) == ["dropout"] and checkpoint.meta["rng"]["shuffle"]["state"]
    assert len(full.history["learning_rate"]) == 7 and len(set(full.history["learning_rate"])) > 1  # it reduced

    resumed = run_trial(experiment, observer=Recorder(tmp_path / "resumed"), resume=checkpoint)
    assert resumed.status == "completed"
    assert resumed.history == full.history
    assert resumed.learning_rates == full.learning_rates and len(resumed.epoch_times) == 7
    assert resumed.weights.keys() == full.weights.keys()
    for key, value in full.weights.items():
        np.testing.assert_array_equal(resumed.weights[key], value, err_msg=key)
    assert resumed.metrics["test"] == full.metrics["test"]


def test_checkpoint_files_are_npz_and_json_without_pickles(config, tmp_path):
    experiment = prepare(load_config(config, []))
    run_trial(experiment, observer=Recorder(tmp_path / "run"))
    meta = json.loads((tmp_path / "run" / CHECKPOINT_JSON).read_text())
    assert meta["epoch"] == 7 and len(meta["history"]["loss"]) == 7
    with np.load(tmp_path / "run" / CHECKPOINT_NPZ, allow_pickle=False) as npz:
        assert int(npz["epoch"]) == 7 and all(npz[k].dtype != object for k in npz.files)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def only_run(runs: Path) -> Path:
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder


def assert_same_run(a: Path, b: Path) -> None:
    ha, hb = json.loads((a / "history.json").read_text()), json.loads((b / "history.json").read_text())
    ha.pop("epoch_time"), hb.pop("epoch_time")
    assert ha == hb
    with np.load(a / "weights.npz") as wa, np.load(b / "weights.npz") as wb:
        assert wa.files == wb.files
        for key in wa.files:
            np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def test_cli_continues_a_finished_run_with_more_epochs(config, tmp_path):
    assert invoke("train", config, "--runs-dir", tmp_path / "a", "--set", "train.epochs=3", "-q").exit_code == 0
    run = only_run(tmp_path / "a")
    result = invoke("train", "--resume", run, "--set", "train.epochs=7", "-q")
    assert result.exit_code == 0, result.output
    assert only_run(tmp_path / "a") == run  # the same folder, continued
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "completed" and status["resumed_at_epoch"] == 3
    assert (
        "train.epochs=7" not in (run / "config.yaml").read_text() and "epochs: 7" in (run / "config.yaml").read_text()
    )
    assert "--- resumed after epoch 3 ---" in (run / "log.txt").read_text()

    assert invoke("train", config, "--runs-dir", tmp_path / "b", "-q").exit_code == 0
    assert_same_run(run, only_run(tmp_path / "b"))


def test_cli_refuses_what_it_cannot_continue(config, tmp_path):
    result = invoke("train", "--resume", tmp_path)
    assert result.exit_code == 2 and "not a run folder" in result.output

    old = tmp_path / "old-run"  # a run folder from before checkpoints (a copy: fixtures are never modified)
    shutil.copytree(FIXTURES / "20261130-175334-small-mlp-interrupted", old)
    result = invoke("train", "--resume", old)
    assert result.exit_code == 2 and "has no checkpoint" in result.output and "optimizer state" in result.output

    assert invoke("train", config, "--runs-dir", tmp_path / "runs", "--set", "train.epochs=2", "-q").exit_code == 0
    run = only_run(tmp_path / "runs")
    result = invoke("train", "--resume", run, "--set", "train.epochs=4", "--set", "train.batch_size=16")
    assert result.exit_code == 2 and "only train.epochs may change" in result.output
    assert "train.batch_size" in result.output
    result = invoke("train", "--resume", run)
    assert result.exit_code == 2 and "completed 2 epoch(s) and train.epochs is 2" in result.output
    result = invoke("train")
    assert result.exit_code == 2 and "Give the experiment's CONFIG" in result.output
    assert json.loads((run / "status.json").read_text())["status"] == "completed"  # refusals change nothing


@pytest.mark.slow
def test_ctrl_c_then_resume_equals_an_uninterrupted_run(config, tmp_path):
    long = tmp_path / "long.yaml"
    long.write_text(CONFIG.replace("n_samples: 400", "n_samples: 6000").replace("epochs: 7", "epochs: 12"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnrun", "train", str(long), "--runs-dir", str(tmp_path / "a")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # a real Ctrl-C once the second epoch has started
        if line.startswith("Epoch 3/12"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    run = only_run(tmp_path / "a")
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
    assert 2 <= read_checkpoint(run).epoch < 12

    result = invoke("train", "--resume", run, "-q")
    assert result.exit_code == 0, result.output
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    assert invoke("train", long, "--runs-dir", tmp_path / "b", "-q").exit_code == 0
    assert_same_run(run, only_run(tmp_path / "b"))
