"""Layer behaviour and initializer distributions against Keras's numbers (§2, §6)."""

from __future__ import annotations

import numpy as np
import pytest

from nnrun import initializers
from nnrun.engine.initializers import INITIALIZERS, compute_fans
from nnrun.errors import InvalidArgumentError
from nnrun.layers import BatchNormalization, Dense, Dropout, Input
from nnrun.models import Sequential
from nnrun.utils import set_random_seed


def test_batch_normalization_keras_verified_numbers():
    # §6: x = [[1,2],[3,6],[5,7],[7,1]] after one training call
    x = np.array([[1, 2], [3, 6], [5, 7], [7, 1]], "float32")
    bn = BatchNormalization()
    bn(x)  # builds; inference call leaves the statistics alone
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.value, [0.04, 0.04], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.value, [1.04, 1.055], rtol=1e-6)  # biased batch variance
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    # inference uses the moving statistics
    np.testing.assert_allclose(bn(x), (x - 0.04) / np.sqrt(np.array([1.04, 1.055]) + 1e-3), rtol=1e-5)


def test_frozen_batch_normalization_uses_moving_statistics_inside_fit():
    model = Sequential([Input(shape=(2,)), BatchNormalization(), Dense(1)])
    model.layers[0].trainable = False
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.random.default_rng(0).random((8, 2)), np.zeros(8), epochs=2, verbose=0)
    np.testing.assert_array_equal(model.layers[0].moving_mean.value, [0, 0])


def test_dropout_keeps_about_one_minus_rate_and_scales_survivors():
    x = np.ones((200, 100), "float32")
    layer = Dropout(0.25, seed=0)
    y = layer.forward(x, training=True)
    kept = y[y != 0]
    assert 0.73 < kept.size / x.size < 0.77
    np.testing.assert_allclose(kept, 1.3333334, rtol=1e-6)
    np.testing.assert_array_equal(layer(x), x)  # a direct call is inference: the identity
    assert not Dropout(1.0).forward(x, training=True).any()


def test_dropout_is_reproducible_from_its_seed_and_the_global_seed():
    x = np.ones((10, 10), "float32")
    a = Dropout(0.5, seed=3).forward(x, training=True).copy()
    b = Dropout(0.5, seed=3).forward(x, training=True).copy()
    np.testing.assert_array_equal(a, b)
    set_random_seed(5)
    c = Dropout(0.5).forward(x, training=True).copy()
    set_random_seed(5)
    d = Dropout(0.5).forward(x, training=True).copy()
    np.testing.assert_array_equal(c, d)


def test_dense_parameter_count_and_kernel_layout():
    layer = Dense(5, use_bias=False)
    layer(np.zeros((2, 3), "float32"))
    assert layer.kernel.shape == (3, 5) and layer.bias is None and layer.count_params() == 15
    layer = Dense(5)
    layer(np.zeros((2, 7, 3), "float32"))  # applies to the last axis
    assert layer.count_params() == 3 * 5 + 5


@pytest.mark.parametrize(
    ("name", "shape", "std", "limit"),
    [
        ("glorot_uniform", (200, 300), None, np.sqrt(6 / 500)),
        ("he_uniform", (400, 300), None, np.sqrt(6 / 400)),
        ("lecun_uniform", (400, 300), None, np.sqrt(3 / 400)),
        ("glorot_normal", (200, 300), np.sqrt(2 / 500), None),
        ("he_normal", (400, 300), np.sqrt(2 / 400), None),
        ("lecun_normal", (400, 300), np.sqrt(1 / 400), None),
        ("RandomUniform", (400, 300), None, 0.05),
        ("RandomNormal", (400, 300), 0.05, None),
        ("TruncatedNormal", (400, 300), 0.05 * 0.87962566, None),
    ],
)
def test_initializer_distributions(name, shape, std, limit):
    w = initializers.get(name)(shape)
    assert w.dtype == np.float32 and w.shape == shape
    if limit is not None:
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.99 * limit
        assert w.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)
    else:
        assert w.std() == pytest.approx(std, rel=0.02)
    if name in ("glorot_normal", "he_normal", "lecun_normal"):
        # truncated at 2 standard deviations of the underlying normal: |w| ≤ 2·std/0.8796
        assert np.abs(w).max() <= 2 * std / 0.87962566 + 1e-7


def test_zeros_ones_constant_orthogonal_identity():
    assert not initializers.get("zeros")((2, 3)).any()
    assert (initializers.get("ones")((2,)) == 1).all()
    assert (initializers.Constant(0.5)((2, 2)) == 0.5).all()
    q = initializers.Orthogonal(gain=2.0, seed=1)((6, 4))
    np.testing.assert_allclose(q.T @ q, 4 * np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(initializers.get("Identity")((3, 3)), np.eye(3))
    with pytest.raises(InvalidArgumentError, match=r"Orthogonal initializer needs a shape of rank >= 2"):
        initializers.Orthogonal()((3,))


def test_seeded_initializer_returns_the_same_values_on_every_call():
    init = initializers.RandomNormal()  # seed drawn once at construction, as in Keras
    np.testing.assert_array_equal(init((3, 3)), init((3, 3)))
    np.testing.assert_array_equal(initializers.HeNormal(seed=4)((5, 5)), initializers.HeNormal(seed=4)((5, 5)))
    assert not np.array_equal(initializers.HeNormal(seed=4)((5, 5)), initializers.HeNormal(seed=5)((5, 5)))


def test_all_keras_spellings_are_accepted():
    for snake, camel in [("random_uniform", "RandomUniform"), ("random_normal", "RandomNormal"),
                         ("truncated_normal", "TruncatedNormal"), ("glorot_uniform", "GlorotUniform"),
                         ("glorot_normal", "GlorotNormal"), ("he_normal", "HeNormal"), ("he_uniform", "HeUniform"),
                         ("lecun_normal", "LecunNormal"), ("lecun_uniform", "LecunUniform"),
                         ("variance_scaling", "VarianceScaling"), ("orthogonal", "Orthogonal")]:
        assert type(initializers.get(snake)) is type(initializers.get(camel))
    assert type(initializers.get("uniform")).__name__ == "RandomUniform"
    assert type(initializers.get("normal")).__name__ == "RandomNormal"
    assert len(INITIALIZERS) == 15


def test_fans_and_variance_scaling_arguments():
    assert compute_fans(()) == (1, 1)
    assert compute_fans((7,)) == (7, 7)
    assert compute_fans((3, 5)) == (3, 5)
    assert compute_fans((2, 2, 3, 5)) == (12, 20)
    w = initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal", seed=0)((300, 400))
    assert w.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    with pytest.raises(InvalidArgumentError, match=r"mode must be one of \('fan_in', 'fan_out', 'fan_avg'\)\. Received: mode='fan'"):
        initializers.VarianceScaling(mode="fan")


def test_same_global_seed_gives_the_same_model():
    set_random_seed(11)
    a = Sequential([Input(shape=(4,)), Dense(3), Dense(2, kernel_initializer="he_normal")]).get_weights()
    set_random_seed(11)
    b = Sequential([Input(shape=(4,)), Dense(3), Dense(2, kernel_initializer="he_normal")]).get_weights()
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa, wb)
