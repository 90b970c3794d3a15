"""The losses added for Keras parity (issue 10): float64 central-difference gradient checks for each, the
values Keras's own tests (keras/src/losses/losses_test.py) expect, and Keras's rules for sample weights,
ranks, dtypes, shapes and ``losses.get``.

``NEW_LOSS_CASES`` is also read by tests/test_gradients.py, whose registry-coverage test requires a gradient
case for every registered loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from gradcheck import assert_grad_close, numeric_vjp

from nnrun import losses
from nnrun.engine import losses as engine_losses
from nnrun.errors import InvalidArgumentError

F64 = np.float64
N, C = 5, 3


@dataclass(frozen=True)
class NewLossCase:
    id: str
    make: Callable[[], engine_losses.Loss]
    data: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]  # (y_true, y_pred)


def _signed(rng, lo, hi, shape=(N, C)):
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def _simplex(rng):
    e = np.exp(rng.normal(size=(N, C)))
    return e / e.sum(axis=1, keepdims=True)


def _hinge_data(signs: bool):
    def data(rng):
        y = rng.integers(0, 2, (N, C)).astype(F64)
        s = 2 * y - 1
        margin = _signed(rng, 0.1, 1.0)  # 1 − s·p, away from the kink at 0
        return (s if signs else y), s * (1 - margin)

    return data


def _categorical_hinge_data(rng):
    while True:  # away from the kinks: a zero margin, or a tie for the largest wrong-class score
        y = np.eye(C)[rng.integers(0, C, N)]
        p = rng.normal(size=(N, C))
        q = np.sort((1 - y) * p, axis=1)
        margin = q[:, -1] - (y * p).sum(axis=1) + 1
        if np.all(np.abs(margin) > 0.05) and np.all(q[:, -1] - q[:, -2] > 0.05) and np.any(margin > 0):
            return y, p


def _mape_data(rng):
    y = _signed(rng, 0.5, 2.0)
    return y, y + _signed(rng, 0.1, 1.0)  # p − y away from the kink at 0


NEW_LOSS_CASES = [
    NewLossCase("mape", lambda: losses.MeanAbsolutePercentageError(), _mape_data),
    NewLossCase(
        "msle",
        lambda: losses.MeanSquaredLogarithmicError(),
        lambda r: (r.uniform(0, 3, (N, C)), r.uniform(0.1, 3, (N, C))),
    ),
    NewLossCase("log_cosh", lambda: losses.LogCosh(), lambda r: (r.normal(size=(N, C)), 2 * r.normal(size=(N, C)))),
    NewLossCase("hinge-01-targets", lambda: losses.Hinge(), _hinge_data(signs=False)),
    NewLossCase("hinge-sign-targets", lambda: losses.Hinge(), _hinge_data(signs=True)),
    NewLossCase("squared_hinge", lambda: losses.SquaredHinge(), _hinge_data(signs=False)),
    NewLossCase("categorical_hinge", lambda: losses.CategoricalHinge(), _categorical_hinge_data),
    NewLossCase("kl_divergence", lambda: losses.KLDivergence(), lambda r: (_simplex(r), _simplex(r))),
    NewLossCase(
        "poisson",
        lambda: losses.Poisson(),
        lambda r: (r.integers(0, 4, (N, C)).astype(F64), r.uniform(0.2, 3, (N, C))),
    ),
    NewLossCase(
        "cosine_similarity",
        lambda: losses.CosineSimilarity(),
        lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C))),
    ),
]


def _scale(kind: str, rng: np.random.Generator) -> tuple[Any, np.ndarray]:
    if kind == "scalar":
        return 0.37, np.full(N, 0.37)
    w = rng.uniform(0.2, 2.0, N)
    w[1] = 0.0
    return w[:, None], w


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240612)


@pytest.mark.parametrize("scale_kind", ["scalar", "sample-weights"])
@pytest.mark.parametrize("case", NEW_LOSS_CASES, ids=lambda c: c.id)
def test_new_loss_gradient(case, scale_kind, rng):
    loss = case.make()
    y, p = case.data(rng)
    t = loss.prepare_targets(np.asarray(y), p.shape, F64)
    scale, w = _scale(scale_kind, rng)
    g = loss.grad(t, p.copy(), scale)
    numeric = numeric_vjp(lambda: loss.call(t, p), p, w)
    assert g.shape == p.shape
    assert_grad_close(g, numeric, f"{case.id} dL/dp")


def test_every_new_loss_has_a_case():
    new = {"MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "LogCosh", "Hinge", "SquaredHinge",
           "CategoricalHinge", "KLDivergence", "Poisson", "CosineSimilarity"}
    assert {type(c.make()).__name__ for c in NEW_LOSS_CASES} == new


def test_cosine_similarity_gradient_of_a_tiny_prediction_vector(rng):
    # ‖p‖ < ε: Keras normalises by ε instead (x · min(1/‖x‖, 1/ε)), so the loss is linear in p there
    loss = losses.CosineSimilarity()
    y = rng.normal(size=(2, 3))
    p = np.array([[1e-8, -2e-8, 3e-8], [0.3, -1.0, 2.0]])
    g = loss.grad(y, p, 1.0)
    np.testing.assert_allclose(g[0], -y[0] / np.linalg.norm(y[0]) / 1e-7, rtol=1e-6)
    values = loss.call(y, p)
    assert values[0] == pytest.approx(-np.dot(y[0] / np.linalg.norm(y[0]), p[0] / 1e-7), rel=1e-6)


# -- values from Keras's own tests (keras/src/losses/losses_test.py) and docstrings ---------------------


def test_mape_values_as_keras():
    assert losses.MeanAbsolutePercentageError()([100.0, 200.0, 300.0], [90.0, 210.0, 310.0]) == pytest.approx(
        6.111111, rel=1e-6
    )
    y = np.array([[1, 9, 2], [-5, -2, 6]], "float32")
    p = np.array([[4, 8, 12], [8, 1, 3]], "float32")
    assert losses.MeanAbsolutePercentageError()(y, p) == pytest.approx(211.8518, rel=1e-5)
    assert losses.MeanAbsolutePercentageError()(y, p, sample_weight=2.3) == pytest.approx(487.259, rel=1e-5)
    assert losses.MeanAbsolutePercentageError()(y, p, sample_weight=[1.2, 3.4]) == pytest.approx(422.8888, rel=1e-5)
    np.testing.assert_allclose(
        losses.MeanAbsolutePercentageError(reduction=None)(y, p, sample_weight=2.3),
        [621.8518, 352.6666],
        rtol=1e-5,
    )


def test_msle_values_as_keras():
    y = np.array([[1, 9, 2], [-5, -2, 6]], "float32")
    p = np.array([[4, 8, 12], [8, 1, 3]], "float32")
    assert losses.MeanSquaredLogarithmicError()(y, p) == pytest.approx(1.4370, rel=1e-4)
    assert losses.MeanSquaredLogarithmicError()(y, p, sample_weight=2.3) == pytest.approx(3.3051, rel=1e-4)
    assert losses.MeanSquaredLogarithmicError()(y, p, sample_weight=[1.2, 3.4]) == pytest.approx(3.7856, rel=1e-4)


def test_cosine_similarity_values_as_keras():
    np.testing.assert_allclose(
        losses.cosine_similarity([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]),
        [-0.0, -0.99999994, 0.99999994],
        rtol=1e-6,
    )
    y = np.array([[1, 9, 2], [-5, -2, 6]], "float32")
    p = np.array([[4, 8, 12], [8, 1, 3]], "float32")
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    pn = p / np.linalg.norm(p, axis=1, keepdims=True)
    expected = -np.mean(np.sum(yn * pn, axis=1))
    assert losses.CosineSimilarity()(y, p) == pytest.approx(expected, rel=1e-6)
    assert losses.CosineSimilarity(axis=1)(y, p) == pytest.approx(expected, rel=1e-6)
    assert losses.CosineSimilarity().get_config()["axis"] == -1


def test_log_cosh_values_as_keras():
    # the docstring's 0.108 is the mean of these per-sample values
    np.testing.assert_allclose(losses.log_cosh([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]), [0.2168904, 0.0],
                               rtol=1e-6)
    y = np.array([[1, 9, 2], [-5, -2, 6]], "float32")
    p = np.array([[4, 8, 12], [8, 1, 3]], "float32")
    x = p - y
    expected = np.mean(np.log((np.exp(x) + np.exp(-x)) / 2))
    assert losses.LogCosh()(y, p) == pytest.approx(expected, rel=1e-5)
    assert losses.LogCosh()(y, p, sample_weight=2.3) == pytest.approx(expected * 2.3, rel=1e-5)


def test_hinge_values_as_keras():
    y = np.array([[0.0, 1.0], [0.0, 0.0]])
    p = np.array([[0.6, 0.4], [0.4, 0.6]])
    assert losses.Hinge()(y, p) == pytest.approx(1.3, rel=1e-6)
    assert losses.Hinge()(y, p, sample_weight=2.3) == pytest.approx(2.99, rel=1e-6)
    assert losses.Hinge()(y, p, sample_weight=[1.2, 3.4]) == pytest.approx(3.21, rel=1e-6)
    np.testing.assert_allclose(losses.hinge(y, p), [1.1, 1.5], rtol=1e-6)
    assert losses.SquaredHinge()(y, p) == pytest.approx(1.86, rel=1e-6)
    assert losses.SquaredHinge()(y, p, sample_weight=[1.2, 3.4]) == pytest.approx(4.718, rel=1e-6)
    # targets that are not all 0/1 are used as given
    assert losses.Hinge()(np.array([[-1.0, 1.0]]), np.array([[0.5, 0.5]])) == pytest.approx(1.0, rel=1e-6)


def test_categorical_hinge_values_as_keras():
    y = np.array([[0, 1], [1, 0]], "float32")
    p = np.array([[0.6, 0.4], [0.4, 0.6]], "float32")
    assert losses.CategoricalHinge()(y, p) == pytest.approx(1.2, rel=1e-6)
    assert losses.CategoricalHinge()(y, p, sample_weight=2.3) == pytest.approx(2.76, rel=1e-6)
    assert losses.CategoricalHinge()(y, p, sample_weight=[1.2, 3.4]) == pytest.approx(2.76, rel=1e-6)


def test_kl_divergence_and_poisson_values_as_keras():
    y = np.array([[0.5, 0.8, 0.12], [0.7, 0.43, 0.8]], "float32")
    p = np.array([[0.4, 0.9, 0.12], [0.36, 0.3, 0.4]], "float32")
    per_sample = np.sum(y * np.log(y / p), axis=1)
    assert losses.KLDivergence()(y, p) == pytest.approx(per_sample.mean(), rel=1e-5)
    assert losses.KLDivergence()(y, p, sample_weight=[1.2, 3.4]) == pytest.approx(
        (per_sample * [1.2, 3.4]).mean(), rel=1e-5
    )
    y = np.array([[1, 9, 2], [-5, -2, 6]], "float32")
    p = np.array([[4, 8, 12], [8, 1, 3]], "float32")
    expected = np.mean(p - y * np.log(p + 1e-7), axis=1)
    np.testing.assert_allclose(losses.poisson(y, p), expected, rtol=1e-5)
    assert losses.Poisson()(y, p) == pytest.approx(expected.mean(), rel=1e-5)


# -- Keras's rules: sample weights, ranks, dtypes, shapes ---------------------------------------------


def test_scalar_sample_weight_scales_the_loss():
    y, p = np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]])
    plain = losses.MeanSquaredError()(y, p)
    assert losses.MeanSquaredError()(y, p, sample_weight=2.5) == pytest.approx(2.5 * plain, rel=1e-6)
    assert losses.BinaryCrossentropy()(y, p, sample_weight=0.5) == pytest.approx(
        0.5 * losses.BinaryCrossentropy()(y, p), rel=1e-6
    )


def test_per_timestep_sample_weights():
    # y, p: (batch 2, timesteps 3, features 2); values (2, 3); one weight per timestep
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3, 2))
    w = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 0.0]])
    values = np.mean((y - p) ** 2, axis=-1)
    assert losses.MeanSquaredError()(y, p, sample_weight=w) == pytest.approx((values * w).sum() / 6, rel=1e-6)
    assert losses.MeanSquaredError(reduction="sum")(y, p, sample_weight=w) == pytest.approx((values * w).sum(),
                                                                                            rel=1e-6)
    mean_w = losses.MeanSquaredError(reduction="mean_with_sample_weight")(y, p, sample_weight=w)
    assert mean_w == pytest.approx((values * w).sum() / w.sum(), rel=1e-6)
    # (n, 1) sample weights with (n,) values, as Keras's rank rule squeezes them
    assert losses.MeanSquaredError()(y[:, 0], p[:, 0], sample_weight=[[2.0], [1.0]]) == pytest.approx(
        (np.mean((y[:, 0] - p[:, 0]) ** 2, axis=-1) * [2, 1]).mean(), rel=1e-6
    )


def test_sample_weight_that_does_not_broadcast_is_refused():
    with pytest.raises(InvalidArgumentError, match=r"sample_weight of shape \(3,\) does not broadcast"):
        losses.MeanSquaredError()(np.zeros((2, 4)), np.ones((2, 4)), sample_weight=[1.0, 2.0, 3.0])


def test_sparse_categorical_crossentropy_on_rank_3_predictions():
    # keras losses_test: y_true (2, 2) class ids, y_pred (2, 2, 3) probabilities
    y = np.array([[0, 1], [2, 0]])
    p = np.array([[[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]], [[0.2, 0.2, 0.6], [0.5, 0.25, 0.25]]], "float32")
    expected = -np.log([[0.7, 0.8], [0.6, 0.5]])
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy(y, p), expected, rtol=1e-6)
    assert losses.SparseCategoricalCrossentropy()(y, p) == pytest.approx(expected.mean(), rel=1e-6)
    assert losses.SparseCategoricalCrossentropy()(y[..., None], p) == pytest.approx(expected.mean(), rel=1e-6)
    logits = np.log(p)
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits) == pytest.approx(expected.mean(),
                                                                                              rel=1e-6)
    w = np.array([[1.0, 0.0], [2.0, 1.0]])
    assert losses.SparseCategoricalCrossentropy()(y, p, sample_weight=w) == pytest.approx(
        (expected * w).sum() / 4, rel=1e-6
    )


def test_sparse_categorical_crossentropy_rank_3_gradients(rng):
    loss = losses.SparseCategoricalCrossentropy()
    y = rng.integers(0, 3, (2, 4))
    p = rng.uniform(0.1, 1.0, (2, 4, 3))
    g = loss.grad(y, p.copy(), 0.7)
    assert_grad_close(g, numeric_vjp(lambda: loss.call(y, p), p, np.full((2, 4), 0.7)), "scce rank-3 dL/dp")
    z = rng.normal(size=(2, 4, 3))
    sm = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    values, gz = loss.value_and_grad(y, sm, np.array([[0.5], [2.0]]), fused=True)
    w = np.array([[0.5] * 4, [2.0] * 4])
    numeric = numeric_vjp(lambda: loss.call(y, np.exp(z) / np.exp(z).sum(-1, keepdims=True)), z, w)
    assert values.shape == (2, 4)
    assert_grad_close(gz, numeric, "scce rank-3 dL/dz")


@pytest.mark.parametrize("name", sorted(engine_losses.FUNCTIONS))
def test_float64_inputs_give_float32_losses(name):
    loss = engine_losses.LOSSES.get(name)()
    rng = np.random.default_rng(1)
    if loss.sparse:
        y = np.array([0, 2, 1])
    else:
        y = np.eye(3)[[0, 2, 1]]
    p = rng.uniform(0.1, 0.9, (3, 3))
    assert loss(y, p).dtype == np.float32
    assert engine_losses.FUNCTIONS[name](y, p).dtype == np.float32


@pytest.mark.parametrize("cls", [losses.BinaryCrossentropy, losses.CategoricalCrossentropy])
def test_crossentropy_with_mismatched_shapes_raises(cls):
    y, p = np.zeros((3, 1)), np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"y_true and y_pred must have the same shape\. Received: "
                                         r"y_true\.shape=\(3, 1\), y_pred\.shape=\(3, 3\)"):
        cls()(y, p)
    # (n,) labels for an (n, 1) output are fine (Keras's rank rule)
    assert np.isfinite(losses.BinaryCrossentropy()(np.array([0.0, 1.0]), np.array([[0.3], [0.6]])))


def test_sparse_crossentropy_with_mismatched_shapes_raises():
    with pytest.raises(ValueError, match=r"one class index per prediction, shape \(3,\)"):
        losses.SparseCategoricalCrossentropy()(np.zeros((3, 2)), np.full((3, 4), 0.25))


# -- losses.get, serialize, names -------------------------------------------------------------------


def test_get_follows_keras():
    assert losses.get(None) is None
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MSE") is losses.mean_squared_error
    assert losses.get("mean_squared_error") is losses.mean_squared_error
    assert losses.get("kld") is losses.kl_divergence
    assert losses.get("log_cosh") is losses.log_cosh
    assert isinstance(losses.get("MeanSquaredError"), losses.MeanSquaredError)
    assert isinstance(losses.get("CategoricalHinge"), losses.CategoricalHinge)
    instance = losses.Huber(delta=0.5)
    assert losses.get(instance) is instance
    assert losses.get(losses.hinge) is losses.hinge
    restored = losses.get({"class_name": "CosineSimilarity", "config": {"axis": 1}})
    assert isinstance(restored, losses.CosineSimilarity) and restored.axis == 1
    with pytest.raises(ValueError, match=r"Unknown loss: loss='typo'"):
        losses.get("typo")


@pytest.mark.parametrize(
    ("name", "cls", "default_name"),
    [
        ("mape", "MeanAbsolutePercentageError", "mean_absolute_percentage_error"),
        ("msle", "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error"),
        ("hinge", "Hinge", "hinge"),
        ("squared_hinge", "SquaredHinge", "squared_hinge"),
        ("categorical_hinge", "CategoricalHinge", "categorical_hinge"),
        ("logcosh", "LogCosh", "log_cosh"),
        ("kullback_leibler_divergence", "KLDivergence", "kl_divergence"),
        ("poisson", "Poisson", "poisson"),
        ("cosine_similarity", "CosineSimilarity", "cosine_similarity"),
    ],
)
def test_names_aliases_and_config_round_trip(name, cls, default_name):
    loss = engine_losses.get(name)
    assert type(loss).__name__ == cls and loss.name == default_name
    config = engine_losses.serialize(loss)
    again = engine_losses.deserialize(config)
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    fn = losses.get(name)
    assert fn.loss_class is type(loss) and engine_losses.serialize(fn) == fn.__name__
    assert engine_losses.deserialize(fn.__name__) is fn


def test_compile_accepts_loss_functions_and_refuses_foreign_callables():
    assert isinstance(engine_losses.get(losses.binary_crossentropy), losses.BinaryCrossentropy)
    with pytest.raises(InvalidArgumentError, match=r"nnrun trains only with its own losses"):
        engine_losses.get(lambda y, p: (y - p) ** 2)


def test_hinge_trains_a_linear_classifier():
    from nnrun.layers import Dense, Input
    from nnrun.models import Sequential

    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, :1] + x[:, 1:] > 0).astype("float32")
    model = Sequential([Input(shape=(2,)), Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer="sgd", loss="hinge")
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, shuffle=False)
    assert history.history["loss"][-1] < history.history["loss"][0] < 1.0 + 1e-6
    assert math.isfinite(model.evaluate(x, y, verbose=0))
