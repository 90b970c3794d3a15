"""Loss and metric values against Keras's rules, and the fused training paths against the plain ones."""

from __future__ import annotations

import numpy as np
import pytest

from nnrun import losses
from nnrun.engine import losses as engine_losses
from nnrun.engine import metrics


@pytest.mark.parametrize("name", ["binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_fused_value_and_grad_equals_value_plus_grad_logits_including_saturated_outputs(name):
    rng = np.random.default_rng(0)
    loss = engine_losses.get(name)
    if name == "binary_crossentropy":
        p = np.array([[0.3], [1e-9], [1.0], [0.9999999], [0.5]], "float32")  # two outside [ε, 1−ε]
        y = np.array([1, 0, 1, 0, 1], "float32").reshape(-1, 1)
    else:
        logits = rng.normal(size=(6, 4)) * 3
        logits[0, 2] = 40  # saturates
        p = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype("float32")
        labels = np.array([2, 0, 1, 3, 2, 1])
        y = labels if name.startswith("sparse") else np.eye(4, dtype="float32")[labels]
    y = loss.prepare_targets(np.asarray(y), p.shape, p.dtype)
    values, grad = loss.value_and_grad(y, p, 1.0 / len(p), fused=True)
    np.testing.assert_array_equal(values, loss.call(y, p))
    np.testing.assert_array_equal(grad, loss.grad_logits(y, p, 1.0 / len(p)))
    if name == "binary_crossentropy":
        assert grad[1, 0] == 0 and grad[2, 0] == 0  # the clip blocks the gradient
        assert values[2] == pytest.approx(1.1920929e-7, rel=1e-3)  # −log(1 − ε) at p = 1


def test_accuracy_resolution_follows_shapes_not_the_loss():
    # keras-semantics.md §5
    assert type(metrics.get("accuracy", (8, 1), (8, 1))).__name__ == "BinaryAccuracy"
    assert type(metrics.get("accuracy", (8,), (8, 1))).__name__ == "BinaryAccuracy"
    assert type(metrics.get("acc", (8,), (8, 3))).__name__ == "SparseCategoricalAccuracy"
    assert type(metrics.get("Accuracy", (8, 1), (8, 3))).__name__ == "SparseCategoricalAccuracy"
    assert type(metrics.get("accuracy", (8, 3), (8, 3))).__name__ == "CategoricalAccuracy"
    assert metrics.get("acc", (8,), (8, 3)).name == "acc"


def test_binary_accuracy_is_strict_at_the_threshold_and_averages_over_samples():
    m = metrics.BinaryAccuracy()
    m.update_state(np.array([[0], [1], [1]], "float32"), np.array([[0.5], [0.5], [0.51]], "float32"))
    m.update_state(np.array([[1]], "float32"), np.array([[0.9]], "float32"))
    assert m.result() == pytest.approx(3 / 4)  # 0.5 predicts class 0; correct / N over both batches


def test_sparse_and_categorical_accuracy_take_the_first_index_on_ties():
    p = np.array([[0.4, 0.4, 0.2], [0.1, 0.2, 0.7]], "float32")
    sparse, categorical = metrics.SparseCategoricalAccuracy(), metrics.CategoricalAccuracy()
    sparse.update_state(np.array([0, 2]), p)
    categorical.update_state(np.eye(3, dtype="float32")[[1, 2]], p)
    assert sparse.result() == 1.0 and categorical.result() == 0.5


def test_weighted_mean_metric_and_reset():
    m = metrics.MeanSquaredError()
    m.update_state(np.array([[1.0], [0.0]], "float32"), np.array([[0.0], [0.0]], "float32"), sample_weight=[3, 1])
    assert m.result() == pytest.approx(3 / 4)
    m.reset_state()
    assert m.result() == 0


def test_reductions_and_loss_aliases():
    y, p = np.array([[1.0], [0.0]], "float32"), np.array([[0.8], [0.4]], "float32")
    per_sample = losses.binary_crossentropy(y, p)
    assert per_sample.shape == (2,)
    assert losses.BinaryCrossentropy(reduction="sum")(y, p) == pytest.approx(per_sample.sum(), rel=1e-6)
    assert engine_losses.get("bce")(y, p) == pytest.approx(per_sample.mean(), rel=1e-6)
    assert engine_losses.get("mae")(y, p) == pytest.approx(0.3, rel=1e-6)
    assert engine_losses.get("mse")(y, p) == pytest.approx((0.04 + 0.16) / 2, rel=1e-6)
    # the public get follows Keras: a function name gives the function (per-sample values)
    np.testing.assert_allclose(losses.get("bce")(y, p), per_sample, rtol=1e-6)
