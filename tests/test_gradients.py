"""Float64 central-difference gradient checks, with a random upstream gradient, for every activation,
loss and layer with a backward pass, and for the full-batch loss gradient of whole models.

One catalogue per registry drives both the value and the gradient checks: a name registered in
``ACTIVATIONS`` or ``LOSSES`` without an entry here fails the suite instead of going unchecked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pytest
from gradcheck import assert_grad_close, away_from, min_distance, numeric_vjp

from nnrun.engine.activations import ACTIVATIONS
from nnrun.engine.losses import (
    LOSSES,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Huber,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
)
from nnrun.layers import Activation, Add, BatchNormalization, Concatenate, Dense, Dropout, Flatten, Input
from nnrun.models import Model, Sequential

F64 = np.float64


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


# =====================================================================================================
# Activations: reference forms (Keras 3, keras-semantics.md §3) computed with `math`, and their kinks
# =====================================================================================================

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _elementwise(f: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: np.array([f(float(v)) for v in x.ravel()]).reshape(x.shape)


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    rows = []
    for row in x.reshape(-1, x.shape[-1]):
        e = [math.exp(v - max(row)) for v in row]
        rows.append([v / math.fsum(e) for v in e])
    return np.array(rows).reshape(x.shape)


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _hard_sigmoid(v: float) -> float:
    return min(max(v / 6.0 + 0.5, 0.0), 1.0)


class ActivationCase(NamedTuple):
    reference: Callable[[np.ndarray], np.ndarray]  # the Keras 3 formula, element by element with `math`
    kinks: tuple[float, ...]  # points where the derivative jumps: samples keep away from them


ACTIVATION_CASES: dict[str, ActivationCase] = {
    "linear": ActivationCase(_elementwise(lambda v: v), ()),
    "sigmoid": ActivationCase(_elementwise(_sigmoid), ()),
    "tanh": ActivationCase(_elementwise(math.tanh), ()),
    "relu": ActivationCase(_elementwise(lambda v: max(v, 0.0)), (0.0,)),
    "relu6": ActivationCase(_elementwise(lambda v: min(max(v, 0.0), 6.0)), (0.0, 6.0)),
    "softmax": ActivationCase(_softmax_rows, ()),
    "elu": ActivationCase(_elementwise(lambda v: v if v > 0 else math.expm1(v)), (0.0,)),
    "selu": ActivationCase(_elementwise(lambda v: SELU_SCALE * (v if v > 0 else SELU_ALPHA * math.expm1(v))), (0.0,)),
    "leaky_relu": ActivationCase(_elementwise(lambda v: v if v > 0 else 0.2 * v), (0.0,)),
    "gelu": ActivationCase(_elementwise(lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))), ()),
    "softplus": ActivationCase(_elementwise(lambda v: math.log1p(math.exp(v))), ()),
    "softsign": ActivationCase(_elementwise(lambda v: v / (1.0 + abs(v))), ()),
    "silu": ActivationCase(_elementwise(lambda v: v * _sigmoid(v)), ()),
    "hard_sigmoid": ActivationCase(_elementwise(_hard_sigmoid), (-3.0, 3.0)),
    "hard_silu": ActivationCase(_elementwise(lambda v: v * _hard_sigmoid(v)), (-3.0, 3.0)),
    "exponential": ActivationCase(_elementwise(math.exp), ()),
}


def activation_case(name: str) -> ActivationCase:
    if name not in ACTIVATION_CASES:
        pytest.fail(f"activation {name!r} is registered but has no entry in ACTIVATION_CASES; add one")
    return ACTIVATION_CASES[name]


def activation_sample(rng: np.random.Generator, kinks: tuple[float, ...], shape=(4, 6)) -> np.ndarray:
    """Points spread over [-7.9, 7.9] (every regime of every activation), kept off the kinks."""
    x = np.linspace(-7.9, 7.9, math.prod(shape)) + rng.uniform(-0.2, 0.2, math.prod(shape))
    x = away_from(rng.permutation(x).reshape(shape), kinks)
    assert min_distance(x, kinks) > 0.049
    return x


def test_activation_catalogue_has_no_stale_names():
    assert set(ACTIVATION_CASES) == set(ACTIVATIONS.names())


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activation_gradient(name, rng):
    case = activation_case(name)
    fn = ACTIVATIONS.get(name)
    x = activation_sample(rng, case.kinks)
    y = fn.forward(x, np.empty_like(x)).copy()
    dy = rng.normal(size=x.shape)
    # An activation that says it needs only y must manage without x.
    dx = fn.backward(dy.copy(), x.copy() if fn.uses_input else None, y)
    numeric = numeric_vjp(lambda: fn.forward(x, np.empty_like(x)), x, dy)
    assert_grad_close(dx, numeric, f"activation {name}")


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activation_forward_matches_reference_form(name, rng):
    case = activation_case(name)
    fn = ACTIVATIONS.get(name)
    x = activation_sample(rng, case.kinks)
    expected = case.reference(x)
    np.testing.assert_allclose(fn(x), expected, rtol=1e-13, atol=1e-14)
    # in place (out is x), as Dense computes activations that need only y
    inplace = x.copy()
    np.testing.assert_allclose(fn.forward(inplace, inplace), expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize(
    ("name", "x", "expected"),
    [
        ("gelu", 1.0, 0.8413447460685429),  # exact erf form; the tanh approximation gives 0.84119199
        ("gelu", -2.0, -0.04550026389635842),
        ("hard_sigmoid", 1.0, 2.0 / 3.0),  # Keras 3: x/6 + 0.5 (tf.keras 2 gave 0.7)
        ("hard_sigmoid", -3.5, 0.0),
        ("hard_sigmoid", 3.5, 1.0),
        ("hard_silu", 1.5, 1.5 * 0.75),
        ("leaky_relu", -1.0, -0.2),  # the activation's slope is 0.2 (the LeakyReLU layer's is 0.3)
        ("selu", 1.0, 1.0507009873554805),
        ("selu", -1.0, -1.1113307378125625),  # scale · alpha · (e^-1 − 1)
        ("elu", -1.0, -0.6321205588285577),
        ("relu6", 7.0, 6.0),
        ("softplus", 0.0, math.log(2.0)),
        ("softsign", 3.0, 0.75),
        ("silu", 1.0, 0.7310585786300049),
    ],
)
def test_activation_keras_reference_values(name, x, expected):
    out = ACTIVATIONS.get(name)(np.array([x], F64))
    assert out[0] == pytest.approx(expected, rel=1e-14, abs=1e-15)


def test_activation_aliases_are_the_same_functions():
    assert ACTIVATIONS.get("swish") is ACTIVATIONS.get("silu")
    assert ACTIVATIONS.get("hard_swish") is ACTIVATIONS.get("hard_silu")


# =====================================================================================================
# Losses: per-sample values, dL/dp, and dL/dz through the fused sigmoid / softmax
# =====================================================================================================

N, C = 5, 3


def _probs(rng, shape=(N, C)):
    return rng.uniform(0.05, 0.95, shape)


def _unnormalised(rng):
    return rng.uniform(0.1, 2.0, (N, C))  # rows that do not sum to 1: CCE renormalises them


def _simplex(rng):
    e = np.exp(rng.normal(size=(N, C)))
    return e / e.sum(axis=1, keepdims=True)


def _onehot(rng):
    return np.eye(C)[rng.integers(0, C, N)]


def _binary(rng, shape=(N, C)):
    return rng.integers(0, 2, shape).astype(F64)


def _signed(rng, lo, hi, shape=(N, C)):
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def _huber_data(delta):
    def data(rng):
        y = rng.normal(size=(N, C))
        # |e| in (0.1δ, 0.9δ) on the quadratic side, (1.1δ, 3δ) on the linear side, in a checkerboard
        small, large = _signed(rng, 0.1 * delta, 0.9 * delta), _signed(rng, 1.1 * delta, 3 * delta)
        e = np.where(np.indices((N, C)).sum(axis=0) % 2 == 0, small, large)
        return y, y + e

    return data


def _mae_data(rng):
    y = rng.normal(size=(N, C))
    return y, y + _signed(rng, 0.1, 1.0)  # |p − y| ≥ 0.1: away from the kink at 0


@dataclass(frozen=True)
class LossCase:
    id: str
    make: Callable[[], Loss]
    data: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]  # (y_true, y_pred)


LOSS_CASES = [
    LossCase("bce-probs", lambda: BinaryCrossentropy(), lambda r: (_binary(r), _probs(r))),
    LossCase("bce-probs-soft-targets", lambda: BinaryCrossentropy(), lambda r: (r.uniform(0, 1, (N, C)), _probs(r))),
    LossCase("bce-probs-1d-targets", lambda: BinaryCrossentropy(), lambda r: (_binary(r, (N,)), _probs(r, (N, 1)))),
    LossCase(
        "bce-probs-smoothing",
        lambda: BinaryCrossentropy(label_smoothing=0.2),
        lambda r: (_binary(r), _probs(r)),
    ),
    LossCase(
        "bce-logits",
        lambda: BinaryCrossentropy(from_logits=True),
        lambda r: (_binary(r), 2 * r.normal(size=(N, C))),
    ),
    LossCase(
        "bce-logits-smoothing",
        lambda: BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        lambda r: (_binary(r), 2 * r.normal(size=(N, C))),
    ),
    LossCase("cce-probs", lambda: CategoricalCrossentropy(), lambda r: (_onehot(r), _simplex(r))),
    LossCase("cce-probs-unnormalised", lambda: CategoricalCrossentropy(), lambda r: (_onehot(r), _unnormalised(r))),
    LossCase("cce-soft-targets", lambda: CategoricalCrossentropy(), lambda r: (_simplex(r), _unnormalised(r))),
    LossCase(
        "cce-probs-smoothing",
        lambda: CategoricalCrossentropy(label_smoothing=0.1),
        lambda r: (_onehot(r), _unnormalised(r)),
    ),
    LossCase(
        "cce-logits",
        lambda: CategoricalCrossentropy(from_logits=True),
        lambda r: (_onehot(r), 2 * r.normal(size=(N, C))),
    ),
    LossCase(
        "cce-logits-smoothing",
        lambda: CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
        lambda r: (_onehot(r), 2 * r.normal(size=(N, C))),
    ),
    LossCase(
        "scce-probs",
        lambda: SparseCategoricalCrossentropy(),
        lambda r: (r.integers(0, C, N), _unnormalised(r)),
    ),
    LossCase(
        "scce-probs-column-targets",
        lambda: SparseCategoricalCrossentropy(),
        lambda r: (r.integers(0, C, (N, 1)).astype(F64), _simplex(r)),
    ),
    LossCase(
        "scce-logits",
        lambda: SparseCategoricalCrossentropy(from_logits=True),
        lambda r: (r.integers(0, C, N), 2 * r.normal(size=(N, C))),
    ),
    LossCase("mse", lambda: MeanSquaredError(), lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)))),
    LossCase("mse-1d-targets", lambda: MeanSquaredError(), lambda r: (r.normal(size=N), r.normal(size=(N, 1)))),
    LossCase("mae", lambda: MeanAbsoluteError(), _mae_data),
    LossCase("huber", lambda: Huber(), _huber_data(1.0)),
    LossCase("huber-delta-0.5", lambda: Huber(delta=0.5), _huber_data(0.5)),
]
FUSED_CASES = [c for c in LOSS_CASES if c.make().fused_activation is not None]


def _scale(kind: str, rng: np.random.Generator) -> tuple[Any, np.ndarray]:
    """(scale as ``grad`` takes it, the same weights as a per-sample vector)."""
    if kind == "scalar":
        return 0.37, np.full(N, 0.37)
    w = rng.uniform(0.2, 2.0, N)
    w[1] = 0.0  # a zero weight must zero that sample's gradient
    return w[:, None], w


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_registered_loss_has_gradient_cases(name):
    from test_losses_new import NEW_LOSS_CASES  # the losses of issue 10 are checked there

    covered = {type(c.make()) for c in [*LOSS_CASES, *NEW_LOSS_CASES]}
    assert LOSSES.get(name) in covered, f"loss {name!r} is registered but has no LossCase; add one"


def test_every_probability_loss_has_a_fused_case():
    fused = {type(c.make()) for c in FUSED_CASES}
    for name in LOSSES.names():
        cls = LOSSES.get(name)
        if cls.fused_activation is not None:
            assert cls in fused, f"loss {name!r} has a fused activation but no grad_logits case"


@pytest.mark.parametrize("scale_kind", ["scalar", "sample-weights"])
@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.id)
def test_loss_gradient(case, scale_kind, rng):
    loss = case.make()
    y, p = case.data(rng)
    t = loss.prepare_targets(np.asarray(y), p.shape, F64)
    scale, w = _scale(scale_kind, rng)
    g = loss.grad(t, p.copy(), scale)
    numeric = numeric_vjp(lambda: loss.call(t, p), p, w)
    assert g.shape == p.shape
    assert_grad_close(g, numeric, f"{case.id} dL/dp")


@pytest.mark.parametrize("scale_kind", ["scalar", "sample-weights"])
@pytest.mark.parametrize("case", FUSED_CASES, ids=lambda c: c.id)
def test_loss_gradient_through_fused_activation(case, scale_kind, rng):
    loss = case.make()
    act = ACTIVATIONS.get(loss.fused_activation)
    y, p = case.data(rng)
    z = 1.5 * rng.normal(size=p.shape)
    t = loss.prepare_targets(np.asarray(y), p.shape, F64)
    scale, w = _scale(scale_kind, rng)
    g = loss.grad_logits(t, act(z), scale)
    numeric = numeric_vjp(lambda: loss.call(t, act(z)), z, w)
    assert_grad_close(g, numeric, f"{case.id} dL/dz through {act.name}")


@pytest.mark.parametrize(
    ("loss", "y", "z"),
    [
        # z = ±20 puts σ(z) outside [ε, 1−ε]: the clip makes the loss flat there, so dL/dz = 0
        (BinaryCrossentropy(), [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], [[-20.0, 0.3, 20.0], [20.0, -1.2, -20.0]]),
        # softmax row 0 puts p ≈ 1 − 2e-9 on its target class: that row's loss is flat
        (CategoricalCrossentropy(), [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[20.0, -20.0, 0.0], [0.5, -0.3, 1.1]]),
        (SparseCategoricalCrossentropy(), [0, 1], [[20.0, -20.0, 0.0], [0.5, -0.3, 1.1]]),
    ],
    ids=["bce", "cce", "scce"],
)
def test_fused_gradient_is_zero_where_the_clip_saturates(loss, y, z):
    z = np.array(z)
    act = ACTIVATIONS.get(loss.fused_activation)
    t = loss.prepare_targets(np.array(y), z.shape, F64)
    g = loss.grad_logits(t, act(z), 1.0)
    numeric = numeric_vjp(lambda: loss.call(t, act(z)), z, np.ones(len(z)))
    saturated = np.abs(z) == 20.0 if isinstance(loss, BinaryCrossentropy) else np.array([[True] * 3, [False] * 3])
    assert np.all(g[saturated] == 0.0)
    assert np.all(g[~saturated] != 0.0)
    assert_grad_close(g, numeric, f"{loss.name} saturated dL/dz")


def test_bce_gradient_is_zero_where_probabilities_are_clipped():
    loss = BinaryCrossentropy()
    p = np.array([[0.0, 1.0, 1e-9, 0.3]])
    t = loss.prepare_targets(np.array([[1.0, 0.0, 1.0, 1.0]]), p.shape, F64)
    g = loss.grad(t, p, 1.0)
    np.testing.assert_array_equal(g[0, :3], 0.0)
    assert g[0, 3] == pytest.approx((0.3 - 1.0) / (0.3 * 0.7) / 4, rel=1e-12)


# -- loss values against keras-semantics.md §4 through the public Loss()(y_true, y_pred, sample_weight)


def test_huber_reference_value():
    assert Huber()(np.array([0.0, 0.0]), np.array([0.5, 3.0])) == pytest.approx(1.3125, rel=1e-7)
    assert Huber()(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]])) == pytest.approx(1.3125, rel=1e-7)


@pytest.mark.parametrize(("y", "p", "expected"), [(0.0, 1.0, 15.942385), (1.0, 0.0, 16.118095)])
def test_bce_clipping_maxima_in_float32(y, p, expected):
    value = BinaryCrossentropy()(np.array([[y]], np.float32), np.array([[p]], np.float32))
    assert value.dtype == np.float32
    # 1 − ε rounds to 0.99999988 in float32, hence 15.942385 and not −log(1e-7) = 16.118095
    assert value == pytest.approx(expected, rel=2e-7)


def test_cce_renormalises_unnormalised_rows():
    y = np.array([[0.0, 1.0, 0.0]])
    value = CategoricalCrossentropy()(y, np.array([[0.1, 0.1, 0.1]]))
    assert value == pytest.approx(math.log(3.0), rel=1e-6)
    assert value == pytest.approx(CategoricalCrossentropy()(y, np.array([[1 / 3, 1 / 3, 1 / 3]])), rel=1e-6)


def test_sample_weighted_reduction_divides_by_batch_size():
    # per-sample losses −log 0.8 = 0.2231, −log 0.7 = 0.3567, ≈0; weights 1, 3, 0
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    p = np.array([[0.8, 0.2], [0.3, 0.7], [1.0, 0.0]])
    w = np.array([1.0, 3.0, 0.0])
    weighted_sum = -math.log(0.8) - 3 * math.log(0.7)
    assert CategoricalCrossentropy()(y, p, sample_weight=w) == pytest.approx(weighted_sum / 3, rel=1e-6)
    assert CategoricalCrossentropy()(y, p, sample_weight=w) == pytest.approx(0.4311, abs=5e-5)
    mean_w = CategoricalCrossentropy(reduction="mean_with_sample_weight")(y, p, sample_weight=w)
    assert mean_w == pytest.approx(0.3233, abs=5e-5)


# =====================================================================================================
# Layers: dx and every trainable weight's gradient, from layer.forward / layer.backward
# =====================================================================================================


def check_layer(layer, x, rng, training: bool = True) -> None:
    """Compare ``backward``'s dx and every trainable weight's ``var.grad`` with central differences."""
    xs = x if isinstance(x, list) else [x]
    y = np.array(layer.forward(x, training), copy=True)
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy.copy(), need_dx=True)
    dxs = [np.array(d, copy=True) for d in (dx if isinstance(x, list) else [dx])]
    grads = [np.array(v.grad, copy=True) for v in layer.trainable_weights]

    def run():
        return layer.forward(x, training)

    assert len(dxs) == len(xs)
    for i, (xi, dxi) in enumerate(zip(xs, dxs)):
        assert_grad_close(dxi, numeric_vjp(run, xi, dy), f"{layer.name} dx[{i}]")
    for v, g in zip(layer.trainable_weights, grads):
        assert_grad_close(g, numeric_vjp(run, v.value, dy), f"{layer.name} d{v.name}")


def randomize_weights(weights, rng) -> None:
    """Non-trivial values for every weight (biases and β are not zero, γ is not one)."""
    for v in weights:
        if v.name == "moving_variance":
            v.value[...] = rng.uniform(0.5, 2.0, v.shape)
        else:
            v.value[...] = rng.normal(size=v.shape)


def dense_input_off_kinks(layer, rng, shape, kinks, tries: int = 200) -> np.ndarray:
    """An input (and weights) for which no pre-activation x·W + b lies within 0.01 of a kink of the
    activation, with pre-activations on both sides of every kink."""
    for _ in range(tries):
        x = rng.normal(size=shape)
        randomize_weights(layer.weights, rng)
        layer.kernel.value[...] *= 2.0  # pre-activations spread over about ±8
        z = x @ layer.kernel.value + (layer.bias.value if layer.bias is not None else 0.0)
        both_sides = all(np.any(z < k) and np.any(z > k) for k in kinks)
        if both_sides and min_distance(z, kinks) > 0.01:
            return x
    raise AssertionError(f"no input off the kinks {kinks} in {tries} tries")


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_dense_gradient_with_each_activation(name, rng):
    layer = Dense(3, activation=name, dtype="float64")
    layer(np.zeros((1, 4)))
    x = dense_input_off_kinks(layer, rng, (8, 4), activation_case(name).kinks)
    assert [v.name for v in layer.trainable_weights] == ["kernel", "bias"]
    check_layer(layer, x, rng)


def test_dense_gradient_without_bias(rng):
    layer = Dense(3, activation="sigmoid", use_bias=False, dtype="float64")
    layer(np.zeros((1, 4)))
    randomize_weights(layer.weights, rng)
    assert [v.name for v in layer.trainable_weights] == ["kernel"]
    check_layer(layer, rng.normal(size=(5, 4)), rng)


def test_dense_gradient_on_3d_input(rng):
    layer = Dense(3, activation="tanh", dtype="float64")
    layer(np.zeros((1, 2, 4)))
    randomize_weights(layer.weights, rng)
    assert layer.kernel.shape == (4, 3)
    check_layer(layer, rng.normal(size=(3, 2, 4)), rng)


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_activation_layer_gradient(name, rng):
    layer = Activation(name, dtype="float64")
    x = activation_sample(rng, activation_case(name).kinks, shape=(3, 4))
    layer(x)
    check_layer(layer, x, rng)


def _bn_input(rng, shape=(8, 3)):
    # features with very different means and scales
    return rng.normal(size=shape) * np.array([1.0, 5.0, 0.2]) + np.array([0.0, 3.0, -1.0])


@pytest.mark.parametrize(
    ("center", "scale"), [(True, True), (False, True), (True, False), (False, False)], ids=lambda v: str(v)
)
def test_batch_normalization_training_gradient(center, scale, rng):
    # In training the output depends on x through the batch mean and variance as well.
    layer = BatchNormalization(center=center, scale=scale, dtype="float64")
    x = _bn_input(rng)
    layer(x)
    randomize_weights(layer.weights, rng)
    expected = ["gamma"] * scale + ["beta"] * center
    assert [v.name for v in layer.trainable_weights] == expected
    check_layer(layer, x, rng)


def test_batch_normalization_training_gradient_on_3d_input(rng):
    layer = BatchNormalization(dtype="float64")
    x = _bn_input(rng, (4, 2, 3))
    layer(x)
    randomize_weights(layer.weights, rng)
    check_layer(layer, x, rng)


def test_batch_normalization_inference_gradient(rng):
    # y = γ·(x − moving_mean)/sqrt(moving_variance + ε) + β: the statistics are constants here
    layer = BatchNormalization(dtype="float64")
    x = _bn_input(rng)
    layer(x)
    randomize_weights(layer.weights, rng)
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    y = layer.forward(x, training=False).copy()
    np.testing.assert_allclose(y, layer.gamma.value * (x - mm) / np.sqrt(mv + 1e-3) + layer.beta.value, rtol=1e-12)
    check_layer(layer, x, rng, training=False)
    # inference must not move the statistics
    np.testing.assert_array_equal(layer.moving_mean.value, mm)
    np.testing.assert_array_equal(layer.moving_variance.value, mv)


def test_frozen_batch_normalization_runs_in_inference_mode(rng):
    layer = BatchNormalization(trainable=False, dtype="float64")
    x = _bn_input(rng)
    layer(x)
    randomize_weights(layer.weights, rng)
    mm, mv = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    y = layer.forward(x, training=True).copy()
    np.testing.assert_allclose(y, layer.gamma.value * (x - mm) / np.sqrt(mv + 1e-3) + layer.beta.value, rtol=1e-12)
    assert layer.trainable_weights == []
    check_layer(layer, x, rng, training=True)


def test_dropout_training_gradient_reuses_the_mask(rng):
    rate = 0.4

    def fresh():  # a layer seeded the same way draws the same mask on its first forward
        return Dropout(rate, seed=7, dtype="float64")

    x = rng.normal(size=(6, 5))
    layer = fresh()
    y = layer.forward(x, training=True).copy()
    dy = rng.normal(size=y.shape)
    dx = layer.backward(dy.copy(), need_dx=True).copy()
    kept = y != 0
    assert 0 < kept.mean() < 1
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-15)
    np.testing.assert_array_equal(dx, np.where(kept, dy / (1 - rate), 0.0))
    numeric = numeric_vjp(lambda: fresh().forward(x, training=True), x, dy)
    assert_grad_close(dx, numeric, "dropout dx")


def test_dropout_is_the_identity_outside_training(rng):
    layer = Dropout(0.4, seed=7, dtype="float64")
    x = rng.normal(size=(6, 5))
    layer(x)
    check_layer(layer, x, rng, training=False)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_flatten_gradient(rng):
    layer = Flatten(dtype="float64")
    x = rng.normal(size=(3, 2, 4))
    layer(x)
    assert layer.forward(x, True).shape == (3, 8)
    check_layer(layer, x, rng)


@pytest.mark.parametrize(
    ("shapes", "axis"), [([(4, 3), (4, 2)], -1), ([(4, 2, 3), (4, 1, 3), (4, 3, 3)], 1)], ids=["last", "axis1"]
)
def test_concatenate_gradient(shapes, axis, rng):
    layer = Concatenate(axis=axis, dtype="float64")
    xs = [rng.normal(size=s) for s in shapes]
    layer(xs)
    check_layer(layer, xs, rng)


def test_add_gradient(rng):
    layer = Add(dtype="float64")
    xs = [rng.normal(size=(4, 3)) for _ in range(3)]
    layer(xs)
    check_layer(layer, xs, rng)


# =====================================================================================================
# Whole models: the full-batch loss gradient of the internal training path against central differences
# =====================================================================================================


def _seq(input_shape, *layers):
    return Sequential([Input(input_shape), *layers])


def _two_inputs_concat():
    a, b = Input((3,)), Input((2,))
    h = Concatenate()([Dense(4, activation="tanh")(a), Dense(3, activation="elu")(b)])
    return Model([a, b], Dense(3, activation="softmax")(h))


def _two_inputs_add():
    a, b = Input((3,)), Input((2,))
    h = Add()([Dense(4, activation="sigmoid")(a), Dense(4, activation="tanh")(b)])
    return Model([a, b], Dense(1)(h))


def _residual_add():
    # h feeds both the Add and the next Dense: its gradient is the sum of two paths
    x = Input((3,))
    h = Dense(4, activation="tanh")(x)
    return Model(x, Dense(2)(Add()([h, Dense(4, activation="softplus")(h)])))


class ModelCase(NamedTuple):
    build: Callable[[], Model]
    loss: Callable[[], Any]  # a name or a Loss, as compile takes it
    targets: Callable[[np.random.Generator, int], np.ndarray]
    fused: bool  # whether the loss takes dL/dz of the output activation directly


def _sparse3(r, n):
    return r.integers(0, 3, n)


def _onehot3(r, n):
    return np.eye(3)[r.integers(0, 3, n)]


MODEL_CASES = {
    "softmax-scce": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh"), Dense(3, activation="softmax")),
        lambda: "sparse_categorical_crossentropy",
        _sparse3,
        True,
    ),
    "softmax-cce": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh"), Dense(3, activation="softmax")),
        lambda: "categorical_crossentropy",
        _onehot3,
        True,
    ),
    "softmax-cce-smoothing": ModelCase(
        lambda: _seq((4,), Dense(5, activation="gelu"), Dense(3, activation="softmax")),
        lambda: CategoricalCrossentropy(label_smoothing=0.1),
        _onehot3,
        True,
    ),
    "softmax-activation-layer-cce": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh"), Dense(3), Activation("softmax")),
        lambda: "categorical_crossentropy",
        _onehot3,
        True,
    ),
    "sigmoid-bce": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh"), Dense(2, activation="sigmoid")),
        lambda: "binary_crossentropy",
        lambda r, n: r.integers(0, 2, (n, 2)).astype(F64),
        True,
    ),
    "sigmoid-bce-one-unit": ModelCase(
        lambda: _seq((4,), Dense(5, activation="silu"), Dense(1, activation="sigmoid")),
        lambda: "binary_crossentropy",
        lambda r, n: r.integers(0, 2, n).astype(F64),
        True,
    ),
    "linear-cce-from-logits": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh"), Dense(3)),
        lambda: CategoricalCrossentropy(from_logits=True),
        _onehot3,
        False,
    ),
    "softmax-mse": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh"), Dense(3, activation="softmax")),
        lambda: "mse",
        lambda r, n: r.uniform(0, 1, (n, 3)),
        False,
    ),
    "linear-mse": ModelCase(
        lambda: _seq((4,), Dense(5, activation="sigmoid"), Dense(2)),
        lambda: "mse",
        lambda r, n: r.normal(size=(n, 2)),
        False,
    ),
    "tanh-huber": ModelCase(
        lambda: _seq((4,), Dense(5, activation="softsign"), Dense(2, activation="tanh")),
        lambda: Huber(delta=0.5),
        lambda r, n: r.uniform(-1.5, 1.5, (n, 2)),
        False,
    ),
    "batchnorm-relu": ModelCase(
        # no bias before BN: BN subtracts the batch mean, so a bias there has a gradient of exactly 0
        lambda: _seq((4,), Dense(6, use_bias=False), BatchNormalization(), Activation("relu"), Dense(2)),
        lambda: "mse",
        lambda r, n: r.normal(size=(n, 2)),
        False,
    ),
    "flatten": ModelCase(
        lambda: _seq((2, 3), Flatten(), Dense(4, activation="selu"), Dense(3, activation="softmax")),
        lambda: "sparse_categorical_crossentropy",
        _sparse3,
        True,
    ),
    "frozen-middle": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh"), Dense(4, activation="sigmoid", trainable=False), Dense(2)),
        lambda: "mse",
        lambda r, n: r.normal(size=(n, 2)),
        False,
    ),
    "frozen-first": ModelCase(
        lambda: _seq((4,), Dense(5, activation="tanh", trainable=False), BatchNormalization(trainable=False), Dense(2)),
        lambda: "mse",
        lambda r, n: r.normal(size=(n, 2)),
        False,
    ),
    "functional-concatenate": ModelCase(_two_inputs_concat, lambda: "sparse_categorical_crossentropy", _sparse3, True),
    "functional-add": ModelCase(_two_inputs_add, lambda: "huber", lambda r, n: r.normal(size=(n, 1)), False),
    "functional-residual-add": ModelCase(_residual_add, lambda: "mse", lambda r, n: r.normal(size=(n, 2)), False),
}


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weights"])
@pytest.mark.parametrize("case_id", list(MODEL_CASES))
def test_model_loss_gradient(case_id, weighted, rng):
    case = MODEL_CASES[case_id]
    model = case.build()
    model.compile(optimizer="sgd", loss=case.loss())
    randomize_weights(model.weights, rng)
    n = 6
    xs = [rng.normal(size=(n, *t.shape[1:])) for t in model.inputs]
    y = case.targets(rng, n)
    assert model._fused == case.fused

    # analytic: the training path of fit, with L = Σ w_i·values_i / n
    model._ensure_flat()
    p = model._run_forward(xs, True)
    t = model._prepare_targets(y, (None, *p.shape[1:]))
    w = rng.uniform(0.2, 2.0, n) if weighted else np.ones(n)
    scale = (w / n)[:, None] if weighted else 1.0 / n
    grad_fn = model.loss.grad_logits if model._fused else model.loss.grad
    model._run_backward(grad_fn(t.loss, p, scale))
    trainable = model.trainable_weights
    grads = [v.grad.copy() for v in trainable]

    frozen = [v for layer in model.layers if not layer.trainable for v in layer.weights]
    assert not any(v is u for v in frozen for u in trainable)
    for v in frozen:  # a frozen layer's weights get no gradient
        assert v.grad is None or not np.any(v.grad), f"frozen weight {v.path} got a gradient"

    def values():
        return model.loss.call(t.loss, model._run_forward(xs, True))

    for v, g in zip(trainable, grads):
        assert_grad_close(g, numeric_vjp(values, v.value, w / n), f"{case_id}: {v.path}")
