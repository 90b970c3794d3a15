"""A run can end `completed` at chance accuracy (lr=10): the results say so, in the terminal and in
metrics.json, and `nnrun runs` marks it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nnrun.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_lr_10_is_flagged_at_chance(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", str(ROOT / "configs" / "learning_rate.yaml"), "--runs-dir", str(runs), "-q"]
    result = CliRunner().invoke(app, [*args, "--set", "train.optimizer.learning_rate=10", "--set", "train.epochs=2"])
    assert result.exit_code == 0, result.output
    assert "warning: val_accuracy 0.1" in result.output and "is no better than chance for 10 classes" in result.output
    (folder,) = runs.iterdir()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "completed" and "no better than chance" in metrics["at_chance"]
    listing = CliRunner().invoke(app, ["runs", str(runs)])
    assert "completed (chance)" in listing.output


def test_a_run_that_learns_is_not_flagged(tmp_path):
    runs = tmp_path / "runs"
    args = ["train", str(ROOT / "configs" / "learning_rate.yaml"), "--runs-dir", str(runs), "-q"]
    result = CliRunner().invoke(app, [*args, "--set", "train.optimizer.learning_rate=0.5", "--set", "train.epochs=2"])
    assert result.exit_code == 0, result.output
    assert "chance" not in result.output
    (folder,) = runs.iterdir()
    assert "at_chance" not in json.loads((folder / "metrics.json").read_text())


def test_the_results_show_the_test_set_class_by_class(tmp_path):
    config = tmp_path / "blobs.yaml"
    config.write_text(
        "name: blobs\ndata: {dataset: blobs, n_samples: 300, test_split: 0.2}\nmodel:\n  layers:\n"
        "    - dense: 8\n    - dense: {units: 3, activation: softmax}\ntrain:\n"
        "  loss: sparse_categorical_crossentropy\n  epochs: 2\n"
    )
    result = CliRunner().invoke(app, ["train", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "Test set, per class (per_class.csv, confusion_matrix.png)" in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("│ ")]
    assert [line.split("│")[1].strip() for line in lines if "macro avg" in line or line.split("│")[1].strip() in "012"][-4:] == [
        "0", "1", "2", "macro avg"
    ]  # fmt: skip
    (folder,) = (tmp_path / "runs").iterdir()
    assert (folder / "per_class.csv").read_text().count("\n") == 4  # header + 3 classes
