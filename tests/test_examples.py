"""The example scripts run as a user would run them."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def test_keras_notebook_runs_unchanged_and_prints_keras_parameter_counts(capsys):
    namespace = runpy.run_path(str(EXAMPLES / "keras_notebook.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("Total params: 9 (36.00 B)") == 2  # model1 and the functional model
    assert "Total params: 20 (80.00 B)" in out  # nn: (3·3 + 3) + (3·2 + 2)
    history = namespace["history"].history
    assert list(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history["accuracy"]) == 5
    # SGD(lr=0.0001) barely moves the weights: the loss decreases, slowly.
    assert history["loss"][-1] < history["loss"][0]
    assert namespace["net"].count_params() == 784 * 32 + 32 + 32 * 10 + 10
