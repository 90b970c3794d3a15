"""What the training code needs from a model: the graph half of ``Model`` provides it.

``Trainer`` (compile/fit/evaluate/predict), the targets and the epoch loop use a model only through this
Protocol, so the split between the graph (``model.py``) and training (``trainer.py``) is written down once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from nnrun.engine.layers.layer import Layer
    from nnrun.engine.symbolic import KerasTensor
    from nnrun.engine.variable import Variable

#: one graph step: (layer, input slots, output slot, whether the layer must return dL/dx)
Step = tuple["Layer", tuple[int, ...], int, bool]


class ModelGraph(Protocol):
    """A built graph of layers that can run forward and backward on arrays."""

    name: str
    built: bool
    _steps: list[Step]
    _input_tensors: list[KerasTensor]
    _output_tensors: list[KerasTensor]
    _out_slots: list[int]

    @property
    def layers(self) -> list[Layer]: ...

    @property
    def trainable_weights(self) -> list[Variable]: ...

    def _require_built(self) -> None:
        """Raise NotBuiltError naming the model when it has no graph yet."""

    def _plan_gradients(self) -> None:
        """Decide which layers must return dL/dx (called again when the weights or the loss change)."""

    def _run_forward(self, xs: list[np.ndarray], training: bool) -> Any:
        """The output for a batch of inputs (a list of arrays, one per output, when there are several)."""

    def _run_backward(self, dy: Any) -> None:
        """Fill the weights' gradients from dL/d(output) (a list, one per output, when there are several)."""
