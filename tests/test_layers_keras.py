"""Layer behaviour from Keras's own layer tests: build marks a layer built, Softmax, BatchNormalization(axis),
Dropout(noise_shape), Input(shape=()), and arithmetic on symbolic tensors."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_grad_close, numeric_vjp

from nnrun.errors import InvalidArgumentError
from nnrun.layers import (
    Activation,
    Add,
    BatchNormalization,
    Concatenate,
    Dense,
    Dropout,
    Flatten,
    Input,
    Multiply,
    Softmax,
    Subtract,
)
from nnrun.models import Model, Sequential


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_build_marks_the_layer_built_and_keeps_set_weights():
    dense = Dense(3)
    dense.build((None, 2))
    assert dense.built
    dense.set_weights([np.ones((2, 3)), np.zeros(3)])
    np.testing.assert_array_equal(dense(np.ones((1, 2))), [[2, 2, 2]])
    assert len(dense.weights) == 2

    bn = BatchNormalization()
    bn.build((None, 3))
    bn(np.ones((2, 3)))
    assert len(bn.weights) == 4

    add = Add()
    add.build([(None, 2), (None, 2)])
    assert add.built
    np.testing.assert_array_equal(add([np.ones((1, 2)), np.ones((1, 2))]), [[2, 2]])


def test_stateless_layers_are_built_at_construction():
    assert Dropout(0.5).built and Flatten().built and Activation("relu").built and Softmax().built
    assert not Dense(2).built and not BatchNormalization().built


def test_softmax_layer_forward_axis_and_config():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], "float32")
    e = np.exp(x - x.max(-1, keepdims=True))
    np.testing.assert_allclose(Softmax()(x), e / e.sum(-1, keepdims=True), rtol=1e-6)
    y = Softmax(axis=0)(x)
    np.testing.assert_allclose(y.sum(axis=0), [1, 1, 1], rtol=1e-6)
    layer = Softmax(axis=1, name="probs")
    assert Softmax.from_config(layer.get_config()).axis == 1
    with pytest.raises(InvalidArgumentError, match=r"Softmax axis must be an int\. Received: axis='last'"):
        Softmax(axis="last")


def check_layer(layer, x, rng, training=True):
    xs = x if isinstance(x, list) else [x]
    y = np.array(layer.forward(x, training), copy=True)
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy.copy(), need_dx=True)
    dxs = [np.array(d, copy=True) for d in (dx if isinstance(x, list) else [dx])]
    grads = [np.array(v.grad, copy=True) for v in layer.trainable_weights]
    for i, (xi, dxi) in enumerate(zip(xs, dxs, strict=True)):
        assert_grad_close(dxi, numeric_vjp(lambda: layer.forward(x, training), xi, dy), f"{layer.name} dx[{i}]")
    for v, g in zip(layer.trainable_weights, grads, strict=True):
        assert_grad_close(g, numeric_vjp(lambda: layer.forward(x, training), v.value, dy), f"{layer.name} {v.name}")


@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax_layer_gradient(rng, axis):
    check_layer(Softmax(axis=axis, dtype="float64"), rng.normal(size=(4, 3, 5)), rng)


@pytest.mark.parametrize("cls", [Subtract, Multiply])
def test_merging_layer_gradients(rng, cls):
    layer = cls(dtype="float64")
    n = 2 if cls is Subtract else 3
    check_layer(layer, [rng.normal(size=(4, 3)) for _ in range(n)], rng)


def test_batch_normalization_on_another_axis(rng):
    x = rng.normal(size=(6, 3, 4)) * 3 + 1
    bn = BatchNormalization(axis=1, dtype="float64")
    bn.build(x.shape)
    assert bn.gamma.shape == (3,)
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(bn.moving_mean.value, 0.01 * x.mean(axis=(0, 2)), rtol=1e-10)
    for v in bn.trainable_weights:
        v.value[...] = rng.normal(size=v.shape)
    check_layer(bn, x, rng)
    with pytest.raises(InvalidArgumentError, match=r"axis=0 is not a feature axis"):
        BatchNormalization(axis=0).build((None, 3))


def test_dropout_noise_shape_shares_the_mask():
    layer = Dropout(0.5, noise_shape=(None, 1), seed=1)
    y = layer.forward(np.ones((50, 4), "float32"), training=True)
    assert all(len(set(row)) == 1 for row in y)  # one decision per sample
    assert 0 < (y[:, 0] == 0).sum() < 50
    assert Dropout.from_config(layer.get_config()).noise_shape == (None, 1)
    with pytest.raises(InvalidArgumentError, match=r"noise_shape=\(None, 3\) does not broadcast"):
        Dropout(0.5, noise_shape=(None, 3)).forward(np.ones((2, 4), "float32"), training=True)


def test_input_with_scalar_features_flattens_to_one_column():
    model = Sequential([Input(shape=()), Flatten(), Dense(2)])
    assert model.layers[0].output_shape == (None, 1)
    assert model.predict(np.arange(3.0), verbose=0).shape == (3, 2)


def test_arithmetic_on_symbolic_tensors_records_merging_layers(rng):
    i = Input(shape=(4,))
    h = Dense(4)(i)
    residual = h
    h = Dense(4)(h)
    h += residual
    h = h - Dense(4)(i)
    h = h * Dense(4, activation="sigmoid")(i)
    model = Model(i, Concatenate()([h, i]))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Add") == 1 and kinds.count("Subtract") == 1 and kinds.count("Multiply") == 1
    x = rng.normal(size=(5, 4)).astype("float32")
    d = [model.get_layer(name=n) for n in [layer.name for layer in model.layers if type(layer).__name__ == "Dense"]]
    a = x @ d[0].kernel.value + d[0].bias.value
    b = a @ d[1].kernel.value + d[1].bias.value
    c = x @ d[2].kernel.value + d[2].bias.value
    g = 1 / (1 + np.exp(-(x @ d[3].kernel.value + d[3].bias.value)))
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, :4], (b + a - c) * g, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((5, 8)), epochs=1, verbose=0)
    with pytest.raises(TypeError, match=r"between two symbolic tensors"):
        _ = h + 1.0
