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
