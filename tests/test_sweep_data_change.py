"""A sweep resumed after its data file changed does not mix trials trained on different data."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from nnrun.cli import app

CONFIG = """\
name: csv-sweep
seed: 1
data: {path: data.csv, label_column: label}
model:
  layers:
    - dense: 4
    - dense: {units: 2, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
  epochs: 1
  validation_split: 0.25
sweep:
  parameters:
    train.batch_size: [8, 16]
"""


def write_csv(path, rows: int) -> None:
    rng = np.random.default_rng(rows)
    x = rng.normal(size=(rows, 2))
    lines = ["a,b,label"] + [f"{a:.4f},{b:.4f},{int(a + b > 0)}" for a, b in x]
    path.write_text("\n".join(lines) + "\n")


def test_resuming_on_changed_data_stops_unless_allowed(tmp_path):
    (tmp_path / "sweep.yaml").write_text(CONFIG)
    data = tmp_path / "data.csv"
    write_csv(data, 80)
    runner = CliRunner()
    args = ["sweep", str(tmp_path / "sweep.yaml"), "--runs-dir", str(tmp_path / "runs"), "--executor", "serial", "-q"]
    assert runner.invoke(app, args).exit_code == 0
    (folder,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    (recorded,) = manifest["data"].values()
    assert recorded["files"][0]["name"] == "data.csv" and len(recorded["files"][0]["sha256"]) == 64

    write_csv(data, 120)  # rows added
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"the data changed since the sweep in {folder} started: {data}: data.csv changed size:" in result.output
    assert "--allow-data-change" in result.output and "--new" in result.output
    result = runner.invoke(app, ["sweep", "--resume", str(folder), "-q", "--executor", "serial"])
    assert result.exit_code == 2 and "the data changed since" in result.output

    result = runner.invoke(app, [*args, "--allow-data-change"])
    assert result.exit_code == 0, result.output
    assert "warning: resuming" in result.output and "on changed data (--allow-data-change)" in result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert next(iter(manifest["data"].values()))["files"][0]["size"] == data.stat().st_size
    assert runner.invoke(app, args).exit_code == 0  # the new data is now the sweep's
