"""Learning-rate schedules: the values Keras's own tests expect (learning_rate_schedule_test.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnrun.errors import InvalidArgumentError
from nnrun.layers import Dense
from nnrun.models import Sequential
from nnrun.optimizers import SGD, Adam, schedules


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.ExponentialDecay(0.05, 10, 0.96, staircase=True, name="my_ed"),
        schedules.PiecewiseConstantDecay(boundaries=[10, 20], values=[1, 2, 3], name="my_pcd"),
        schedules.InverseTimeDecay(0.05, 10, 0.96, staircase=True, name="my_itd"),
        schedules.CosineDecay(0.05, 10, alpha=0.1, warmup_target=0.2, warmup_steps=2, name="my_cd"),
    ],
)
def test_config_round_trip(schedule):
    again = type(schedule).from_config(schedule.get_config())
    assert again.get_config() == schedule.get_config()
    assert schedules.deserialize(schedules.serialize(schedule)).get_config() == schedule.get_config()
    for step in (0, 3, 15, 40):
        assert again(step) == schedule(step)


def test_exponential_decay():
    assert schedules.ExponentialDecay(0.05, 10, 0.96)(5) == pytest.approx(0.05 * 0.96 ** (5.0 / 10.0), rel=1e-6)
    staircase = schedules.ExponentialDecay(0.1, 3, 0.96, staircase=True)
    assert staircase(1) == pytest.approx(0.1, rel=1e-6)
    assert staircase(2) == pytest.approx(0.1, rel=1e-6)
    assert staircase(100) == pytest.approx(0.1 * 0.96 ** (100 // 3), rel=1e-6)
    assert isinstance(staircase(7), np.float32)


def test_piecewise_constant_decay():
    lr = schedules.PiecewiseConstantDecay([100, 110, 120], [1.0, 0.1, 0.01, 0.001])
    for step, expected in [(-999, 1.0), (100, 1.0), (105, 0.1), (110, 0.1), (120, 0.01), (999, 0.001)]:
        assert lr(step) == pytest.approx(expected, rel=1e-6), step
    lr = schedules.PiecewiseConstantDecay([1, 2, 3], [0.4, 0.5, 0.6, 0.7])
    assert [float(lr(np.int64(s))) for s in range(5)] == pytest.approx([0.4, 0.4, 0.5, 0.6, 0.7])
    with pytest.raises(InvalidArgumentError, match=r"boundaries must be one shorter than values.*length 2"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 2.0])


def test_inverse_time_decay():
    lr = schedules.InverseTimeDecay(0.1, 10, 0.96)
    stair = schedules.InverseTimeDecay(0.1, 10, 0.96, staircase=True)
    for i in range(11):
        assert lr(i) == pytest.approx(0.1 / (1 + i / 10 * 0.96), rel=1e-6)
        assert stair(i) == pytest.approx(0.1 / (1 + 0.96 * (i // 10)), rel=1e-6)


def np_cosine_decay(step, decay_steps, alpha=0.0):
    step = min(step, decay_steps)
    decay = 0.5 * (1.0 + math.cos(math.pi * step / decay_steps))
    return (1.0 - alpha) * decay + alpha


def test_cosine_decay_with_alpha_and_warmup():
    for step in range(0, 1500, 250):
        assert schedules.CosineDecay(1.0, 1000)(step) == pytest.approx(np_cosine_decay(step, 1000), abs=1e-6)
        assert schedules.CosineDecay(1.0, 1000, 0.1)(step) == pytest.approx(np_cosine_decay(step, 1000, 0.1), abs=1e-6)
        warm = schedules.CosineDecay(0.0, 10, warmup_target=10.0, warmup_steps=1500)
        assert warm(step) == pytest.approx(step / 1500 * 10.0, rel=1e-6)
    for step in range(0, 3000, 250):
        lr = schedules.CosineDecay(0.0, 1000, warmup_target=10.0, warmup_steps=2000)
        expected = step / 2000 * 10.0 if step < 2001 else 10.0 * np_cosine_decay(step - 2000, 1000)
        assert lr(step) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    with pytest.raises(InvalidArgumentError, match=r"decay_steps must be > 0\. Received: decay_steps=0"):
        schedules.CosineDecay(0.1, 0)


def test_fit_with_exponential_decay_matches_keras():
    # Keras's TestFitLRSchedulesFlow.test_fit_lr_correctness
    model = Sequential([Dense(2, kernel_initializer="ones", bias_initializer="ones")])
    optimizer = Adam(
        learning_rate=schedules.ExponentialDecay(initial_learning_rate=0.05, decay_steps=1, decay_rate=0.9)
    )
    assert len(optimizer.variables) == 1 and optimizer.variables[0] == 0
    model.compile(optimizer=optimizer, loss="mse")
    x = np.arange(32).reshape((16, 2))
    history = model.fit(x, x, epochs=3, batch_size=4, shuffle=False, verbose=0)
    assert optimizer.variables[0] == 4 * 3
    np.testing.assert_allclose(
        history.history["loss"], [230.79457092285156, 128.30319213867188, 79.33648681640625], rtol=5e-5
    )
    # learning_rate reads the schedule at the current step
    assert optimizer.learning_rate == pytest.approx(0.05 * 0.9**12, rel=1e-6)


def test_scheduled_learning_rate_is_not_settable_and_serializes():
    opt = SGD(learning_rate=schedules.InverseTimeDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="created with a LearningRateSchedule"):
        opt.learning_rate = 0.1
    config = opt.get_config()
    assert config["learning_rate"]["class_name"] == "InverseTimeDecay"
    again = SGD.from_config(config)
    assert again.learning_rate == opt.learning_rate


def test_callable_learning_rate():
    # Keras's test_callable_learning_rate
    from nnrun.engine.variable import Variable

    v = Variable(np.array([[1.0, 2.0], [3.0, 4.0]], "float32"), "v", "v")
    opt = SGD(learning_rate=lambda: 0.1)
    opt.apply_gradients([(np.ones((2, 2), "float32"), v)])
    np.testing.assert_allclose(v.value, [[0.9, 1.9], [2.9, 3.9]], rtol=1e-6)
    assert opt.iterations == 1
