"""Saving like Keras 3: ``.keras`` files, ``.weights.h5`` weights, ModelCheckpoint — and real-Keras round trips."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np
import pytest

from nnrun.callbacks import ModelCheckpoint
from nnrun.errors import DataError, InvalidArgumentError
from nnrun.layers import Activation, BatchNormalization, Concatenate, Dense, Dropout, Flatten, Input, Softmax
from nnrun.models import Model, Sequential, load_model
from nnrun.optimizers import Adam

h5py = pytest.importorskip("h5py", reason="h5py (the nnrun[h5] extra) is needed for Keras's file formats")

X = np.random.default_rng(0).random((16, 4)).astype("float32")
Y = np.eye(3, dtype="float32")[np.arange(16) % 3]


def sequential() -> Sequential:
    return Sequential(
        [
            Input(shape=(4,)),
            Dense(5, activation="tanh"),
            BatchNormalization(),
            Dropout(0.2),
            Flatten(),
            Activation("relu"),
            Dense(3, activation="softmax"),
        ]
    )


def functional() -> Model:
    i = Input(shape=(4,), name="features")
    h = Dense(8, activation="relu")(i)
    h = BatchNormalization()(h)
    r = Dense(8)(i)
    h = h + r
    h = Concatenate()([h, Dense(2)(i)])
    return Model(i, Softmax()(Dense(3)(h)))


def trained(model):
    model.compile(optimizer=Adam(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, Y, epochs=2, batch_size=4, verbose=0)
    return model


@pytest.mark.parametrize("make", [sequential, functional])
def test_keras_file_round_trip_in_nnrun(tmp_path, make):
    model = trained(make())
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        assert json.loads(zf.read("metadata.json"))["keras_version"].startswith("3.")
    assert config["class_name"] == ("Sequential" if make is sequential else "Functional")
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    assert dense["module"] == "keras.layers" and dense["registered_name"] is None
    assert dense["config"]["kernel_initializer"]["class_name"] == "GlorotUniform"

    again = load_model(path)
    assert type(again) is type(model) and again.compiled
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    # the optimizer's state came back too: one more epoch moves both models alike (no dropout to differ)
    assert again.optimizer.iterations == model.optimizer.iterations == 8
    for a, b in zip(again.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a, b)
    if make is sequential:
        return
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    again.fit(X, Y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    np.testing.assert_allclose(again.predict(X, verbose=0), model.predict(X, verbose=0), rtol=0, atol=1e-6)


def test_weights_h5_layout_is_keras(tmp_path):
    model = sequential()
    path = tmp_path / "x.weights.h5"
    model.save_weights(path)
    with h5py.File(path, "r") as f:
        assert sorted(f["layers"]) == ["activation", "batch_normalization", "dense", "dense_1", "dropout", "flatten"]
        assert f["vars"].attrs["name"] == model.name
        bn = f["layers/batch_normalization/vars"]
        assert bn.attrs["name"] == model.layers[1].name
        assert [bn[str(i)].shape for i in range(4)] == [(5,)] * 4
        np.testing.assert_array_equal(f["layers/dense_1/vars/0"], model.layers[-1].kernel.value)
        assert "optimizer" not in f  # not compiled
    other = sequential()
    other.load_weights(path)
    for a, b in zip(other.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_load_weights_checks_shapes_and_extensions(tmp_path):
    model = sequential()
    model.save_weights(tmp_path / "x.weights.h5")
    wrong = Sequential(
        [
            Input(shape=(4,)),
            Dense(6, activation="tanh"),
            BatchNormalization(),
            Dropout(0.2),
            Flatten(),
            Activation("relu"),
            Dense(3, activation="softmax"),
        ]
    )
    before = wrong.get_weights()
    with pytest.raises(DataError, match=r"has shape \(4, 6\); the file holds shape \(4, 5\) under 'layers/dense'"):
        wrong.load_weights(tmp_path / "x.weights.h5")
    for a, b in zip(wrong.get_weights(), before, strict=True):  # nothing changed
        np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidArgumentError, match=r"must end in '\.weights\.h5'.*Received: filepath='.*x\.weights'"):
        model.save_weights(tmp_path / "x.weights")
    with pytest.raises(InvalidArgumentError, match=r"must end in '\.keras'.*Received: filepath='.*m\.h5'"):
        model.save(str(tmp_path / "m.h5"))
    with pytest.raises(DataError, match="Model file not found"):
        load_model(tmp_path / "missing.keras")
    with pytest.raises(DataError, match="Weights file not found"):
        model.load_weights(tmp_path / "missing.weights.h5")


def test_npz_weights_still_work(tmp_path):
    model = sequential()
    model.save_weights(tmp_path / "w.npz")
    other = sequential()
    other.load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(other.predict(X, verbose=0), model.predict(X, verbose=0))


def test_missing_h5py_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"pip install 'nnrun\[h5\]'"):
        sequential().save(tmp_path / "m.keras")


def test_model_checkpoint_keras_defaults_and_errors(tmp_path):
    model = trained(sequential())
    ckpt = ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}.keras"), monitor="loss")
    assert ckpt.save_weights_only is False
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01.keras", "ckpt-02.keras"]
    np.testing.assert_array_equal(
        load_model(tmp_path / "ckpt-02.keras").predict(X, verbose=0), model.predict(X, verbose=0)
    )

    model.fit(
        X, Y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "w.weights.h5"), save_weights_only=True)]
    )
    other = sequential()
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(other.predict(X, verbose=0), model.predict(X, verbose=0))

    with pytest.raises(InvalidArgumentError, match=r"save_weights_only=True.*must end in '\.weights\.h5'"):
        ModelCheckpoint("m.keras", save_weights_only=True)
    with pytest.raises(InvalidArgumentError, match=r"must end in '\.keras'.*Received: filepath='m\.weights\.h5'"):
        ModelCheckpoint("m.weights.h5")
    assert ModelCheckpoint("w.npz").save_weights_only  # nnrun's own archive: weights


# -- real Keras, both ways ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError:
        pytest.skip("real Keras is not installed (round trips need keras with a backend, e.g. jax)")
    if keras.backend.backend() != "jax":
        pytest.skip(f"the round trips run on Keras's JAX backend; this process uses {keras.backend.backend()}")
    return keras


@pytest.mark.parametrize("make", [sequential, functional])
def test_nnrun_files_load_in_keras_and_predict_the_same(tmp_path, keras, make):
    model = trained(make())
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    expected = model.predict(X, verbose=0)

    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded.predict(X, verbose=0)), expected, rtol=0, atol=1e-6)
    assert type(loaded.optimizer).__name__ == "Adam" and int(loaded.optimizer.iterations) == 8
    loaded.fit(X, Y, epochs=1, verbose=0)  # compiled and trainable

    clone = keras.models.clone_model(loaded)
    clone.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(np.asarray(clone.predict(X, verbose=0)), expected, rtol=0, atol=1e-6)


def keras_functional(keras):
    layers = keras.layers
    i = keras.Input(shape=(4,), name="features")
    h = layers.Dense(8, activation="relu")(i)
    h = layers.BatchNormalization()(h)
    h = layers.Dropout(0.3)(h)
    h = layers.Add()([h, layers.Dense(8)(i)])
    h = layers.Concatenate()([h, layers.Dense(2, activation="sigmoid")(i)])
    return keras.Model(i, layers.Softmax()(layers.Dense(3)(h)))


def keras_sequential(keras):
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(2, 2)),
            layers.Flatten(),
            layers.Dense(6, activation="tanh"),
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("which", ["functional", "sequential"])
def test_keras_files_load_in_nnrun_and_predict_the_same(tmp_path, keras, which):
    model = keras_functional(keras) if which == "functional" else keras_sequential(keras)
    x = X if which == "functional" else X.reshape(-1, 2, 2)
    model.compile(optimizer=keras.optimizers.RMSprop(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, Y, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "k.keras")
    model.save_weights(tmp_path / "k.weights.h5")
    expected = np.asarray(model.predict(x, verbose=0))

    ours = load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=0, atol=1e-6)
    assert type(ours.optimizer).__name__ == "RMSprop" and ours.optimizer.iterations == 8
    assert ours.optimizer.learning_rate == np.float32(0.01)
    assert ours.evaluate(x, Y, verbose=0)[0] == pytest.approx(model.evaluate(x, Y, verbose=0)[0], rel=1e-5)

    fresh = load_model(tmp_path / "k.keras", compile=False)
    fresh.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(fresh.predict(x, verbose=0), expected, rtol=0, atol=1e-6)
