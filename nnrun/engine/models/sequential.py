"""``Sequential``: a plain stack of layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.engine.layers.input_layer import InputLayer
from nnrun.engine.layers.layer import Layer
from nnrun.engine.models.model import Model
from nnrun.engine.symbolic import KerasTensor
from nnrun.errors import InvalidArgumentError


class Sequential(Model):
    """``Sequential([layer, ...])`` or ``.add(layer)``. Built as soon as the input shape is known: from an
    ``Input``, a first layer's ``input_shape=``/``input_dim=``, ``build(input_shape)``, or the first data."""

    def __init__(self, layers: list[Any] | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self._stack: list[Layer] = []
        self._input_layer: InputLayer | None = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    @classmethod
    def _default_name(cls) -> str:
        return "sequential"

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (or an ``Input``, which must come first; or a built model, used as a layer)."""
        if isinstance(layer, KerasTensor) and layer.node is None:
            layer = layer.input_layer  # type: ignore[attr-defined]
        if isinstance(layer, Model):
            layer = layer.as_layer()
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise InvalidArgumentError("An Input must be the first thing added to a Sequential model.")
            self._input_layer = layer
        elif isinstance(layer, Layer):
            if any(existing is layer for existing in self._stack):
                raise InvalidArgumentError(f"Layer '{layer.name}' is already in this model.")
            if any(existing.name == layer.name for existing in self._stack):
                raise InvalidArgumentError(
                    "All layers added to a Sequential model should have unique names. Name "
                    f"'{layer.name}' is already the name of a layer in this model. Update the `name` argument "
                    "to pass a unique name."
                )
            self._stack.append(layer)
        else:
            raise InvalidArgumentError(
                f"Sequential.add expects a layer (such as Dense(...)) or an Input. Received: {layer!r}"
            )
        if rebuild:
            self._maybe_rebuild()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise InvalidArgumentError("There are no layers in the model to pop.")
        layer = self._stack.pop()
        self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self) -> None:
        shape = None
        if self._input_layer is not None:
            shape = self._input_layer.shape
        elif self._stack and self._stack[0]._declared_input_shape is not None:
            shape = self._stack[0]._declared_input_shape
        elif self.built and self._input_tensors:
            shape = self._input_tensors[0].shape[1:]
        if shape is not None and self._stack:
            self._build_graph(tuple(shape))

    def _build_graph(self, shape: tuple[int, ...]) -> None:
        if self._input_layer is None or self._input_layer.shape != shape:
            dtype = self._stack[0].dtype if self._stack else None
            self._input_layer = InputLayer(shape, dtype=dtype)
        x = self._input_layer.output_tensor
        for layer in self._stack:
            layer._inbound_nodes = []
            x = layer(x)
        self._init_graph(self._input_layer.output_tensor, x)

    def build(self, input_shape: Any = None) -> None:
        """Build for inputs of ``input_shape`` (with or without the batch dimension as None)."""
        if input_shape is None:
            if self.built:
                return
            raise InvalidArgumentError("Sequential.build needs an input_shape, e.g. build((None, 784)).")
        given = tuple(input_shape)
        shape = given[1:] if given and given[0] is None else given
        if self.built:
            built_for = self._input_tensors[0].shape
            if tuple(built_for[1:]) != shape and tuple(built_for[1:]) != given[1:]:
                raise InvalidArgumentError(
                    f"Sequential model '{self.name}' has already been configured to use input shape {built_for}. "
                    f"You cannot build it with input_shape {given}"
                )
            return
        if not self._stack:
            raise self._no_layers()
        self._build_graph(shape)  # type: ignore[arg-type]

    def _no_layers(self) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"Sequential model {self.name} cannot be built because it has no layers. Call `model.add(layer)`."
        )

    def _maybe_build_from(self, xs: list[np.ndarray]) -> None:
        if not self._stack:
            raise self._no_layers()
        if not self.built:
            self._build_graph(tuple(xs[0].shape[1:]))

    @property
    def input_shape(self) -> Any:
        """The input shape with the batch dimension as None; AttributeError before it is known (as Keras)."""
        if not self.built:
            raise AttributeError(f"Sequential model '{self.name}' has no defined input shape yet.")
        return self._input_tensors[0].shape

    @property
    def layers(self) -> list[Layer]:
        """The layers, without the input layer (as Keras's Sequential lists them)."""
        return list(self._stack)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "layers": []}
        if self._input_layer is not None:
            config["layers"].append({"class_name": "InputLayer", "config": self._input_layer.get_config()})
        for layer in self._stack:
            config["layers"].append({"class_name": type(layer).__name__, "config": layer.get_config()})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from nnrun.engine.layers import deserialize

        model = cls(name=config.get("name"))
        for spec in config["layers"]:
            model.add(deserialize(spec) if spec["class_name"] != "InputLayer" else InputLayer(**spec["config"]))
        return model
