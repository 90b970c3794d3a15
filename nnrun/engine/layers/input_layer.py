"""``Input(shape)``: the entry point of a functional model."""

from __future__ import annotations

from typing import Any

from nnrun.engine.layers.layer import Layer, _check_shape
from nnrun.engine.symbolic import KerasTensor
from nnrun.errors import InvalidArgumentError


class InputLayer(Layer):
    """Holds the shape of a model input; it has no weights and does no work.

    ``shape`` excludes the batch dimension; ``shape=()`` is a scalar feature per sample. Keras's
    ``batch_shape`` (the shape with the batch dimension first) is accepted too.
    """

    def __init__(
        self,
        shape: tuple[int, ...] | int | None = None,
        name: str | None = None,
        dtype: Any = None,
        batch_shape: tuple[int | None, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        # Keras's config also records these; nnrun supports only their defaults
        for key, default in (("sparse", False), ("ragged", False), ("optional", False), ("batch_size", None)):
            value = kwargs.pop(key, default)
            if value not in (default, None):
                raise InvalidArgumentError(f"InputLayer: {key}={value!r} is not supported (only {key}={default!r}).")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is not None:
            if shape is not None:
                raise InvalidArgumentError(
                    f"InputLayer: pass shape or batch_shape, not both. Received: shape={shape!r}, "
                    f"batch_shape={batch_shape!r}"
                )
            shape = tuple(batch_shape)[1:]
        if shape is None:
            raise InvalidArgumentError("InputLayer needs a shape, e.g. Input(shape=(784,)).")
        self.shape = _check_shape(shape, "shape", allow_empty=True)
        self.built = True
        self.output_tensor = KerasTensor((None, *self.shape), self.dtype, None, name=self.name)
        self.output_tensor.input_layer = self  # type: ignore[attr-defined]

    def get_config(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "name": self.name, "dtype": self.dtype.name}


def Input(  # noqa: N802
    shape: tuple[int, ...] | int | None = None,
    name: str | None = None,
    dtype: Any = None,
    batch_shape: tuple[int | None, ...] | None = None,
    **kwargs: Any,
) -> KerasTensor:
    """A symbolic input of ``shape`` (without the batch dimension), as ``keras.Input``."""
    return InputLayer(shape, name=name, dtype=dtype, batch_shape=batch_shape, **kwargs).output_tensor
