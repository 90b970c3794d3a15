"""With restore_best_weights a run keeps an earlier epoch's weights: results describe those weights (and say
which epoch), and a sweep ranks trials by them, not by the last epoch."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.engine.callbacks import EarlyStopping
from nnrun.results import rank, trial_row
from nnrun.trial import kept_weights

HISTORY = {"loss": [0.9, 0.5, 0.7, 0.8], "val_loss": [1.0, 0.4, 0.6, 0.9], "learning_rate": [0.1] * 4}


def test_the_restored_epoch_is_the_kept_one():
    stop = EarlyStopping(restore_best_weights=True)
    stop.best_epoch, stop.best_weights = 1, [object()]
    assert kept_weights(HISTORY, [stop]) == {"weights_epoch": 2, "kept": {"loss": 0.5, "val_loss": 0.4}}
    assert kept_weights(HISTORY, [EarlyStopping()]) == {"weights_epoch": 4, "kept": {"loss": 0.8, "val_loss": 0.9}}
    assert kept_weights({"loss": []}, []) == {}


def test_a_sweep_ranks_by_what_the_kept_weights_achieved():
    restored = {"final": {"val_loss": 0.9}, "kept": {"val_loss": 0.4}, "weights_epoch": 2}
    last = {"final": {"val_loss": 0.5}, "weights_epoch": 4}
    rows = [
        trial_row("0001", {"lr": 1}, 0, 1, "completed", folder="a", metrics=restored),
        trial_row("0002", {"lr": 2}, 0, 1, "completed", folder="b", metrics=last),
    ]
    assert rows[0].to_json()["final_val_loss"] == 0.4 and rows[0].to_json()["weights_epoch"] == 2
    assert [p.params["lr"] for p in rank([r.to_json() for r in rows], "final_val_loss", "min", ["lr"])] == [1, 2]


SWEEP = """\
name: es
seed: 2
data: {dataset: blobs, n_samples: 300}
model:
  layers:
    - dense: 16
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: sgd, learning_rate: 5.0}
  metrics: [accuracy]
  epochs: 25
  validation_split: 0.3
  callbacks:
    early_stopping: {monitor: val_loss, patience: 2, restore_best_weights: true}
sweep:
  parameters:
    seed: [1, 2, 3]
"""


def test_summary_rows_describe_the_saved_weights(tmp_path):
    (tmp_path / "es.yaml").write_text(SWEEP)
    args = ["sweep", str(tmp_path / "es.yaml"), "--runs-dir", str(tmp_path / "runs"), "--executor", "serial", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    rows = json.loads((folder / "summary.json").read_text())
    for row in rows:
        trial = folder / row["folder"]
        history = json.loads((trial / "history.json").read_text())
        metrics = json.loads((trial / "metrics.json").read_text())
        epoch = row["weights_epoch"]
        assert epoch == metrics["weights_epoch"] == metrics["best"]["val_loss"]["epoch"]
        assert row["final_val_loss"] == history["val_loss"][epoch - 1] == metrics["kept"]["val_loss"]
    assert any(r["weights_epoch"] < r["epochs_run"] for r in rows), "no trial restored an earlier epoch"
