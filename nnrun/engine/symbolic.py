"""Symbolic tensors and nodes: how ``Input`` and layer calls record a functional graph."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nnrun.engine.layers.layer import Layer

_node_ids = itertools.count()


class KerasTensor:
    """A placeholder with a shape (batch dimension ``None``) produced by a layer call."""

    def __init__(self, shape: tuple[int | None, ...], dtype: np.dtype, node: Node | None, name: str) -> None:
        self.shape = shape
        self.dtype = dtype
        self.node = node  # the call that produced it; None only for an Input
        self.name = name

    @property
    def layer(self) -> Layer:
        return self.node.layer  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"


class Node:
    """One call of a layer: its input tensors and its output tensor."""

    def __init__(self, layer: Layer, inputs: list[KerasTensor]) -> None:
        self.id = next(_node_ids)
        self.layer = layer
        self.inputs = inputs
        self.output: KerasTensor | None = None
