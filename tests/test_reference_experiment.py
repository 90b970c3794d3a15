"""The reference experiment of keras-semantics.md §9, reproduced for every optimizer (rtol 1e-5).

The expected numbers were produced by Keras 3.15.1 on JAX (see tests/golden/README.md).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_golden, reference_data, reference_weights

from nnrun.callbacks import Callback
from nnrun.layers import Dense, Input
from nnrun.models import Sequential
from nnrun.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, Nadam, RMSprop

GOLDEN = load_golden("reference_s9.json")

OPTIMIZERS = {
    "SGD(learning_rate=0.1, momentum=0.9, nesterov=True)": lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    "RMSprop()": RMSprop,
    "Adagrad()": Adagrad,
    "Adadelta(learning_rate=1.0)": lambda: Adadelta(learning_rate=1.0),
    "Adam()": Adam,
    "Adamax()": Adamax,
    "Nadam()": Nadam,
}


class Recorder(Callback):
    """Weights and running-mean logs after every optimizer step."""

    def __init__(self):
        super().__init__()
        self.weights, self.losses = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())
        self.losses.append(logs["loss"])


def reference_model(optimizer) -> Sequential:
    model = Sequential([Input(shape=(3,)), Dense(4, activation="relu"), Dense(1, activation="sigmoid")])
    model.set_weights(reference_weights())
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_every_reference_optimizer_is_covered():
    assert set(OPTIMIZERS) == set(GOLDEN["runs"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_reference_trajectory(name):
    expected = GOLDEN["runs"][name]
    x, y = reference_data()
    model = reference_model(OPTIMIZERS[name]())
    recorder = Recorder()
    history = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[recorder])

    assert list(history.history) == ["accuracy", "loss"]
    np.testing.assert_allclose(history.history["loss"], expected["history_loss"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(history.history["accuracy"], expected["history_accuracy"], rtol=1e-5)
    np.testing.assert_allclose(recorder.losses, expected["batch_log_loss"], rtol=1e-5, atol=1e-7)
    for got, want in zip(recorder.weights[2], expected["weights_step3"], strict=True):
        np.testing.assert_allclose(got.ravel(), want, rtol=1e-5, atol=1e-7)
    for got, want in zip(model.get_weights(), expected["weights_final"], strict=True):
        np.testing.assert_allclose(got.ravel(), want, rtol=1e-5, atol=1e-7)


def test_raw_step_losses_follow_from_running_means():
    # Each step's pre-update loss, recovered from the running means, matches the reference.
    expected = GOLDEN["runs"]["Adam()"]
    x, y = reference_data()
    model = reference_model(Adam())
    recorder = Recorder()
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[recorder])
    running = np.array(recorder.losses).reshape(3, 2)
    raw = np.stack([running[:, 0], 2 * running[:, 1] - running[:, 0]], axis=1).ravel()
    np.testing.assert_allclose(raw, expected["raw_step_loss"], rtol=1e-5, atol=1e-7)


def test_initial_predict_evaluate_and_first_gradients():
    initial = GOLDEN["initial"]
    x, y = reference_data()
    model = reference_model(SGD(learning_rate=0.1))
    np.testing.assert_allclose(model.predict(x, verbose=0).ravel(), initial["predict"], rtol=1e-6)
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(initial["evaluate_loss"], rel=1e-5)
    assert accuracy == initial["evaluate_accuracy"]

    # After one step on the first batch, each variable's gradient slot holds that batch's gradient.
    history = model.fit(x[:4], y[:4], batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(initial["step1_loss"], rel=1e-6)
    for var, key in zip(model.trainable_weights, ("W1", "b1", "W2", "b2"), strict=True):
        np.testing.assert_allclose(var.grad.ravel(), initial["step1_grads"][key], rtol=1e-5, atol=1e-8)
