"""A Sequential model as an ONNX graph, for inference: Dense as Gemm (MatMul + Add above 2-D inputs), Flatten,
BatchNormalization folded into a multiply and an add with its moving statistics (computed as the layer
computes them, in the model's dtype), Dropout left out, and every activation nnrun has as ONNX operators.

Needs the ``onnx`` package (``pip install 'nnrun[onnx]'``), imported only when a model is exported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnrun.engine import activations
from nnrun.engine.layers import Activation, BatchNormalization, Dense, Dropout, Flatten, InputLayer, Softmax
from nnrun.errors import InvalidArgumentError

OPSET = 17  # Softmax over one axis (13+), Clip with inputs (11+); onnxruntime 1.14 and later run it
IR_VERSION = 8  # what opset 17 needs; readable by older runtimes than the onnx package's newest
INSTALL_HINT = "pip install 'nnrun[onnx]'"


def require_onnx() -> Any:
    """The ``onnx`` module, or an error that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise InvalidArgumentError(f"Exporting to ONNX needs the onnx package: {INSTALL_HINT}") from None
    return onnx


class _Graph:
    """Nodes and constants being collected, with fresh tensor names."""

    def __init__(self, onnx: Any, dtype: np.dtype) -> None:
        self.onnx, self.dtype = onnx, dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, base: str) -> str:
        self._count += 1
        return f"{base}_{self._count}"

    def const(self, base: str, value: Any, dtype: np.dtype | None = None) -> str:
        name = self.name(base)
        array = np.asarray(value, dtype=dtype or self.dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], base: str, **attributes: Any) -> str:
        out = self.name(base)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], name=out, **attributes))
        return out


def _activation(g: _Graph, fn: activations.ActivationFunction, x: str, where: str) -> str:
    """``fn(x)`` as ONNX nodes (the formulas of :mod:`nnrun.engine.activations`)."""
    name = fn.name
    build = _ACTIVATIONS.get(name)
    if build is None:
        raise InvalidArgumentError(
            f"{where}: activation {name or fn!r} cannot be exported to ONNX. Exportable: {', '.join(_ACTIVATIONS)}"
        )
    return build(g, x, where)


def _sigmoid_times_x(g: _Graph, x: str, where: str) -> str:
    return g.op("Mul", [x, g.op("Sigmoid", [x], f"{where}_sigmoid")], f"{where}_silu")


def _hard_sigmoid(g: _Graph, x: str, where: str) -> str:
    return g.op("HardSigmoid", [x], f"{where}_hard_sigmoid", alpha=1.0 / 6.0, beta=0.5)


def _gelu(g: _Graph, x: str, where: str) -> str:
    # y = x · (erf(x/√2) + 1) / 2
    e = g.op("Erf", [g.op("Mul", [x, g.const("sqrt_half", 0.7071067811865476)], f"{where}_scaled")], f"{where}_erf")
    e1 = g.op("Add", [e, g.const("one", 1.0)], f"{where}_erf1")
    return g.op("Div", [g.op("Mul", [x, e1], f"{where}_xe"), g.const("two", 2.0)], f"{where}_gelu")


_ACTIVATIONS: dict[str, Callable[[_Graph, str, str], str]] = {
    "linear": lambda g, x, w: x,
    "sigmoid": lambda g, x, w: g.op("Sigmoid", [x], f"{w}_sigmoid"),
    "tanh": lambda g, x, w: g.op("Tanh", [x], f"{w}_tanh"),
    "relu": lambda g, x, w: g.op("Relu", [x], f"{w}_relu"),
    "relu6": lambda g, x, w: g.op("Clip", [x, g.const("zero", 0.0), g.const("six", 6.0)], f"{w}_relu6"),
    "softmax": lambda g, x, w: g.op("Softmax", [x], f"{w}_softmax", axis=-1),
    "elu": lambda g, x, w: g.op("Elu", [x], f"{w}_elu", alpha=1.0),
    "selu": lambda g, x, w: g.op(
        "Selu", [x], f"{w}_selu", alpha=activations._SELU_ALPHA, gamma=activations._SELU_SCALE
    ),
    "leaky_relu": lambda g, x, w: g.op("LeakyRelu", [x], f"{w}_leaky_relu", alpha=activations.LeakyRelu.negative_slope),
    "gelu": _gelu,
    "softplus": lambda g, x, w: g.op("Softplus", [x], f"{w}_softplus"),
    "softsign": lambda g, x, w: g.op("Softsign", [x], f"{w}_softsign"),
    "silu": _sigmoid_times_x,
    "hard_sigmoid": _hard_sigmoid,
    "hard_silu": lambda g, x, w: g.op("Mul", [x, _hard_sigmoid(g, x, w)], f"{w}_hard_silu"),
    "exponential": lambda g, x, w: g.op("Exp", [x], f"{w}_exp"),
}


def _dense(g: _Graph, layer: Dense, x: str, rank: int) -> str:
    kernel = g.const(f"{layer.name}_kernel", layer.kernel.value)
    bias = None if layer.bias is None else g.const(f"{layer.name}_bias", layer.bias.value)
    if rank == 2:
        z = g.op("Gemm", [x, kernel] + ([bias] if bias else []), f"{layer.name}_gemm")
    else:  # (batch, ..., features): MatMul broadcasts over the leading axes
        z = g.op("MatMul", [x, kernel], f"{layer.name}_matmul")
        if bias is not None:
            z = g.op("Add", [z, bias], f"{layer.name}_bias_add")
    return _activation(g, layer.activation, z, layer.name)


def _batch_normalization(g: _Graph, layer: BatchNormalization, x: str, rank: int) -> str:
    # inference: y = x·inv + (β − μ·inv), inv = γ / sqrt(σ² + ε), in the layer's own order and dtype
    mean, var = layer.moving_mean.value, layer.moving_variance.value
    rstd = 1.0 / np.sqrt(var + layer.epsilon)
    inv = rstd * layer.gamma.value if layer.gamma is not None else rstd
    shift = -mean * inv
    if layer.beta is not None:
        shift = shift + layer.beta.value
    axis = layer.axis % rank
    shape = [1] * rank
    shape[axis] = len(inv)
    shape = shape[1:]  # broadcast against (batch, ...)
    scaled = g.op("Mul", [x, g.const(f"{layer.name}_scale", inv.reshape(shape))], f"{layer.name}_mul")
    return g.op("Add", [scaled, g.const(f"{layer.name}_shift", shift.reshape(shape))], f"{layer.name}_add")


def model_to_onnx(model: Any, metadata: Mapping[str, str] | None = None, name: str | None = None) -> Any:
    """An ``onnx.ModelProto`` computing ``model.predict`` (inference mode), checked with ``onnx.checker``.

    The graph's input is ``input`` of shape ``(batch, *input_shape)``, its output ``output``; ``metadata``
    becomes the model's ``metadata_props``.
    """
    onnx = require_onnx()
    from nnrun.engine.models.sequential import Sequential

    if not isinstance(model, Sequential):
        raise InvalidArgumentError(
            f"ONNX export takes Sequential models; model '{model.name}' is a {type(model).__name__}."
        )
    model._require_built()
    layers = [layer for layer in model.layers if not isinstance(layer, InputLayer)]
    dtype = np.dtype(layers[0].dtype if layers else np.float32)
    elem = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    shape = tuple(model.input_shape[1:])
    g = _Graph(onnx, dtype)
    x, rank = "input", 1 + len(shape)
    for layer in layers:
        if isinstance(layer, Dense):
            x = _dense(g, layer, x, rank)
        elif isinstance(layer, BatchNormalization):
            x = _batch_normalization(g, layer, x, rank)
        elif isinstance(layer, Dropout):
            continue  # inference: the identity
        elif isinstance(layer, Flatten):
            x, rank = g.op("Flatten", [x], f"{layer.name}_flatten", axis=1), 2
        elif isinstance(layer, Activation):
            x = _activation(g, layer.activation, x, layer.name)
        elif isinstance(layer, Softmax):
            x = g.op("Softmax", [x], f"{layer.name}_softmax", axis=layer.axis)
        else:
            raise InvalidArgumentError(
                f"layer '{layer.name}' ({type(layer).__name__}) cannot be exported to ONNX. Exportable layers: "
                "Dense, BatchNormalization, Dropout, Flatten, Activation, Softmax."
            )
    out_shape = tuple(model.output_shape[1:])
    g.nodes.append(onnx.helper.make_node("Identity", [x], ["output"], name="output"))
    graph = onnx.helper.make_graph(
        g.nodes,
        name or model.name,
        [onnx.helper.make_tensor_value_info("input", elem, ["batch", *shape])],
        [onnx.helper.make_tensor_value_info("output", elem, ["batch", *out_shape])],
        g.initializers,
    )
    proto = onnx.helper.make_model(
        graph, producer_name="nnrun", opset_imports=[onnx.helper.make_opsetid("", OPSET)], ir_version=IR_VERSION
    )
    for key, value in (metadata or {}).items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto, full_check=True)
    return proto


__all__ = ["INSTALL_HINT", "model_to_onnx", "require_onnx"]
