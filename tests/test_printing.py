"""What fit / evaluate / predict / summary print, checked against Keras 3.15's output (JAX backend)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import reference_data

import nnrun as keras
from nnrun.engine.callbacks.progbar_logger import format_time, format_value

STEP = r"\d+(s|ms|us)/step"


def model():
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid", kernel_initializer="ones")])
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return m


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.000552, " 552us/step"), (0.155, " 155ms/step"), (2.4, " 2s/step"), (0.0, " 0s/step"), (0.001, " 1ms/step")],
)
def test_time_per_step_switches_units_as_keras(seconds, text):
    assert format_time(seconds) == text


def test_values_at_or_under_1e_3_print_in_scientific_notation():
    # Keras 3.15, fit(verbose=2) on targets scaled by 1e-5: "loss: 5.0000e-11 - mae: 5.0000e-06"
    assert format_value(5e-11) == "5.0000e-11"
    assert format_value(0.0012) == "0.0012"
    assert format_value(0.001) == "1.0000e-03"
    assert format_value(-0.5) == "-0.5000"
    assert format_value(-0.5, signed=False) == "-5.0000e-01"  # verbose=2 compares the value, not its size


def test_fit_verbose_2_prints_one_line_per_epoch(capsys):
    x, y = reference_data()
    model().fit(x, y, epochs=2, batch_size=4, verbose=2, validation_split=0.5)
    out = capsys.readouterr().out.splitlines()
    # Keras: "Epoch 1/2" / "2/2 - 0s - 941us/step - accuracy: 0.3750 - loss: 0.7427 - val_accuracy: ... - val_loss: ..."
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2" and len(out) == 4
    line = rf"1/1 - \d+s - {STEP} - accuracy: \d\.\d{{4}} - loss: \d\.\d{{4}} - val_accuracy: \d\.\d{{4}} - val_loss: \d\.\d{{4}}"
    assert re.fullmatch(line, out[1]), out[1]


def test_fit_with_one_epoch_prints_no_epoch_header(capsys):
    x, y = reference_data()
    model().fit(x, y, epochs=1, batch_size=4, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and re.fullmatch(rf"2/2 - \d+s - {STEP} - accuracy: \d\.\d{{4}} - loss: \d\.\d{{4}}", out[0])


def test_small_values_print_in_scientific_notation_in_the_epoch_line(capsys):
    x, y = reference_data()
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    m.fit(x, y * 1e-5, epochs=1, batch_size=8, verbose=2)
    # Keras 3.15: "1/1 - 0s - 178ms/step - loss: 5.0000e-11 - mae: 5.0000e-06"
    assert re.fullmatch(rf"1/1 - \d+s - {STEP} - loss: 5\.0000e-11 - mae: 5\.0000e-06", capsys.readouterr().out.strip())


def test_evaluate_and_predict_print_keras_lines(capsys):
    x, y = reference_data()
    m = model()
    m.evaluate(x, y, verbose=2)
    m.predict(x, verbose=2)
    out = capsys.readouterr().out.splitlines()
    # Keras 3.15: "1/1 - 0s - 141ms/step - accuracy: 0.7500 - loss: 0.6052" and "1/1 - 0s - 61ms/step"
    assert re.fullmatch(rf"1/1 - \d+s - {STEP} - accuracy: 0\.6250 - loss: \d\.\d{{4}}", out[0]), out
    assert re.fullmatch(rf"1/1 - \d+s - {STEP}", out[1]), out


def test_predict_prints_a_progress_bar_by_default_and_nothing_with_verbose_0(capsys):
    x, _ = reference_data()
    m = model()
    m.predict(x, batch_size=4)
    assert re.fullmatch(rf"2/2 ━{{20}} \d+s {STEP}", capsys.readouterr().out.strip())
    m.predict(x, verbose=0)
    m(x)
    m.predict_on_batch(x)
    assert capsys.readouterr().out == ""


def test_evaluate_prints_a_progress_bar_by_default(capsys):
    x, y = reference_data()
    model().evaluate(x, y, batch_size=4)
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(rf"2/2 ━{{20}} \d+s {STEP} - accuracy: 0\.6250 - loss: \d\.\d{{4}}", line), line


def test_functional_summary_lists_the_input_layer_as_keras_3():
    inputs = keras.Input((3,), name="features")
    outputs = keras.layers.Dense(1)(keras.layers.Dense(2)(inputs))
    text = []
    keras.Model(inputs, outputs).summary(print_fn=text.append)
    rows = [line for line in text[0].splitlines() if line.startswith("│")]
    assert rows[0].split("│")[1].strip() == "features (InputLayer)"
    assert rows[0].split("│")[2].strip() == "(None, 3)"
    assert len(rows) == 3


def test_sequential_summary_has_no_input_layer_row_and_nested_models_show_their_class():
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="inner")
    outer = keras.Sequential([inner, keras.layers.Softmax()])
    text = []
    outer.summary(print_fn=text.append)
    rows = [line.split("│")[1].strip() for line in text[0].splitlines() if line.startswith("│")]
    assert rows[0] == "inner (Sequential)" and rows[1].endswith("(Softmax)") and len(rows) == 2
    np.testing.assert_allclose(outer.predict(np.ones((2, 3)), verbose=0).sum(axis=1), [1.0, 1.0], rtol=1e-6)
