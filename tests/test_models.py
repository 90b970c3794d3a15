"""Sequential and functional models: construction, weights, summary, config and saving."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import reference_data, reference_weights

from nnrun.errors import DataError, InvalidArgumentError, NotBuiltError
from nnrun.layers import Add, BatchNormalization, Concatenate, Dense, Dropout, Flatten, Input
from nnrun.models import Model, Sequential, model_from_json

KERAS_SUMMARY_S9 = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 4)              │            16 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 1)              │             5 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 21 (84.00 B)
 Trainable params: 21 (84.00 B)
 Non-trainable params: 0 (0.00 B)
"""


def capture_summary(model, **kwargs) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **kwargs)
    return "".join(lines)


def test_summary_matches_keras_layout():
    model = Sequential(
        [Input(shape=(3,)), Dense(4, activation="relu", name="dense"), Dense(1, activation="sigmoid", name="dense_1")],
        name="sequential",
    )
    assert capture_summary(model, line_length=76) == KERAS_SUMMARY_S9


def test_summary_counts_optimizer_params_after_fit():
    # keras-semantics.md §7: Dense(4) → BN → Dense(1) with Adam after fit.
    model = Sequential([Input(shape=(3,)), Dense(4), BatchNormalization(), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = reference_data()
    model.fit(x, y, epochs=1, verbose=0)
    text = capture_summary(model, line_length=76)
    assert " Total params: 97 (388.00 B)\n" in text
    assert " Trainable params: 29 (116.00 B)\n" in text
    assert " Non-trainable params: 8 (32.00 B)\n" in text
    assert " Optimizer params: 60 (240.00 B)\n" in text
    assert model.count_params() == 37


def test_summary_of_unbuilt_model_and_functional_model():
    lazy = Sequential([Dense(4), Dense(1)])
    text = capture_summary(lazy, line_length=76)
    assert "│ ?  " in text.replace("│ ?", "│ ?  ") and "0 (unbuilt)" in text
    a, b = Input(shape=(3,), name="a"), Input(shape=(2,), name="b")
    merged = Concatenate(name="merge")([Dense(4, name="da")(a), Dense(4, name="db")(b)])
    model = Model([a, b], Dense(1, name="out")(merged))
    text = capture_summary(model, line_length=108)
    assert "Connected to" in text
    assert "da[0][0], db[0][0]" in text
    assert "│ a[0][0]" in text


def test_notebook_parameter_counts_and_set_weights():
    model1 = Sequential([Dense(2, input_shape=(2,), activation="sigmoid"), Dense(1, activation="sigmoid")])
    assert model1.count_params() == 9
    nn = Sequential()
    nn.add(
        Dense(
            3, input_dim=3, activation="sigmoid", name="layer_1", kernel_initializer="zeros", bias_initializer="zeros"
        )
    )
    nn.add(Dense(2, activation="sigmoid", name="layer_2", kernel_initializer="zeros", bias_initializer="zeros"))
    assert nn.count_params() == 20  # (3·3 + 3) + (3·2 + 2), Keras's in·units + units per Dense
    assert [w.shape for w in nn.get_weights()] == [(3, 3), (3,), (3, 2), (2,)]
    assert all(not w.any() for w in nn.get_weights())
    weights = [np.random.default_rng(0).random(w.shape) for w in nn.get_weights()]
    nn.set_weights(weights)
    for got, want in zip(nn.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want.astype("float32"))


def test_functional_two_input_model_matches_manual_computation():
    a, b = Input(shape=(3,)), Input(shape=(2,))
    ha = Dense(4, activation="relu")(a)
    hb = Dense(4, activation="tanh")(b)
    out = Dense(1, activation="sigmoid")(Concatenate()([ha, hb]))
    model = Model(inputs=[a, b], outputs=out)
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(5, 3)).astype("float32"), rng.normal(size=(5, 2)).astype("float32")
    wa, ba, wb, bb, wo, bo = model.get_weights()
    h = np.concatenate([np.maximum(xa @ wa + ba, 0), np.tanh(xb @ wb + bb)], axis=1)
    expected = 1 / (1 + np.exp(-(h @ wo + bo)))
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-5)
    model.compile(optimizer="adam", loss="bce", metrics=["accuracy"])
    history = model.fit([xa, xb], (xa[:, 0] > 0).astype("float32"), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3


def test_add_merges_same_shape_inputs():
    x = Input(shape=(3,))
    model = Model(x, Add()([Dense(2, name="p")(x), Dense(2, name="q")(x)]))
    data = np.ones((2, 3), "float32")
    p, pb, q, qb = model.get_weights()
    np.testing.assert_allclose(model.predict(data, verbose=0), data @ p + pb + data @ q + qb, rtol=1e-6)
    with pytest.raises(InvalidArgumentError, match=r"Add layer 'add.*' needs inputs of the same shape"):
        Add()([Dense(2)(x), Dense(3)(x)])


def test_sequential_is_built_lazily_from_data_and_flatten_feeds_dense():
    model = Sequential([Flatten(), Dense(5, activation="softmax")])
    assert not model.built
    with pytest.raises(NotBuiltError, match="not built yet"):
        model.get_weights()
    x = np.random.default_rng(0).random((4, 2, 3)).astype("float32")
    assert model.predict(x, verbose=0).shape == (4, 5)
    assert model.layers[1].kernel.shape == (6, 5)


def test_layer_weights_trainable_and_non_trainable():
    model = Sequential([Input(shape=(3,)), Dense(4), BatchNormalization(), Dropout(0.5), Dense(1)])
    bn = model.layers[1]
    assert [v.name for v in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [v.name for v in bn.trainable_weights] == ["gamma", "beta"]
    assert [v.name for v in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    assert bn.name == "batch_normalization" or bn.name.startswith("batch_normalization_")
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 4
    weights = bn.get_weights()
    bn.set_weights([w + 1 for w in weights])
    np.testing.assert_array_equal(bn.get_weights()[2], weights[2] + 1)
    with pytest.raises(InvalidArgumentError, match=r"layer 'batch_normalization.*' expects 4 weight arrays"):
        bn.set_weights(weights[:2])


def test_frozen_layer_does_not_change_during_fit():
    model = Sequential([Input(shape=(3,)), Dense(4, activation="relu"), Dense(1, activation="sigmoid")])
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="bce")
    before = model.get_weights()
    x, y = reference_data()
    model.fit(x, y, epochs=2, verbose=0)
    after = model.get_weights()
    np.testing.assert_array_equal(before[0], after[0])
    assert not np.array_equal(before[2], after[2])


def test_set_weights_checks_count_and_shapes_and_changes_nothing_on_error():
    model = Sequential([Input(shape=(3,)), Dense(4), Dense(1)])
    before = model.get_weights()
    bad = reference_weights()
    bad[2] = np.zeros((4, 2), "float32")
    with pytest.raises(
        InvalidArgumentError,
        match=r"weight 'dense_\d+/kernel' has shape \(4, 1\)\. Received: an array of shape \(4, 2\)",
    ):
        model.set_weights(bad)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(InvalidArgumentError, match="expects 4 weight arrays"):
        model.set_weights(bad[:3])


def test_save_and_load_weights_round_trip(tmp_path):
    model = Sequential([Input(shape=(3,)), Dense(4), BatchNormalization(), Dense(1)])
    path = tmp_path / "w.weights.npz"
    model.save_weights(path)
    with np.load(path, allow_pickle=False) as data:
        assert sorted(data.files)[0].endswith("dense_" + model.layers[0].name.split("_")[-1] + "/kernel") or sorted(
            data.files
        )[0].endswith("/kernel")
    other = Sequential([Input(shape=(3,)), Dense(4), BatchNormalization(), Dense(1)])
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    wrong = Sequential([Input(shape=(3,)), Dense(5), BatchNormalization(), Dense(1)])
    with pytest.raises(DataError, match=r"does not fit 'dense_\d+/kernel' with shape \(3, 5\)"):
        wrong.load_weights(path)
    with pytest.raises(DataError, match="Weights file not found"):
        other.load_weights(tmp_path / "missing.npz")


def test_config_json_round_trip_rebuilds_the_architecture():
    model = Sequential(
        [
            Input(shape=(4,)),
            Dense(8, activation="tanh", kernel_initializer="he_normal"),
            Dropout(0.25),
            BatchNormalization(momentum=0.9),
            Dense(3, activation="softmax"),
        ]
    )
    text = model.to_json()
    spec = json.loads(text)
    assert spec["class_name"] == "Sequential"
    assert spec["config"]["layers"][1]["config"]["kernel_initializer"] == "HeNormal"
    clone = model_from_json(text)
    assert [type(layer).__name__ for layer in clone.layers] == [type(layer).__name__ for layer in model.layers]
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).random((5, 4)).astype("float32")
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))

    a, b = Input(shape=(3,)), Input(shape=(2,))
    functional = Model([a, b], Dense(1)(Concatenate()([Dense(2)(a), b])))
    again = model_from_json(functional.to_json())
    assert again.count_params() == functional.count_params()


def test_layer_get_config_rebuilds_each_layer():
    for layer in (
        Dense(3, activation="relu", use_bias=False),
        Dropout(0.3, seed=1),
        BatchNormalization(center=False),
        Flatten(),
        Concatenate(axis=-1),
        Add(),
    ):
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config


def test_model_rejects_shared_layers_and_foreign_inputs():
    x = Input(shape=(3,))
    d = Dense(2)
    d(x)
    with pytest.raises(InvalidArgumentError, match="already used in a model"):
        d(x)
    other = Input(shape=(3,))
    with pytest.raises(InvalidArgumentError, match="depends on an Input that is not in the model's inputs"):
        Model(x, Add()([Dense(2)(x), Dense(2)(other)]))


# -- issue 10: metrics_names, a model as a layer, Sequential's checks, dict inputs ------------------------------


def test_metrics_names_as_keras_3():
    # Keras 3.15: [] before compile, ['loss'] without metrics, ['loss', 'compile_metrics'] with them
    m = Sequential([Input(shape=(3,)), Dense(1, activation="sigmoid")])
    assert m.metrics_names == []
    m.compile(optimizer="sgd", loss="binary_crossentropy")
    assert m.metrics_names == ["loss"]
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    assert m.metrics_names == ["loss", "compile_metrics"]


def test_a_model_used_as_a_layer_shares_its_weights_and_trains():
    from nnrun.layers import Softmax

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    inner = Sequential([Input(shape=(4,)), Dense(2)], name="logits")
    outer = Sequential([Input(shape=(3,)), Dense(4, activation="tanh"), inner, Softmax()])
    assert [v is w for v, w in zip(outer.weights[2:], inner.weights, strict=True)] == [True, True]
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in outer.get_weights()]
    outer.fit(x, y, epochs=2, verbose=0)
    # the gradient reached the Dense layer in front of the inner model (its dL/dx was returned)
    assert all(not np.array_equal(a, b) for a, b in zip(before, outer.get_weights(), strict=True))
    probs = outer.predict(x, verbose=0)
    logits = inner.predict(outer.layers[0](x), verbose=0)
    np.testing.assert_allclose(probs, np.exp(logits) / np.exp(logits).sum(1, keepdims=True), rtol=1e-5)


def test_a_model_called_on_a_symbolic_tensor_is_a_layer_of_the_new_model():
    inner = Sequential([Input(shape=(3,)), Dense(2)])
    inputs = Input(shape=(3,))
    outer = Model(inputs, Dense(1)(inner(inputs)))
    x = np.ones((2, 3), "float32")
    assert outer.count_params() == inner.count_params() + 3
    assert outer.predict(x, verbose=0).shape == (2, 1)
    with pytest.raises(InvalidArgumentError, match="already used in a model"):
        inner(Input(shape=(3,)))


def test_sequential_rejects_a_duplicate_layer_name_at_add():
    m = Sequential([Dense(2, name="d")])
    with pytest.raises(InvalidArgumentError, match=r"should have unique names\. Name 'd' is already the name"):
        m.add(Dense(3, name="d"))


def test_sequential_build_with_another_shape_raises_and_the_same_shape_is_fine():
    m = Sequential([Dense(2)])
    m.build((None, 2))
    m.build((None, 2))
    m.build((5, 2))  # a batch dimension of 5 is the same input shape
    with pytest.raises(InvalidArgumentError, match=r"already been configured to use input shape \(None, 2\).*\(3, 4\)"):
        m.build((3, 4))


def test_an_empty_sequential_model_raises_as_keras():
    m = Sequential(name="empty")
    with pytest.raises(ValueError, match="Sequential model empty cannot be built because it has no layers"):
        m(np.ones((2, 3)))
    with pytest.raises(ValueError, match="no layers"):
        m.predict(np.ones((2, 3)), verbose=0)
    with pytest.raises(AttributeError, match="Sequential model 'empty' has no defined input shape yet"):
        m.input_shape  # noqa: B018
    assert not hasattr(m, "input_shape")


def test_dict_inputs_are_matched_to_input_names():
    a, b = Input(shape=(2,), name="age"), Input(shape=(3,), name="bmi")
    model = Model([a, b], Dense(1)(Concatenate()([a, b])))
    xa, xb = np.ones((4, 2), "float32"), np.full((4, 3), 2.0, "float32")
    np.testing.assert_array_equal(model.predict({"bmi": xb, "age": xa}, verbose=0), model.predict([xa, xb], verbose=0))
    model.compile(optimizer="sgd", loss="mse")
    model.fit({"age": xa, "bmi": xb}, np.zeros(4), epochs=1, verbose=0)
    with pytest.raises(DataError, match=r"input names \['age', 'bmi'\]. Unknown: \['bmj'\]. Missing: \['bmi'\]"):
        model.predict({"age": xa, "bmj": xb}, verbose=0)


def test_calling_a_model_returns_a_new_ndarray():
    m = Sequential([Input(shape=(3,)), Dense(2)])
    x = np.ones((2, 3), "float32")
    y1, y2 = m(x), m(x)
    assert isinstance(y1, np.ndarray) and y1 is not y2 and not np.shares_memory(y1, y2)
    assert type(y1.numpy()) is np.ndarray  # TensorFlow programs call model(x).numpy()
