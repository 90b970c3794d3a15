"""Keras-style import path: ``from nnrun.layers import Dense, Input, Dropout, ...``."""

from nnrun.engine.layers import (
    Activation,
    Add,
    BatchNormalization,
    Concatenate,
    Dense,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    Layer,
    Multiply,
    Softmax,
    Subtract,
)

__all__ = [
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
]
