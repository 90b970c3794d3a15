"""What `nnrun check` calls valid, `nnrun train` trains: every check that needs the data runs in both, and a
config error never writes a run folder."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nnrun.cli import app

BASE = """\
name: {name}
data: {{dataset: blobs, n_samples: 200, n_classes: {classes}}}
model:
  layers:
    - dense: 8
    - dense: {{units: {units}, activation: {activation}}}
train:
  loss: {loss}
  epochs: 1
"""

CASES = {
    # a softmax classifier with integer labels, trained with mse (the README's `--set train.loss=mse`)
    "mse-on-labels": dict(classes=3, units=3, activation="softmax", loss="mse"),
    # a 10-unit sigmoid output with binary cross-entropy on 10 classes
    "bce-on-ten-classes": dict(classes=10, units=10, activation="sigmoid", loss="binary_crossentropy"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_and_train_refuse_alike_and_write_nothing(tmp_path, case):
    config = tmp_path / "c.yaml"
    config.write_text(BASE.format(name=case, **CASES[case]))
    runner = CliRunner()
    check = runner.invoke(app, ["check", str(config)])
    train = runner.invoke(app, ["train", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert check.exit_code == train.exit_code == 2, (check.output, train.output)
    expected = "train.loss (line 8): the targets do not fit the output layer (model.layers.1.dense) with this loss: "
    assert expected in check.output and expected in train.output
    assert "y has shape (200,), which does not match the model's output shape" in check.output
    assert not (tmp_path / "runs").exists()


def test_a_config_that_fits_still_passes(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(BASE.format(name="ok", classes=3, units=3, activation="softmax", loss="sparse_categorical_crossentropy"))
    assert CliRunner().invoke(app, ["check", str(config)]).exit_code == 0
