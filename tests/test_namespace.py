"""``import nnrun as keras`` behaves like ``import keras`` for what nnrun implements, and loads lazily."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nnrun as keras


def test_import_nnrun_loads_neither_the_engine_nor_numpy_until_an_attribute_is_used():
    code = (
        "import sys, nnrun\n"
        "heavy = sorted(m for m in sys.modules if m.startswith('nnrun.') or m == 'numpy')\n"
        "print(heavy)\n"
        "nnrun.layers.Dense\n"
        "print('nnrun.engine' in sys.modules, 'numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["[]", "True True"]


def test_top_level_names_are_the_engine_classes():
    from nnrun.engine.layers import Input, Layer
    from nnrun.engine.models import Model, Sequential

    assert keras.Sequential is Sequential
    assert keras.Model is Model
    assert keras.Input is Input
    assert keras.Layer is Layer
    assert keras.layers.Dense.__name__ == "Dense"
    assert keras.models.Sequential is Sequential


def test_from_nnrun_import_works_for_modules_and_classes():
    from nnrun import Model, layers, models
    from nnrun import keras as alias

    assert alias is keras
    assert Model is models.Model
    assert layers.Dense is keras.layers.Dense


@pytest.mark.parametrize(
    "module",
    [
        "activations",
        "callbacks",
        "config",
        "datasets",
        "initializers",
        "layers",
        "losses",
        "metrics",
        "models",
        "optimizers",
        "utils",
    ],
)
def test_keras_submodules_are_attributes_and_listed_by_dir(module):
    assert getattr(keras, module).__name__ == f"nnrun.{module}"
    assert module in dir(keras)


def test_unknown_attribute_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="has no attribute 'ops'"):
        keras.ops  # noqa: B018


def test_config_answers_as_keras_config():
    assert keras.config.backend() == "numpy"
    assert keras.config.floatx() == "float32"
    assert keras.config.epsilon() == 1e-7
    keras.config.set_floatx("float64")
    try:
        assert keras.config.floatx() == "float64"
        assert keras.layers.Dense(2).dtype == np.float64
    finally:
        keras.config.set_floatx("float32")
    with pytest.raises(Exception, match="floatx must be one of"):
        keras.config.set_floatx("float16")


def test_utils_to_categorical_and_normalize_as_keras():
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 2, 1], 3), np.eye(3, dtype="float32")[[0, 2, 1]])
    # keras.utils.normalize([[3, 4], [0, 0]]) (L2 along the last axis; a zero row stays zero)
    np.testing.assert_allclose(keras.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0.0, 0.0]])
    keras.utils.set_random_seed(3)
    a = keras.layers.Dense(2)
    a.build((None, 3))
    keras.utils.set_random_seed(3)
    b = keras.layers.Dense(2)
    b.build((None, 3))
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])


def test_datasets_mnist_has_load_data():
    assert callable(keras.datasets.mnist.load_data)
    assert callable(keras.datasets.fashion_mnist.load_data)


def test_a_keras_program_runs_through_the_namespace():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = keras.utils.to_categorical((x[:, 0] > 0).astype(int), 2)
    inputs = keras.Input(shape=(4,))
    h = keras.layers.Dense(8, activation="relu")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy()],
    )
    history = model.fit(
        x, y, epochs=3, batch_size=16, verbose=0, callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=5)]
    )
    assert sorted(history.history) == ["categorical_accuracy", "loss"]
    assert history.history["loss"][-1] < history.history["loss"][0]
