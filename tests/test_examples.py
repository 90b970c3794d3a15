"""The example programs run as a user would run them (with few epochs: ``NNRUN_EXAMPLE_EPOCHS``)."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_example(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epochs: int = 2) -> dict:
    """Run ``examples/<name>`` in ``tmp_path`` (where it writes its files) and return its globals."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NNRUN_EXAMPLE_EPOCHS", str(epochs))
    return runpy.run_path(str(EXAMPLES / name), run_name="__main__")


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


def test_mnist_mlp_trains_saves_a_keras_file_and_wraps_a_softmax(tmp_path, monkeypatch, capsys):
    ns = run_example("mnist_mlp.py", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert (tmp_path / "mnist_mlp.keras").is_file()
    assert "The saved model predicts the same." in out
    assert sorted(ns["history"].history) == ["accuracy", "loss", "top3", "val_accuracy", "val_loss", "val_top3"]
    assert ns["score"][1] > 0.5  # two epochs on 4,000 digits already reach well above chance (0.1)
    probabilities = ns["probability_model"](ns["x_test"][:3])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_pima_diabetes_prints_keras_3_metrics_names(tmp_path, monkeypatch, capsys):
    ns = run_example("pima_diabetes.py", tmp_path, monkeypatch)
    assert "['loss', 'compile_metrics']" in capsys.readouterr().out
    assert len(ns["scores"]) == 4 and 0 <= ns["scores"][1] <= 1


def test_imbalanced_classification_checkpoints_each_epoch_as_a_keras_file(tmp_path, monkeypatch):
    ns = run_example("imbalanced_classification.py", tmp_path, monkeypatch)
    assert sorted(p.name for p in tmp_path.glob("*.keras")) == [
        "fraud_model_at_epoch_1.keras",
        "fraud_model_at_epoch_2.keras",
    ]
    history = ns["history"].history
    assert {"fn", "fp", "tn", "tp", "precision", "recall", "val_recall"} <= set(history)
    n_train = len(ns["train_targets"])
    assert history["fn"][-1] + history["fp"][-1] + history["tn"][-1] + history["tp"][-1] == n_train


def test_housing_regression_runs_k_fold_with_callbacks_and_regularizers(tmp_path, monkeypatch):
    ns = run_example("housing_regression.py", tmp_path, monkeypatch)
    assert len(ns["all_scores"]) == 4
    for i in range(4):
        lines = (tmp_path / f"fold_{i}.csv").read_text().splitlines()
        assert lines[0] == "epoch,learning_rate,loss,mae,val_loss,val_mae"  # Keras's CSVLogger: sorted keys
        assert len(lines) == 3  # header + 2 epochs
    assert np.isfinite(ns["test_mae_score"])


def test_functional_api_with_dict_inputs_residuals_and_keras_2_batch_hooks(tmp_path, monkeypatch):
    ns = run_example("functional_api.py", tmp_path, monkeypatch)
    assert len(ns["loss_history"].per_batch_losses) == 2 * 16  # 1,024 training rows in batches of 64, 2 epochs
    assert len(ns["epoch_ends"]) == 2
    assert (tmp_path / "ticket_router.weights.h5").is_file()
    assert not (tmp_path / "backup").exists()  # BackupAndRestore deletes its backup when training ends
