"""The command line, driven through typer's CliRunner (and a few real processes); effects are checked by
reading the run folders back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnrun import __version__
from nnrun.cli import app
from nnrun.config import config_json_schema, load_config
from nnrun.config.build import build_model
from nnrun.experiment import prepare
from nnrun.runs.store import create_run_folder

ROOT = Path(__file__).parent.parent
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
runner = CliRunner()

SMALL = """\
name: small
seed: 3
data: {dataset: blobs, n_samples: 300, test_split: 0.2}
model:
  hidden: {activation: tanh}
  layers:
    - dense: 16
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.01}
  epochs: 4
  batch_size: 32
  validation_split: 0.2
"""


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


def only_run(runs: Path) -> Path:
    folders = [p for p in runs.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def test_every_command_has_help():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("train", "check", "schema"):
        assert command in result.output
        sub = invoke(command, "--help")
        assert sub.exit_code == 0 and "Usage: nnrun " + command in sub.output


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"nnrun {__version__}"


def test_train_writes_a_complete_run_folder(small, tmp_path):
    runs = tmp_path / "runs"
    result = invoke("train", small, "--runs-dir", runs)
    assert result.exit_code == 0, result.output
    run = only_run(runs)
    assert run.name.endswith("-small") and run.name[:8].isdigit()
    assert f"Run folder: {run}" in result.output
    assert "\x1b[" not in result.output  # plain text when not a terminal

    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "completed" and status["stop_reason"] == "completed 4 of 4 epochs"
    history = json.loads((run / "history.json").read_text())
    assert list(history) == ["accuracy", "loss", "val_accuracy", "val_loss", "epoch_time", "learning_rate"]
    assert all(len(v) == 4 for v in history.values())
    assert history["learning_rate"] == [pytest.approx(0.01)] * 4
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs_run"] == 4 and metrics["seed"] == 3
    assert metrics["final"]["val_loss"] == history["val_loss"][-1]
    assert metrics["best"]["val_loss"]["value"] == min(history["val_loss"])
    assert set(metrics["test"]) == {"loss", "accuracy"}
    assert metrics["data"] == {"source": metrics["data"]["source"], "train": 192, "validation": 48, "test": 60}
    assert set(metrics["versions"]) == {"nnrun", "numpy", "python"}
    assert "Total params: 99" in (run / "summary.txt").read_text()
    for plot in ("loss.png", "accuracy.png"):
        assert (run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    log = (run / "log.txt").read_text()
    assert "Epoch 4/4" in log and "val_accuracy" in log and "completed: completed 4 of 4 epochs" in log

    # the saved config is the resolved one, and the weights load into the model it describes
    saved = load_config(run / "config.yaml")
    assert saved.train.optimizer.beta_1 == 0.9 and saved.model.layers[0].dense.activation == "tanh"
    experiment = prepare(saved)
    model = build_model(experiment.config, (2,))
    model.load_weights(run / "weights.npz")
    assert not any(p.name.startswith(".") for p in run.iterdir()), "temporary files left behind"


def test_the_saved_config_repeats_the_run_exactly(small, tmp_path):
    assert invoke("train", small, "--runs-dir", tmp_path / "a").exit_code == 0
    first = only_run(tmp_path / "a")
    assert invoke("train", first / "config.yaml", "--runs-dir", tmp_path / "b").exit_code == 0
    second = only_run(tmp_path / "b")
    h1, h2 = (json.loads((r / "history.json").read_text()) for r in (first, second))
    h1.pop("epoch_time"), h2.pop("epoch_time")
    assert h1 == h2
    assert (first / "config.yaml").read_text() == (second / "config.yaml").read_text()
    w1, w2 = np.load(first / "weights.npz"), np.load(second / "weights.npz")
    assert all(np.array_equal(w1[k], w2[k]) for k in w1.files)


def test_set_name_and_seed_options(small, tmp_path):
    result = invoke(
        "train",
        small,
        "--runs-dir",
        tmp_path,
        "--set",
        "train.epochs=2",
        "--set",
        "model.layers.0.dense.units=5",
        "--name",
        "renamed",
        "--seed",
        "9",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    run = only_run(tmp_path)
    assert run.name.endswith("-renamed")
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert (config["name"], config["seed"], config["train"]["epochs"]) == ("renamed", 9, 2)
    assert config["model"]["layers"][0]["dense"]["units"] == 5
    assert "Epoch 1/2" not in result.output and "Run folder:" in result.output


def test_runs_dir_from_the_environment(small, tmp_path):
    result = invoke("train", small, "--set", "train.epochs=1", env={"NNRUN_RUNS_DIR": str(tmp_path / "env-runs")})
    assert result.exit_code == 0, result.output
    assert only_run(tmp_path / "env-runs").name.endswith("-small-epochs=1")


def test_config_error_exits_2_with_every_problem_and_creates_no_folder(small, tmp_path):
    small.write_text(SMALL.replace("epochs: 4", "epochs: 4\n  learnig_rate: 0.1").replace("tanh", "tahn"))
    result = invoke("train", small, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert "2 problems" in result.output
    assert "model.hidden.activation (line 5): unknown activation 'tahn'" in result.output
    assert "train.learnig_rate (line 13): unknown key." in result.output
    assert "Did you mean 'optimizer.learning_rate'?" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_cross_key_error_and_data_error_exit_2(small, tmp_path):
    small.write_text(SMALL.replace("units: 3", "units: 4"))
    result = invoke("train", small, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert "model.layers.1.dense.units (line 8): the output layer has 4 units, but blobs has 3 classes" in result.output
    small.write_text(SMALL.replace("{dataset: blobs, n_samples: 300, test_split: 0.2}", "{path: nowhere.npz}"))
    result = invoke("train", small, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "nowhere.npz" in result.output
    assert not (tmp_path / "runs").exists()


def test_missing_config_file_and_bad_option(tmp_path):
    result = invoke("train", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "the config file does not exist" in result.output
    result = invoke("train", tmp_path / "nope.yaml", "--epochs", "3")
    assert result.exit_code == 2 and "No such option" in result.output


def test_debug_shows_the_traceback(small, tmp_path):
    small.write_text(SMALL.replace("tanh", "tahn"))
    result = invoke("train", small, "--debug")
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "ConfigError"


def test_a_diverging_run_is_recorded_and_exits_1(tmp_path):
    config = tmp_path / "diverge.yaml"
    config.write_text("""\
name: diverge
data: {dataset: regression, n_samples: 200}
model:
  layers: [{dense: 16}, {dense: 1}]
train:
  loss: mse
  optimizer: {name: sgd, learning_rate: 1000000.0}
  epochs: 5
  validation_split: 0.2
""")
    result = invoke("train", config, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 1
    assert "diverged: the loss became" in result.output and "try a smaller learning rate" in result.output
    run = only_run(tmp_path / "runs")
    assert json.loads((run / "status.json").read_text())["status"] == "diverged"
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss"]) == 1 and history["loss"][0] is None  # NaN is written as null
    assert (run / "loss.png").exists() and (run / "mae.png").exists()


def test_check_validates_and_shows_the_resolved_config_without_training(small, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("check", small)
    assert result.exit_code == 0, result.output
    assert "valid. Resolved config" in result.output
    resolved = yaml.safe_load(result.output.split("):\n", 1)[1].split('Model: "small"')[0])
    assert resolved["train"]["optimizer"]["beta_2"] == 0.999
    assert 'Model: "small"' in result.output and "Total params: 99" in result.output
    assert not (tmp_path / "runs").exists()
    bad = invoke("check", small, "--set", "train.batch_size=0")
    assert bad.exit_code == 2 and "train.batch_size: must be greater than 0. Received: 0 (from --set)" in bad.output


def test_schema_prints_the_json_schema(tmp_path):
    result = invoke("schema")
    assert result.exit_code == 0
    assert json.loads(result.output) == config_json_schema()
    assert invoke("schema", "--out", tmp_path / "s.json").exit_code == 0
    assert json.loads((tmp_path / "s.json").read_text()) == config_json_schema()


def test_two_runs_in_the_same_second_get_different_folders(tmp_path):
    when = time.time()
    a = create_run_folder(tmp_path, "same", when)
    b = create_run_folder(tmp_path, "same", when)
    assert a.path != b.path and b.path.name == a.path.name + "-2"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_configs_train(path, tmp_path):
    result = invoke("train", path, "--runs-dir", tmp_path, "--set", "train.epochs=2", "--set", "data.limit=400", "-q")
    assert result.exit_code == 0, result.output
    run = only_run(tmp_path)
    assert json.loads((run / "status.json").read_text())["status"] == "completed"
    assert len(json.loads((run / "history.json").read_text())["loss"]) == 2


def nnrun_command() -> list[str]:
    installed = shutil.which("nnrun", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-m", "nnrun"]


def test_installed_command_runs_in_a_real_process(small, tmp_path):
    proc = subprocess.run(
        [*nnrun_command(), "train", str(small), "--runs-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Epoch 4/4" in proc.stdout and "\x1b[" not in proc.stdout
    assert json.loads((only_run(tmp_path) / "status.json").read_text())["status"] == "completed"


@pytest.mark.slow
def test_ctrl_c_stops_after_the_batch_and_leaves_a_complete_folder(tmp_path):
    config = tmp_path / "long.yaml"
    config.write_text(SMALL.replace("epochs: 4", "epochs: 2000").replace("n_samples: 300", "n_samples: 3000"))
    proc = subprocess.Popen(
        [*nnrun_command(), "train", str(config), "--runs-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in proc.stdout:  # wait for the first finished epoch
        if line.startswith("Epoch 1/2000"):
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: stopped by Ctrl-C during epoch" in err
    run = only_run(tmp_path / "runs")
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted"
    history = json.loads((run / "history.json").read_text())
    assert 1 <= len(history["loss"]) < 2000
    for name in ("config.yaml", "metrics.json", "summary.txt", "weights.npz", "loss.png", "accuracy.png", "log.txt"):
        assert (run / name).exists(), name
