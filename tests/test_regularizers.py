"""Regularizers (Keras's keras/src/regularizers/regularizers_test.py is the reference): values, gradients, names,
config, and their penalties in Dense layers and in training (the loss Keras reports, and its gradient)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gradcheck import assert_grad_close, numeric_vjp

from nnrun import regularizers
from nnrun.errors import InvalidArgumentError
from nnrun.layers import Dense, Input
from nnrun.models import Sequential


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


# -- values, as Keras's tests compute them ----------------------------------------------------------------


def test_values_as_keras(rng):
    x = rng.normal(size=(3, 4)).astype("float32")
    assert regularizers.L1(0.1)(x) == pytest.approx(0.1 * np.abs(x).sum(), rel=1e-6)
    assert regularizers.L2(0.1)(x) == pytest.approx(0.1 * np.square(x).sum(), rel=1e-6)
    assert regularizers.L1L2(l1=0.1, l2=0.2)(x) == pytest.approx(
        0.1 * np.abs(x).sum() + 0.2 * np.square(x).sum(), rel=1e-6
    )
    assert regularizers.L1L2()(x) == 0.0
    assert regularizers.L2()(x).dtype == np.float32
    # OrthogonalRegularizer (Keras: factor · ½ Σ_{i≠j} |n_i·n_j| / (k(k−1)/2) over unit rows)
    inputs = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, -1.0]], "float32")
    n = inputs / np.linalg.norm(inputs, axis=1, keepdims=True)
    expected = 0.1 * 0.5 * np.abs((n @ n.T) * (1 - np.eye(4))).sum() / 6
    assert regularizers.OrthogonalRegularizer(factor=0.1)(inputs) == pytest.approx(expected, rel=1e-6)
    nc = inputs / np.linalg.norm(inputs, axis=0, keepdims=True)
    expected_columns = 0.1 * 0.5 * np.abs((nc.T @ nc) * (1 - np.eye(2))).sum() / 1
    assert regularizers.OrthogonalRegularizer(0.1, mode="columns")(inputs) == pytest.approx(expected_columns, rel=1e-6)


@pytest.mark.parametrize(
    "reg",
    [
        regularizers.L1(0.3),
        regularizers.L2(0.2),
        regularizers.L1L2(l1=0.1, l2=0.4),
        regularizers.OrthogonalRegularizer(factor=0.7),
        regularizers.OrthogonalRegularizer(factor=0.7, mode="columns"),
    ],
    ids=lambda r: repr(r),
)
def test_gradient(reg, rng):
    x = rng.normal(size=(4, 3))
    x[np.abs(x) < 0.05] = 0.3  # away from the kink of |x| at 0
    g = reg.grad(x.copy())
    assert g.shape == x.shape
    assert_grad_close(g, numeric_vjp(lambda: np.array([reg(x)]), x, np.ones(1)), f"{reg!r}")


def test_l1_gradient_at_zero_is_plus_l1_as_in_keras():
    # JAX (so Keras) differentiates |x| at 0 as +1: a zero weight under L1 is pushed down by l1·lr
    np.testing.assert_array_equal(regularizers.L1(0.5).grad(np.array([0.0, -0.0, 2.0, -1.0])), [0.5, 0.5, 0.5, -0.5])


# -- names, get, config ----------------------------------------------------------------------------------


def test_get_follows_keras():
    assert regularizers.get(None) is None
    assert isinstance(regularizers.get("l1l2"), regularizers.L1L2)
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    assert isinstance(regularizers.get("l1"), regularizers.L1) and regularizers.get("l1").l1 == 0.01
    assert isinstance(regularizers.get("L2"), regularizers.L2)
    assert isinstance(regularizers.get("orthogonal_regularizer"), regularizers.OrthogonalRegularizer)
    reg = regularizers.L2(0.5)
    assert regularizers.get(reg) is reg
    assert regularizers.l2 is regularizers.L2 and regularizers.l1_l2(l1=0.1).l1 == 0.1
    with pytest.raises(ValueError, match=r"Unknown regularizer: regularizer='typo'"):
        regularizers.get("typo")
    with pytest.raises(InvalidArgumentError, match=r"kernel_regularizer must be a regularizer name"):
        Dense(2, kernel_regularizer=lambda w: 0.0)


@pytest.mark.parametrize(
    "reg",
    [regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(l1=0.1, l2=0.2),
     regularizers.OrthogonalRegularizer(0.5, "columns")],
    ids=lambda r: type(r).__name__,
)
def test_config_round_trip(reg):
    config = regularizers.serialize(reg)
    assert json.loads(json.dumps(config)) == config
    again = regularizers.deserialize(config)
    assert type(again) is type(reg) and again.get_config() == reg.get_config()
    assert type(reg).from_config(reg.get_config()).get_config() == reg.get_config()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: regularizers.L1(-0.1), r"Invalid value for argument l1: expected a non-negative float\. Received: l1=-0\.1"),
        (lambda: regularizers.L2(float("nan")), r"argument l2"),
        (lambda: regularizers.L1L2(l2="x"), r"Received: l2='x'"),
        (lambda: regularizers.OrthogonalRegularizer(mode="diagonal"), r"Received: mode='diagonal'"),
    ],
)
def test_invalid_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_orthogonal_regularizer_needs_a_matrix():
    with pytest.raises(ValueError, match=r"must have rank 2\. Received: shape \(3,\)"):
        regularizers.OrthogonalRegularizer()(np.ones(3))


# -- in Dense and in training ----------------------------------------------------------------------------


def test_dense_losses_and_config():
    layer = Dense(2, kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.5), activity_regularizer="l1")
    assert layer.losses == []  # not built, not called
    x = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")
    y = layer(x)
    kernel, bias = layer.get_weights()
    losses = layer.losses
    assert len(losses) == 3
    assert losses[0] == pytest.approx(0.01 * np.square(kernel).sum(), rel=1e-6)
    assert losses[1] == pytest.approx(0.5 * np.abs(bias).sum(), rel=1e-6)
    assert losses[2] == pytest.approx(0.01 * np.abs(y).sum() / 2, rel=1e-6)  # divided by the batch size
    config = layer.get_config()
    assert config["kernel_regularizer"] == {"class_name": "L2", "config": {"l2": 0.01}}
    assert config["bias_regularizer"] == {"class_name": "L1", "config": {"l1": 0.5}}
    json.dumps(config)
    again = Dense.from_config({**config, "name": "again"})
    assert isinstance(again.activity_regularizer, regularizers.L1)
    assert Dense(2).get_config()["kernel_regularizer"] is None
    frozen = Dense(2, kernel_regularizer="l2", trainable=False)
    frozen(x)
    assert frozen.losses == []  # Keras regularizes trainable weights only


def _regularized_model():
    return Sequential([
        Input((3,)),
        Dense(4, activation="tanh", kernel_regularizer=regularizers.L1L2(l1=0.05, l2=0.1),
              bias_regularizer=regularizers.L1(0.2), activity_regularizer=regularizers.L2(0.3)),
        Dense(2, activation="softmax", kernel_regularizer=regularizers.OrthogonalRegularizer(0.5),
              activity_regularizer=regularizers.L1L2(l1=0.1, l2=0.2)),  # on a fused softmax output
    ])


@pytest.mark.usefixtures("float64")
def test_gradient_through_a_regularized_model(rng):
    model = _regularized_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    for v in model.weights:
        v.value[...] = rng.normal(size=v.shape)
    n = 5
    x = rng.normal(size=(n, 3))
    y = np.eye(2)[rng.integers(0, 2, n)]
    assert model._fused  # the activity penalty must also flow through the fused softmax gradient
    model._ensure_flat()
    p = model._run_forward([x], True)
    t = model._prepare_targets(y, (None, *p.shape[1:]))
    model._run_backward(model.loss.grad_logits(t.loss, p, 1.0 / n))
    grads = [v.grad.copy() for v in model.trainable_weights]

    def total_loss():
        values = model.loss.call(t.loss, model._run_forward([x], True))
        return np.array([values.sum() / n + sum(model.losses)])

    for v, g in zip(model.trainable_weights, grads):
        assert_grad_close(g, numeric_vjp(total_loss, v.value, np.ones(1)), f"regularized model: {v.path}")


def test_fit_and_evaluate_report_the_loss_with_the_penalties(rng):
    model = _regularized_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = rng.normal(size=(8, 3)).astype("float32")
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, 8)]
    plain = float(model.loss(y, model.predict(x, verbose=0)))
    evaluated = model.evaluate(x, y, batch_size=8, verbose=0)
    assert len(model.losses) == 5
    assert evaluated == pytest.approx(plain + float(sum(model.losses)), rel=1e-5)
    assert evaluated > plain
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
    assert history.history["loss"][-1] < history.history["loss"][0]
