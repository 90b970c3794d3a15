"""Runs made with --set say what they are: their folder name, the overrides and the command in
status.json, and the config as the user wrote it (user_config.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.runs.naming import default_run_name, override_label

SMALL = """\
name: optimizers
seed: 3
data: {dataset: blobs, n_samples: 200}
model:
  layers:
    - dense: 8
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: rmsprop
  epochs: 1
"""


def train(tmp_path: Path, *args: str) -> Path:
    config = tmp_path / "optimizers.yaml"
    config.write_text(SMALL)
    runs = tmp_path / "runs"
    before = set(runs.iterdir()) if runs.exists() else set()
    result = CliRunner().invoke(app, ["train", str(config), "--runs-dir", str(runs), "-q", *args])
    assert result.exit_code == 0, result.output
    (folder,) = set(runs.iterdir()) - before
    return folder


def test_the_readme_walk_through_names_each_run_after_its_optimizer(tmp_path):
    names = {}
    for optimizer in ("adam", "sgd", "adagrad"):
        folder = train(tmp_path, "--set", f"train.optimizer.name={optimizer}")
        assert folder.name.endswith(f"-optimizers-optimizer.name={optimizer}")
        names[optimizer] = yaml.safe_load((folder / "config.yaml").read_text())["name"]
        status = json.loads((folder / "status.json").read_text())
        assert status["overrides"] == [f"train.optimizer.name={optimizer}"]
        assert status["command"][0] == "nnrun"  # the rest is sys.argv: see the subprocess test below
        user = yaml.safe_load((folder / "user_config.yaml").read_text())
        assert user["train"]["optimizer"] == {"name": optimizer}  # the user's words, no resolved defaults
    assert names == {o: f"optimizers-optimizer.name={o}" for o in ("adam", "sgd", "adagrad")}


def test_a_learning_rate_override_is_in_the_name_and_name_wins(tmp_path):
    folder = train(tmp_path, "--set", "train.optimizer.learning_rate=1.0", "--seed", "5")
    assert folder.name.endswith("-optimizers-optimizer.learning_rate=1.0,seed=5")
    folder = train(tmp_path, "--set", "train.optimizer.learning_rate=1.0", "--name", "lr-one")
    assert folder.name.endswith("-lr-one")
    assert json.loads((folder / "status.json").read_text())["overrides"] == [
        "train.optimizer.learning_rate=1.0",
        'name="lr-one"',
    ]


def test_without_overrides_the_name_is_the_configs(tmp_path):
    assert train(tmp_path).name.endswith("-optimizers")


def test_labels_drop_the_section_and_are_bounded():
    assert override_label(["model.hidden.activation=relu", "data.limit=500", "seed=1"]) == (
        "hidden.activation=relu,limit=500,seed=1"
    )
    assert override_label(["train=x"]) == "train=x"
    long = default_run_name("n", [f"train.k{i}=value" for i in range(20)])
    assert len(long) == 100 and long.startswith("n-k0=value,k1=value") and long.endswith("…")


def test_a_long_override_still_gives_a_config_that_loads(tmp_path):
    """The run's config.yaml must repeat the run: its name stays within the schema's 100 characters."""
    folder = train(tmp_path, *[a for i in range(12) for a in ("--set", f"train.optimizer.learning_rate=0.{i:03d}1")])
    assert CliRunner().invoke(app, ["check", str(folder / "config.yaml")]).exit_code == 0


def test_the_command_is_recorded_as_typed(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "optimizers.yaml"
    config.write_text(SMALL)
    args = ["train", str(config), "--runs-dir", str(tmp_path / "runs"), "--set", "train.optimizer.name=adam", "-q"]
    subprocess.run([sys.executable, "-m", "nnrun", *args], check=True, capture_output=True, timeout=120)
    (folder,) = (tmp_path / "runs").iterdir()
    assert json.loads((folder / "status.json").read_text())["command"] == ["nnrun", *args]


def test_a_searched_floats_trial_folder_is_named_by_four_significant_digits():
    from nnrun.runs.layout import trial_folder_label

    searched = {"model.hidden.activation": "tanh", "train.optimizer.learning_rate": 0.5394669285817165}
    assert trial_folder_label("0028", searched, 0, 1) == "0028-activation=tanh-learning_rate=0.5395"
    listed = {"train.optimizer.learning_rate": 1e-07, "x": 0.03, "y": True, "z": 100000.0, "w": 0.0012345}
    assert trial_folder_label("0003", listed, 1, 2) == "0003-learning_rate=1e-07-x=0.03-y=True-z=100000.0-w=0.0012345-r1"
