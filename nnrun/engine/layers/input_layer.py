"""``Input(shape)``: the entry point of a functional model."""

from __future__ import annotations

from typing import Any

from nnrun.engine.layers.layer import Layer, _check_shape
from nnrun.engine.symbolic import KerasTensor


class InputLayer(Layer):
    """Holds the shape of a model input; it has no weights and does no work."""

    def __init__(self, shape: tuple[int, ...] | int, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)
        self.shape = _check_shape(shape, "shape")
        self.built = True
        self.output_tensor = KerasTensor((None, *self.shape), self.dtype, None, name=self.name)
        self.output_tensor.input_layer = self  # type: ignore[attr-defined]

    def get_config(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "name": self.name, "dtype": self.dtype.name}


def Input(shape: tuple[int, ...] | int, name: str | None = None, dtype: Any = None) -> KerasTensor:  # noqa: N802
    """A symbolic input of ``shape`` (without the batch dimension), as ``keras.Input``."""
    return InputLayer(shape, name=name, dtype=dtype).output_tensor
