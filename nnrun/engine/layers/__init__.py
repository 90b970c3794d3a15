"""Layers, under Keras's names."""

from nnrun.engine.layers.activation import Activation
from nnrun.engine.layers.batch_normalization import BatchNormalization
from nnrun.engine.layers.dense import Dense
from nnrun.engine.layers.dropout import Dropout
from nnrun.engine.layers.flatten import Flatten
from nnrun.engine.layers.input_layer import Input, InputLayer
from nnrun.engine.layers.layer import Layer
from nnrun.engine.layers.merging import Add, Concatenate, Multiply, Subtract
from nnrun.engine.layers.softmax import Softmax
from nnrun.engine.registry import Registry

LAYERS: Registry[type[Layer]] = Registry("layer")
for _cls in (
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    InputLayer,
    Add,
    Concatenate,
    Multiply,
    Softmax,
    Subtract,
):
    LAYERS.add(_cls, _cls.__name__)


def deserialize(config: dict) -> Layer:
    """A layer from ``{"class_name": ..., "config": {...}}``."""
    return LAYERS.get(config["class_name"], "class_name").from_config(config["config"])


__all__ = [
    "LAYERS",
    "Activation",
    "Add",
    "BatchNormalization",
    "Concatenate",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "Multiply",
    "Softmax",
    "Subtract",
    "deserialize",
]
