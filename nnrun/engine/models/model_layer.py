"""A model used as a layer: ``Sequential([model, Softmax()])`` or ``y = model(x)`` on a symbolic tensor.

The wrapped model keeps its weights (they are the same Variables, so training the outer model trains the
inner one, as in Keras); the wrapper runs the inner graph forward and backward, and returns dL/dx when a layer
upstream needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.engine.layers.layer import Layer, Shape
from nnrun.engine.variable import Variable
from nnrun.errors import InvalidArgumentError

if TYPE_CHECKING:
    from nnrun.engine.models.model import Model


class ModelLayer(Layer):
    """The layer face of a built, single-input, single-output ``model`` (named after it)."""

    def __init__(self, model: Model) -> None:
        model._require_built()
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise InvalidArgumentError(
                f"Model '{model.name}' can be used as a layer only with one input and one output. Received: "
                f"{len(model.inputs)} inputs, {len(model.outputs)} outputs"
            )
        super().__init__(name=model.name, dtype=model.inputs[0].dtype, input_shape=model.inputs[0].shape[1:])
        self.model = model
        self.built = True
        self.class_name = type(model).__name__

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        expected = self.model.inputs[0].shape
        if tuple(input_shape[1:]) != tuple(expected[1:]):
            raise InvalidArgumentError(
                f"Model '{self.model.name}' expects inputs of shape {expected}. Received: {input_shape}"
            )
        return self.model.outputs[0].shape

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        return self.model._run_forward([x], training)

    def backward(self, dy: np.ndarray, need_dx: bool) -> Any:
        model = self.model
        if not need_dx:
            model._run_backward(dy)
            return None
        # every inner layer returns dL/dx, so the gradient reaches the model's input
        grads: list[Any] = [None] * model._n_slots
        grads[model._out_slot] = dy
        for layer, ins, out, _ in reversed(model._steps):
            g = grads[out]
            grads[out] = None
            if g is None:
                continue
            dxs = layer.backward(g, True)
            for i, dx in zip(ins, dxs if layer.multi_input else [dxs]):
                grads[i] = dx if grads[i] is None else grads[i] + dx
        return grads[0]

    @property
    def weights(self) -> list[Variable]:
        return self.model.weights

    @property
    def trainable_weights(self) -> list[Variable]:
        return self.model.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return self.model.non_trainable_weights if self.trainable else self.model.weights

    def get_weights(self) -> list[np.ndarray]:
        return self.model.get_weights()

    def set_weights(self, weights: list[Any]) -> None:
        self.model.set_weights(weights)

    def count_params(self) -> int:
        return self.model.count_params()

    def get_config(self) -> dict[str, Any]:
        raise InvalidArgumentError(
            f"A model used as a layer ('{self.model.name}') cannot be serialized yet; save the inner model on its "
            "own, or rebuild the outer model in code."
        )
