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


# -- behaviour from Keras's own optimizer tests (optimizer_test.py, <name>_test.py) --------------------


def test_none_gradients_raise_like_keras():
    w = variables([[3.0, 4.0], [5.0, 6.0]], [[3.0, 4.0], [5.0, 6.0]])
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        optimizers.SGD(learning_rate=1.0).apply_gradients([(None, w[0])])
    np.testing.assert_array_equal(w[0].value, [[3, 4], [5, 6]])  # no NaN written
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['layer/v0'\]"):
        optimizers.SGD(learning_rate=1.0).apply_gradients([(None, w[0]), (np.ones((2, 2)), w[1])])
    np.testing.assert_array_equal(w[0].value, [[3, 4], [5, 6]])
    np.testing.assert_array_equal(w[1].value, [[2, 3], [4, 5]])


@pytest.mark.parametrize("name", ["Adadelta", "Adagrad", "Adam", "Adamax", "Nadam", "RMSprop", "SGD", "AdamW"])
def test_weight_decay_on_scalar_variables(name):
    # Keras's <name>_test.py test_weight_decay: 0-d variables, zero gradients, lr 1.0, wd 0.004
    var1, var2, var3 = (Variable(np.array(2.0, "float32"), n, n) for n in ("var1", "exclude", "var3"))
    zero = np.zeros((), "float32")
    cls = OPTIMIZERS.get(name)
    cls(learning_rate=1.0, weight_decay=0.004).apply_gradients(zip([zero], [var1]))
    opt2 = cls(learning_rate=1.0, weight_decay=0.004)
    opt2.exclude_from_weight_decay(var_names=["exclude"])
    opt2.apply_gradients(zip([zero, zero], [var1, var2]))
    opt3 = cls(learning_rate=1.0, weight_decay=0.004)
    opt3.exclude_from_weight_decay(var_list=[var3])
    opt3.apply_gradients(zip([zero, zero], [var1, var3]))
    assert var1.value.shape == ()
    assert float(var1.value) == pytest.approx(1.9760959, abs=1e-6)
    assert float(var2.value) == pytest.approx(2.0, abs=1e-6)
    assert float(var3.value) == pytest.approx(2.0, abs=1e-6)


def test_nadam_builds_with_no_variables_and_steps_like_keras():
    opt = optimizers.Nadam()
    opt.build([])
    assert opt.built and opt.variables[-1].dtype == np.float32  # u_product
    w = variables([1.0, 2.0, 3.0, 4.0])
    optimizers.Nadam(learning_rate=0.5).apply_gradients([(np.array([1.0, 6.0, 7.0, 2.0]), w[0])])
    np.testing.assert_allclose(w[0].value, [0.4686, 1.4686, 2.4686, 3.4686], rtol=1e-4, atol=1e-4)


def test_variables_before_and_after_build_in_keras_order():
    opt = optimizers.Adam(learning_rate=0.5)
    before = opt.variables
    assert len(before) == 2 and before[0] == 0 and before[1] == np.float32(0.5)
    w = variables([[1.0, 2.0]], [3.0])
    opt.apply_gradients(zip([np.ones((1, 2)), np.ones(1)], w))
    shapes = [v.shape for v in opt.variables]
    # iteration, learning_rate, then momentum/velocity interleaved per variable
    assert shapes == [(), (), (1, 2), (1, 2), (1,), (1,)]
    again = optimizers.Adam(learning_rate=0.5)
    again.build(variables([[0.0, 0.0]], [0.0]))
    again.set_weights(opt.variables)
    for a, b in zip(again.variables, opt.variables, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidArgumentError, match="not built yet"):
        optimizers.Adam().set_weights(opt.variables)


def test_optimizer_auto_naming_like_keras():
    a1, a2 = optimizers.Adam(), optimizers.Adam()
    assert a2.name == a1.name + "_1" if a1.name == "adam" else a2.name.startswith("adam_")
    assert optimizers.AdamW().name.startswith("adam_w")
    assert optimizers.Adam(name="my_adam").name == "my_adam"
    assert optimizers.Adam.from_config(a2.get_config()).name == a2.name
