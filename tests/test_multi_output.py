"""Multi-output functional models: per-output losses, loss weights and metrics (lists and dicts), dict targets,
Keras 3's log names and return values (checked against keras-team/keras ``trainer_test.py`` /
``functional_test.py`` behaviour and, when installed, against real Keras), and a float64 gradient check."""

from __future__ import annotations

import os

import numpy as np
import pytest
from gradcheck import assert_grad_close, numeric_vjp

import nnrun as keras
from nnrun import layers
from nnrun.errors import DataError, InvalidArgumentError

RNG = np.random.default_rng(7)
X = RNG.random((20, 4)).astype("float32")
YA = RNG.random((20, 2)).astype("float32")
YB = (RNG.random((20, 1)) > 0.5).astype("float32")


def two_outputs(as_dict: bool = False, dtype: str | None = None) -> keras.Model:
    i = keras.Input((4,), name="x", dtype=dtype)
    h = layers.Dense(5, activation="tanh", name="h")(i)
    a = layers.Dense(2, name="out_a")(h)
    b = layers.Dense(1, activation="sigmoid", name="out_b")(h)
    return keras.Model(i, {"ka": a, "kb": b} if as_dict else [a, b])


def compile_list(model: keras.Model) -> None:
    model.compile(
        keras.optimizers.SGD(0.1),
        loss=["mse", "binary_crossentropy"],
        loss_weights=[1.0, 0.5],
        metrics=[["mae"], ["accuracy"]],
    )


def test_history_keys_evaluate_and_metrics_names_follow_keras():
    model = two_outputs()
    compile_list(model)
    history = model.fit(X, [YA, YB], epochs=2, batch_size=8, verbose=0, validation_split=0.25).history
    expected = ["loss", "out_a_loss", "out_a_mae", "out_b_accuracy", "out_b_loss"]
    assert sorted(history) == expected + [f"val_{k}" for k in expected]
    assert model.metrics_names == ["loss", "compile_metrics", "out_a_loss", "out_b_loss"]

    logs = model.evaluate(X, [YA, YB], verbose=0, return_dict=True)
    assert list(logs) == expected  # Keras's order of the dict
    assert logs["loss"] == pytest.approx(logs["out_a_loss"] + 0.5 * logs["out_b_loss"], rel=1e-6)
    # the list: loss, the outputs' losses in output order, then the metrics sorted by name (Keras 3.15)
    values = model.evaluate(X, [YA, YB], verbose=0)
    assert values == [logs[k] for k in ("loss", "out_a_loss", "out_b_loss", "out_a_mae", "out_b_accuracy")]
    assert model.train_on_batch(X[:4], [YA[:4], YB[:4]]).__len__() == 5


def test_dict_targets_and_dict_compile_train_exactly_as_lists():
    runs = []
    for style in ("list", "dict"):
        keras.utils.set_random_seed(3)
        model = two_outputs()
        if style == "list":
            compile_list(model)
            y = [YA, YB]
        else:
            model.compile(
                keras.optimizers.SGD(0.1),
                loss={"out_b": "binary_crossentropy", "out_a": "mse"},
                loss_weights={"out_a": 1.0, "out_b": 0.5},
                metrics={"out_a": "mae", "out_b": ["accuracy"]},
            )
            y = {"out_b": YB, "out_a": YA}
        runs.append(model.fit(X, y, epochs=2, batch_size=8, verbose=0, seed=1).history)
    assert runs[0] == runs[1]


def test_predict_and_call_return_a_list_or_a_dict_as_the_outputs_were_given():
    model = two_outputs()
    compile_list(model)
    p = model.predict(X, verbose=0)
    assert isinstance(p, list) and [a.shape for a in p] == [(20, 2), (20, 1)]
    called = model(X)
    assert isinstance(called, list)
    np.testing.assert_array_equal(called[1], p[1])
    assert model.output_names == ["out_a", "out_b"]

    named = two_outputs(as_dict=True)
    named.compile("sgd", loss={"ka": "mse", "kb": "binary_crossentropy"}, metrics={"kb": "accuracy"})
    history = named.fit(X, {"ka": YA, "kb": YB}, epochs=1, verbose=0).history
    assert sorted(history) == ["ka_loss", "kb_accuracy", "kb_loss", "loss"]
    p = named.predict(X, verbose=0)
    assert isinstance(p, dict) and {k: v.shape for k, v in p.items()} == {"ka": (20, 2), "kb": (20, 1)}
    assert isinstance(named(X), dict) and named.output_shape == {"ka": (None, 2), "kb": (None, 1)}


def test_one_loss_for_every_output_and_an_output_without_loss():
    model = two_outputs()
    model.compile("sgd", loss="mse")
    assert sorted(model.fit(X, [YA, YB], epochs=1, verbose=0).history) == ["loss", "out_a_loss", "out_b_loss"]
    assert len(model.evaluate(X, [YA, YB], verbose=0)) == 3

    model = two_outputs()
    model.compile("sgd", loss=["mse", None], metrics=[None, ["accuracy"]])
    # one loss only: Keras adds no per-output loss, but still prefixes the metrics
    assert sorted(model.fit(X, [YA, YB], epochs=1, verbose=0).history) == ["loss", "out_b_accuracy"]


def test_flat_metric_list_with_one_entry_per_output():
    model = two_outputs()
    model.compile("sgd", loss=["mse", "binary_crossentropy"], metrics=[["mae", "mse"], "accuracy"])
    keys = sorted(model.fit(X, [YA, YB], epochs=1, verbose=0).history)
    assert keys == ["loss", "out_a_loss", "out_a_mae", "out_a_mse", "out_b_accuracy", "out_b_loss"]


def test_single_output_loss_weight_scales_the_loss_and_the_fast_path_is_kept():
    i = keras.Input((4,))
    model = keras.Model(i, layers.Dense(1)(i))
    model.compile("sgd", loss="mse", metrics=["mae"])
    assert model._heads is None  # a plain single-output model trains on the fast path
    plain = model.evaluate(X, YB, verbose=0)
    model.compile("sgd", loss="mse", loss_weights=2.0, metrics=["mae"])
    weighted = model.evaluate(X, YB, verbose=0)
    assert weighted[0] == pytest.approx(2 * plain[0], rel=1e-6) and weighted[1] == pytest.approx(plain[1])
    assert sorted(model.fit(X, YB, epochs=1, verbose=0).history) == ["loss", "mae"]


def test_callbacks_monitor_per_output_metrics():
    model = two_outputs()
    compile_list(model)
    stop = keras.callbacks.EarlyStopping(monitor="val_out_b_accuracy", patience=0)
    model.fit(X, [YA, YB], epochs=3, verbose=0, validation_split=0.25, callbacks=[stop])
    assert stop._mode == "max"


def test_errors_name_what_was_expected():
    model = two_outputs()
    with pytest.raises(InvalidArgumentError, match=r"Expected keys \['out_a', 'out_b'\] in loss dict.*'zzz'"):
        model.compile("sgd", loss={"out_a": "mse", "zzz": "mse"})
    with pytest.raises(InvalidArgumentError, match=r"loss is a list of 1 entries, but the model has 2 output"):
        model.compile("sgd", loss=["mse"])
    with pytest.raises(InvalidArgumentError, match=r"loss_weights is a list of 1 entries, but the model has 2 output"):
        model.compile("sgd", loss=["mse", "mse"], loss_weights=[1.0])
    with pytest.raises(InvalidArgumentError, match=r"Invalid `metrics`.*\['out_a', 'out_b'\].*Received: metrics"):
        model.compile("sgd", loss="mse", metrics=["mae"])
    model.compile("sgd", loss=["mse", "binary_crossentropy"])
    with pytest.raises(DataError, match=r"2 outputs \['out_a', 'out_b'\]: y must be a list of 2 arrays"):
        model.fit(X, [YA], verbose=0)
    with pytest.raises(DataError, match=r"model's output names \['out_a', 'out_b'\]\. Unknown: \['zzz'\]"):
        model.fit(X, {"out_a": YA, "zzz": YB}, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"`class_weight` is only supported for Models with a single"):
        model.fit(X, [YA, YB], class_weight={0: 1.0, 1: 2.0}, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"per-output sample weights are not supported"):
        model.fit(X, [YA, YB], sample_weight=[np.ones(20), np.ones(20)], verbose=0)
    with pytest.raises(DataError, match=r"y\['out_a'\] has shape \(20, 3\)"):
        model.fit(X, [np.ones((20, 3)), YB], verbose=0)


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weights"])
def test_two_output_gradient_matches_finite_differences(weighted):
    """The training step's gradient of Σ wᵢ·lossᵢ, through two heads and a hidden output that also feeds a
    head (its gradient is the sum of both paths), against central differences in float64."""
    rng = np.random.default_rng(11)
    i = keras.Input((3,), dtype="float64")
    h = layers.Dense(4, activation="tanh", name="h")(i)
    a = layers.Dense(2, name="out_a")(h)
    b = layers.Dense(1, activation="sigmoid", name="out_b")(h)
    model = keras.Model(i, [a, h, b])
    model.compile(keras.optimizers.SGD(1.0), loss=["mse", "mae", "binary_crossentropy"], loss_weights=[0.7, 0.3, 1.3])
    assert model._heads.fused == [False, False, True]  # the sigmoid head hands dL/dz to its layer
    for v in model.weights:
        v.value[...] = rng.normal(size=v.shape)
    n = 6
    x = rng.normal(size=(n, 3))
    ya, yh, yb = rng.normal(size=(n, 2)), rng.normal(size=(n, 4)), (rng.random((n, 1)) > 0.5).astype(float)
    sw = rng.uniform(0.2, 2.0, n) if weighted else np.ones(n)

    before = [v.numpy() for v in model.trainable_weights]
    model.train_on_batch(x, [ya, yh, yb], sample_weight=sw if weighted else None)
    grads = [b0 - v.numpy() for b0, v in zip(before, model.trainable_weights)]  # SGD(1.0): w ← w − g
    for v, b0 in zip(model.trainable_weights, before):
        v.value[...] = b0

    def total() -> np.ndarray:  # Σ wᵢ·(Σ values·sw / n), written out independently of the engine
        pa, ph, pb = model._run_forward([x], True)
        p = np.clip(pb[:, 0], 1e-7, 1 - 1e-7)
        bce = -(yb[:, 0] * np.log(p) + (1 - yb[:, 0]) * np.log(1 - p))
        losses = [((pa - ya) ** 2).mean(-1), np.abs(ph - yh).mean(-1), bce]
        return np.array([sum(w * (val * sw).sum() / n for w, val in zip([0.7, 0.3, 1.3], losses))])

    for v, g in zip(model.trainable_weights, grads):
        assert_grad_close(g, numeric_vjp(total, v.value, np.ones(1)), v.path, rtol=1e-6)


def test_save_and_load_keep_the_per_output_compile(tmp_path):
    pytest.importorskip("h5py")
    model = two_outputs()
    model.compile(
        "adam",
        loss={"out_a": "mse", "out_b": keras.losses.BinaryCrossentropy()},
        loss_weights={"out_a": 2.0, "out_b": 0.5},
        metrics={"out_a": "mae", "out_b": ["accuracy", keras.metrics.Recall(name="recall")]},
    )
    model.fit(X, [YA, YB], epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    expected = model.evaluate(X, [YA, YB], verbose=0, return_dict=True)
    assert loaded.evaluate(X, [YA, YB], verbose=0, return_dict=True) == expected
    assert "out_b_recall" in expected


def test_load_model_keeps_a_metric_name(tmp_path):
    pytest.importorskip("h5py")
    i = keras.Input((4,))
    model = keras.Model(i, layers.Dense(1, activation="sigmoid")(i))
    model.compile("adam", loss="binary_crossentropy", metrics=[keras.metrics.Recall(name="recall"), "accuracy"])
    model.fit(X, YB, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    logs = keras.models.load_model(tmp_path / "m.keras").evaluate(X, YB, verbose=0, return_dict=True)
    assert sorted(logs) == ["accuracy", "loss", "recall"]


# -- real Keras ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras as real
    except ImportError:
        pytest.skip("real Keras is not installed (the comparison needs keras with the jax backend)")
    if real.backend.backend() != "jax":
        pytest.skip(f"the comparison runs on Keras's JAX backend; this process uses {real.backend.backend()}")
    return real


def test_training_matches_real_keras(real_keras):
    K = real_keras
    i = K.Input((4,), name="x")
    h = K.layers.Dense(5, activation="tanh", name="h")(i)
    ka = K.Model(i, [K.layers.Dense(2, name="out_a")(h), K.layers.Dense(1, activation="sigmoid", name="out_b")(h)])
    ka.compile(
        K.optimizers.SGD(0.1),
        loss=["mse", "binary_crossentropy"],
        loss_weights=[1.0, 0.5],
        metrics=[["mae"], ["accuracy"]],
    )
    ours = two_outputs()
    compile_list(ours)
    ours.set_weights(ka.get_weights())
    fit = {"epochs": 3, "batch_size": 8, "verbose": 0, "validation_split": 0.25, "shuffle": False}
    expected = ka.fit(X, [YA, YB], **fit).history
    got = ours.fit(X, [YA, YB], **fit).history
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=2e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(ours.evaluate(X, [YA, YB], verbose=0), ka.evaluate(X, [YA, YB], verbose=0), rtol=2e-5)


def test_multi_output_files_cross_to_real_keras(tmp_path, real_keras):
    pytest.importorskip("h5py")
    model = two_outputs()
    compile_list(model)
    model.fit(X, [YA, YB], epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = real_keras.saving.load_model(tmp_path / "m.keras")
    for got, want in zip(loaded.predict(X, verbose=0), model.predict(X, verbose=0)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-6)
    theirs = loaded.evaluate(X, [YA, YB], verbose=0, return_dict=True)
    ours = model.evaluate(X, [YA, YB], verbose=0, return_dict=True)
    assert sorted(theirs) == sorted(ours)
    for key in ours:
        assert theirs[key] == pytest.approx(ours[key], rel=1e-5), key


def test_model_call_answers_numpy_as_tensorflow_tensors_do():
    model = two_outputs()
    out_a, out_b = model(X)
    assert isinstance(out_a, np.ndarray) and type(out_a.numpy()) is np.ndarray
    np.testing.assert_array_equal(out_b.numpy(), model.predict(X, verbose=0)[1])
    i = keras.Input((4,))
    single = keras.Model(i, layers.Dense(3)(i))
    assert type(single(X).numpy()) is np.ndarray and single(X).numpy().shape == (20, 3)
    assert type(single.predict(X, verbose=0)) is np.ndarray  # fit/evaluate/predict return plain arrays


def test_dict_outputs_cross_to_real_keras(tmp_path, real_keras):
    pytest.importorskip("h5py")
    model = two_outputs(as_dict=True)
    model.compile("sgd", loss={"ka": "mse", "kb": "binary_crossentropy"}, metrics={"kb": ["accuracy"]})
    y = {"ka": YA, "kb": YB}
    model.fit(X, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").evaluate(X, y, verbose=0) == model.evaluate(X, y, verbose=0)
    loaded = real_keras.saving.load_model(tmp_path / "m.keras")
    predicted = loaded.predict(X, verbose=0)
    assert isinstance(predicted, dict) and sorted(predicted) == ["ka", "kb"]
    np.testing.assert_allclose(np.asarray(predicted["kb"]), model.predict(X, verbose=0)["kb"], rtol=0, atol=1e-6)
    theirs = loaded.evaluate(X, y, verbose=0, return_dict=True)
    for key, value in model.evaluate(X, y, verbose=0, return_dict=True).items():
        assert theirs[key] == pytest.approx(value, rel=1e-5), key
