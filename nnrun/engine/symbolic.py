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

    # -- arithmetic: ``x + residual``, ``x - y``, ``x * gate`` record Add / Subtract / Multiply layers --

    def _merge(self, other: object, op: str, reverse: bool = False) -> KerasTensor:
        from nnrun.engine.layers.merging import Add, Multiply, Subtract

        if not isinstance(other, KerasTensor):
            raise TypeError(
                f"nnrun supports '{op}' between two symbolic tensors of the same shape (through the "
                f"{'Add' if op == '+' else 'Subtract' if op == '-' else 'Multiply'} layer). "
                f"Received: {self!r} {op} {other!r}"
            )
        layer = {"+": Add, "-": Subtract, "*": Multiply}[op]()
        return layer([other, self] if reverse else [self, other])

    def __add__(self, other: object) -> KerasTensor:
        return self._merge(other, "+")

    def __radd__(self, other: object) -> KerasTensor:
        return self._merge(other, "+", reverse=True)

    def __sub__(self, other: object) -> KerasTensor:
        return self._merge(other, "-")

    def __rsub__(self, other: object) -> KerasTensor:
        return self._merge(other, "-", reverse=True)

    def __mul__(self, other: object) -> KerasTensor:
        return self._merge(other, "*")

    def __rmul__(self, other: object) -> KerasTensor:
        return self._merge(other, "*", reverse=True)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype.name}, name={self.name}>"


class Node:
    """One call of a layer: its input tensors and its output tensor."""

    def __init__(self, layer: Layer, inputs: list[KerasTensor]) -> None:
        self.id = next(_node_ids)
        self.layer = layer
        self.inputs = inputs
        self.output: KerasTensor | None = None
