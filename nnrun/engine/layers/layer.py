"""The layer base class: weights, building, symbolic calls, and the forward/backward contract.

A layer's ``forward(x, training)`` computes its output and caches what ``backward`` needs;
``backward(dy, need_dx)`` fills the gradients of its trainable weights and returns ``dL/dx`` (or
``None`` when ``need_dx`` is false). Outputs live in buffers the layer keeps per batch size, so the
training loop allocates nothing after the first epoch; a caller that keeps an output must copy it.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from nnrun.engine import initializers
from nnrun.engine.backend import standardize_dtype
from nnrun.engine.naming import to_snake_case, unique_name
from nnrun.engine.symbolic import KerasTensor, Node
from nnrun.engine.variable import Variable
from nnrun.errors import InvalidArgumentError, NotBuiltError

Shape = tuple[int | None, ...]


class Layer:
    """Base class of every layer."""

    #: Layers that take a list of inputs (Concatenate, Add) set this.
    multi_input = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Wrap each subclass's ``build`` so that calling it marks the layer built, as Keras does:
        ``layer.build(shape)`` then ``layer(x)`` must not create a second set of weights."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):

            @functools.wraps(build)
            def marking_build(self: Layer, input_shape: Any) -> None:
                build(self, input_shape)
                self.built = True
                if self._build_input_shape is None:
                    self._build_input_shape = _freeze_shape(input_shape)

            marking_build._marks_built = True  # type: ignore[attr-defined]
            cls.build = marking_build  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        dtype: Any = None,
        input_shape: tuple[int, ...] | None = None,
        input_dim: int | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise InvalidArgumentError(f"{type(self).__name__}: argument(s) not recognized: {kwargs!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidArgumentError(f"Layer name must be a non-empty string. Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.dtype = standardize_dtype(dtype)
        # a layer without weights (no build of its own: Flatten, Activation, Softmax) is built at construction
        self.built = type(self).build is Layer.build
        self._variables: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self._build_input_shape: Shape | None = None
        self._buffers: dict[Any, np.ndarray] = {}
        # Keras 2 spellings for the first layer of a Sequential model.
        if input_dim is not None and input_shape is not None:
            raise InvalidArgumentError(
                f"Layer '{self.name}': pass input_shape or input_dim, not both. "
                f"Received: input_shape={input_shape!r}, input_dim={input_dim!r}"
            )
        if input_dim is not None:
            input_shape = (input_dim,)
        self._declared_input_shape = _check_shape(input_shape, "input_shape") if input_shape is not None else None

    # -- building -------------------------------------------------------------------------------

    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch dimension included, as None)."""
        self.built = True
        if self._build_input_shape is None:
            self._build_input_shape = _freeze_shape(input_shape)

    def _maybe_build(self, input_shape: Shape) -> None:
        if not self.built:
            self.build(input_shape)

    def add_weight(
        self,
        name: str,
        shape: tuple[int, ...],
        initializer: initializers.Initializer | str = "zeros",
        trainable: bool = True,
    ) -> Variable:
        """Create, initialise and track a weight of this layer."""
        init = initializers.get(initializer)
        value = np.ascontiguousarray(init(shape, self.dtype))
        var = Variable(value, name=name, path=f"{self.name}/{name}", trainable=trainable)
        self._variables.append(var)
        return var

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The output shape for ``input_shape`` (with a None batch dimension)."""
        return input_shape

    # -- calling --------------------------------------------------------------------------------

    def __call__(self, inputs: Any, training: bool | None = None) -> Any:
        """On KerasTensors, record a graph node; on arrays, compute the output (inference unless told)."""
        items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(isinstance(t, KerasTensor) for t in items):
            return self._call_symbolic(list(items))
        if self.multi_input:
            arrays = [np.asarray(a, dtype=self.dtype) for a in items]
            self._maybe_build(tuple((None, *a.shape[1:]) for a in arrays))  # type: ignore[arg-type]
            out = self.forward(arrays, bool(training))
        else:
            array = np.asarray(inputs, dtype=self.dtype)
            self._maybe_build((None, *array.shape[1:]))
            out = self.forward(array, bool(training))
        return out.copy()

    def _call_symbolic(self, inputs: list[KerasTensor]) -> KerasTensor:
        if self._inbound_nodes:
            raise InvalidArgumentError(
                f"Layer '{self.name}' is already used in a model; nnrun does not share a layer between two "
                "calls. Create a second layer instead."
            )
        if not self.multi_input and len(inputs) != 1:
            raise InvalidArgumentError(f"Layer '{self.name}' takes one input. Received: {len(inputs)} inputs")
        shapes: Any = tuple(t.shape for t in inputs) if self.multi_input else inputs[0].shape
        self._maybe_build(shapes)
        node = Node(self, inputs)
        out_shape = self.compute_output_shape(shapes)
        node.output = KerasTensor(out_shape, self.dtype, node, name=self.name)
        self._inbound_nodes.append(node)
        return node.output

    def forward(self, x: Any, training: bool) -> np.ndarray:
        """Compute the output for a batch; cache what ``backward`` needs when ``training``."""
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_dx: bool) -> Any:
        """Fill the weight gradients; return ``dL/dx`` (a list for multi-input layers) or None."""
        raise NotImplementedError

    def _buffer(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        """A reusable output buffer for ``key`` (typically the batch size) of ``shape``."""
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape:
            if len(self._buffers) > 16:
                self._buffers.clear()
            buf = self._buffers[key] = np.empty(shape, self.dtype)
        return buf

    # -- weights --------------------------------------------------------------------------------

    @property
    def weights(self) -> list[Variable]:
        """All weights, in Keras order."""
        return list(self._variables)

    @property
    def trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if v.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return self._variables if not self.trainable else [v for v in self._variables if not v.trainable]

    @property
    def variables(self) -> list[Variable]:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weight values, in Keras order."""
        return [v.numpy() for v in self._variables]

    def set_weights(self, weights: list[Any]) -> None:
        """Overwrite the weights (same order, count and shapes as ``get_weights``)."""
        set_variables(self._variables, weights, f"layer '{self.name}'")

    def count_params(self) -> int:
        if not self.built:
            raise NotBuiltError(f"Layer '{self.name}' is not built yet, so it has no parameters to count.")
        return sum(v.size for v in self._variables)

    # -- config ---------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, so that ``cls(**layer.get_config())`` rebuilds the layer."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype.name}
        if self._declared_input_shape is not None:
            config["input_shape"] = list(self._declared_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    @property
    def output_shape(self) -> Shape:
        if not self._inbound_nodes:
            raise NotBuiltError(f"Layer '{self.name}' has not been called on an input yet, so it has no output shape.")
        return self._inbound_nodes[0].output.shape  # type: ignore[union-attr]

    @property
    def input(self) -> KerasTensor:
        if not self._inbound_nodes:
            raise NotBuiltError(f"Layer '{self.name}' has not been called on an input yet.")
        node = self._inbound_nodes[0]
        return node.inputs if self.multi_input else node.inputs[0]  # type: ignore[return-value]

    @property
    def output(self) -> KerasTensor:
        if not self._inbound_nodes:
            raise NotBuiltError(f"Layer '{self.name}' has not been called on an input yet.")
        return self._inbound_nodes[0].output  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def set_variables(variables: list[Variable], weights: list[Any], where: str) -> None:
    """Assign ``weights`` to ``variables`` after checking count and shapes (nothing changes on error)."""
    weights = list(weights)
    if len(weights) != len(variables):
        raise InvalidArgumentError(
            f"{where} expects {len(variables)} weight arrays "
            f"(shapes {[v.shape for v in variables]}). Received: {len(weights)} arrays"
        )
    arrays = []
    for var, w in zip(variables, weights):
        w = np.asarray(w)
        if w.shape != var.shape:
            raise InvalidArgumentError(
                f"{where}: weight '{var.path}' has shape {var.shape}. Received: an array of shape {w.shape}"
            )
        if not np.issubdtype(w.dtype, np.number):
            raise InvalidArgumentError(f"{where}: weight '{var.path}' must be numeric. Received dtype {w.dtype}")
        arrays.append(w)
    for var, w in zip(variables, arrays):
        var.value[...] = w


def _freeze_shape(shape: Any) -> Any:
    """A shape (or a list of shapes) as nested tuples."""
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return tuple(_freeze_shape(s) for s in shape)
    return tuple(shape) if isinstance(shape, (list, tuple)) else shape


def _check_shape(shape: Any, argument: str, allow_empty: bool = False) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{argument} must be a tuple of positive ints. Received: {argument}={shape!r}"
        ) from None
    if (not shape and not allow_empty) or any(d <= 0 for d in shape):
        raise InvalidArgumentError(f"{argument} must be a tuple of positive ints. Received: {argument}={shape!r}")
    return shape
