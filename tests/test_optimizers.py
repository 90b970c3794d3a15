"""Optimizer defaults, argument handling and update rules (keras-semantics.md §1)."""

from __future__ import annotations

import numpy as np
import pytest

from nnrun import optimizers
from nnrun.engine.optimizers import OPTIMIZERS
from nnrun.engine.variable import Variable
from nnrun.errors import InvalidArgumentError

DEFAULTS = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "Adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}


def variables(*values):
    return [Variable(np.array(v, "float32"), f"v{i}", f"layer/v{i}") for i, v in enumerate(values)]


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_keras_defaults_and_case_insensitive_names(name):
    for spelling in (name, name.lower(), name.upper()):
        opt = optimizers.get(spelling)
        assert type(opt).__name__ == name
    config = optimizers.get(name).get_config()
    for key, value in DEFAULTS[name].items():
        assert config[key] == pytest.approx(value, rel=1e-7), key
    # the learning rate is stored as a float32, as in Keras
    assert isinstance(optimizers.get(name).learning_rate, np.float32)


def test_every_registered_optimizer_has_its_defaults_checked():
    assert set(OPTIMIZERS.names()) == set(DEFAULTS)


def test_lr_is_accepted_as_the_keras_2_alias_of_learning_rate():
    assert optimizers.SGD(lr=0.0001).learning_rate == np.float32(0.0001)
    assert optimizers.Adam(lr=0.5).get_config()["learning_rate"] == pytest.approx(0.5)


def test_decay_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="argument 'decay' is no longer supported and is ignored"):
        optimizers.SGD(decay=0.1)


def test_get_config_rebuilds_the_optimizer():
    opt = optimizers.RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5, centered=True, clipnorm=2.0)
    again = optimizers.RMSprop.from_config(opt.get_config())
    assert again.get_config() == opt.get_config()


def test_weight_decay_and_clipping_examples_from_keras():
    # §1.3 "Verified": w = [1, 2], [3] and g = [3, 4], [12]
    w = variables([1, 2], [3])
    optimizers.SGD(learning_rate=0.1, weight_decay=0.5).apply_gradients(zip([[3, 4], [12]], w, strict=True))
    np.testing.assert_allclose(w[0].value, [0.65, 1.5], rtol=1e-6)
    np.testing.assert_allclose(w[1].value, [1.65], rtol=1e-6)

    w = variables([1, 2], [3])
    optimizers.SGD(learning_rate=1.0, clipnorm=1).apply_gradients(zip([[3, 4], [12]], w, strict=True))
    np.testing.assert_allclose(w[0].value, [1 - 0.6, 2 - 0.8], rtol=1e-6)
    np.testing.assert_allclose(w[1].value, [3 - 1.0], rtol=1e-6)

    w = variables([1, 2], [3])
    optimizers.SGD(learning_rate=1.0, global_clipnorm=1).apply_gradients(zip([[3, 4], [12]], w, strict=True))
    np.testing.assert_allclose(w[0].value, [1 - 3 / 13, 2 - 4 / 13], rtol=1e-6)
    np.testing.assert_allclose(w[1].value, [3 - 12 / 13], rtol=1e-6)

    w = variables([1, 2], [3])
    optimizers.SGD(learning_rate=1.0, clipvalue=3.5).apply_gradients(zip([[3, 4], [12]], w, strict=True))
    np.testing.assert_allclose(w[0].value, [-2, -1.5], rtol=1e-6)
    np.testing.assert_allclose(w[1].value, [-0.5], rtol=1e-6)


def expected_first_step(name: str, g: np.ndarray, w: np.ndarray, lr: float = 0.001) -> np.ndarray:
    """The first update of each Adam-family optimizer, from its formula in float64."""
    if name == "Adam":  # ε is added to sqrt(v) of the uncorrected v
        return lr * g / (np.abs(g) + 1e-7 / np.sqrt(1 - 0.999))
    if name == "Adamax":
        return lr * g / (np.abs(g) + 1e-7)
    if name == "AdamW":
        return w * 0.004 * lr + lr * g / (np.abs(g) + 1e-7 / np.sqrt(1 - 0.999))
    u1, u2 = 0.9 * (1 - 0.5 * 0.96), 0.9 * (1 - 0.5 * 0.96**2)
    m_hat = u2 * 0.1 * g / (1 - u1 * u2) + (1 - u1) * g / (1 - u1)
    return lr * m_hat / (np.abs(g) + 1e-7)


@pytest.mark.parametrize("name", ["Adam", "Adamax", "Nadam", "AdamW"])
def test_adam_family_first_step(name):
    # Adam's first step moves each weight by about learning_rate, whatever the gradient's size.
    w0 = np.array([1.0, -2.0, 3.0])
    g = np.array([0.5, -7.0, 1e-3])
    w = variables(w0)
    optimizers.get(name).apply_gradients([(g, w[0])])
    # to float32 resolution of the weights (2.4e-7 at |w| = 2)
    np.testing.assert_allclose(w[0].value, w0 - expected_first_step(name, g, w0), rtol=0, atol=2.5e-7)
    if name == "Adam":
        np.testing.assert_allclose(w0 - w[0].value, [0.001, -0.001, 0.001], rtol=4e-3)


def test_sgd_momentum_and_nesterov_by_hand():
    w = variables([1.0])
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    for _ in range(2):
        opt.apply_gradients([(np.array([1.0], "float32"), w[0])])
    # v1 = -0.1, w1 = 0.9; v2 = -0.09 - 0.1 = -0.19, w2 = 0.71
    assert w[0].value[0] == pytest.approx(0.71, rel=1e-6)
    w = variables([1.0])
    opt = optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    opt.apply_gradients([(np.array([1.0], "float32"), w[0])])
    # v1 = -0.1; w ← w + μ·v − lr·g = 1 - 0.09 - 0.1
    assert w[0].value[0] == pytest.approx(0.81, rel=1e-6)


def test_adagrad_accumulator_starts_at_initial_value():
    w = variables([0.0])
    optimizers.Adagrad(learning_rate=1.0).apply_gradients([(np.array([1.0], "float32"), w[0])])
    assert w[0].value[0] == pytest.approx(-1 / np.sqrt(1.1 + 1e-7), rel=1e-6)


def test_amsgrad_keeps_the_maximum_velocity():
    w = variables([0.0])
    opt = optimizers.Adam(learning_rate=0.1, amsgrad=True)
    opt.apply_gradients([(np.array([10.0], "float32"), w[0])])
    opt.apply_gradients([(np.array([0.0], "float32"), w[0])])
    _, _, _, v, v_hat = opt.variables  # iteration, learning_rate, momentum, velocity, velocity_hat
    assert v[0] == pytest.approx(0.999 * 0.001 * 100, rel=1e-5)
    assert v_hat[0] == pytest.approx(0.001 * 100, rel=1e-5)


def test_exclude_from_weight_decay_by_name():
    w = variables([1.0], [1.0])
    opt = optimizers.SGD(learning_rate=1.0, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["v1"])
    opt.apply_gradients(zip([[0.0], [0.0]], w, strict=True))
    assert w[0].value[0] == pytest.approx(0.5) and w[1].value[0] == 1.0


def test_optimizer_variables_and_count():
    w = variables(np.zeros((3, 4)), np.zeros(4))
    opt = optimizers.Adam()
    opt.apply_gradients(zip([np.ones((3, 4)), np.ones(4)], w, strict=True))
    assert opt.iterations == 1
    assert opt.count_params() == 2 + 2 * 16
    assert optimizers.Nadam().__class__.__name__ == "Nadam"


def test_adamw_requires_a_weight_decay():
    with pytest.raises(InvalidArgumentError, match=r"AdamW needs a weight_decay"):
        optimizers.AdamW(weight_decay=None)


def test_learning_rate_can_be_changed_between_steps():
    opt = optimizers.SGD(learning_rate=0.1)
    opt.learning_rate = 0.5
    assert opt.learning_rate == np.float32(0.5)
    with pytest.raises(InvalidArgumentError, match=r"learning_rate must be a number >= 0\. Received: learning_rate='fast'"):
        opt.learning_rate = "fast"
