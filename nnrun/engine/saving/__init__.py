"""Saving and loading: Keras 3's ``.keras`` and ``.weights.h5`` files (with h5py), nnrun's ``.npz`` weights,
and model configs as JSON. Writes are atomic."""

from __future__ import annotations

import io
import json
import os
from typing import TYPE_CHECKING, Any

from nnrun.engine.saving import h5
from nnrun.engine.saving.keras_file import load_model, load_weights_from_keras_file, save_model
from nnrun.engine.saving.npz import atomic_write_bytes, load_weights_npz, save_weights_npz
from nnrun.errors import DataError, InvalidArgumentError

if TYPE_CHECKING:
    from nnrun.engine.models.model import Model


def _extension_error(path: str, action: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"The filename must end in '.weights.h5' (Keras's weights format) or '.npz' (nnrun's) to {action} "
        f"weights. Received: filepath={path!r}"
    )


def save_weights(model: Model, filepath: str | os.PathLike[str], overwrite: bool = True) -> None:
    """``.weights.h5``: Keras 3's HDF5 layout (needs h5py; with the optimizer's state once compiled, as Keras
    writes it); ``.npz``: nnrun's archive."""
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise InvalidArgumentError(f"{path} exists and overwrite=False.")
    if path.endswith(".npz"):
        save_weights_npz(model, path)
    elif path.endswith(".weights.h5"):
        model._require_built()
        buffer = io.BytesIO()
        h5.write_weights(model, buffer, include_optimizer=True)  # as Keras: a compiled model's optimizer too
        atomic_write_bytes(path, lambda f: f.write(buffer.getvalue()))
    else:
        raise _extension_error(path, "save")


def load_weights(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Load ``.weights.h5`` / ``.h5`` (Keras 3's layout), ``.keras`` (a whole-model file) or ``.npz``."""
    path = os.fspath(filepath)
    model._require_built()
    if path.endswith(".npz"):
        load_weights_npz(model, path)
    elif path.endswith(".keras"):
        load_weights_from_keras_file(model, path)
    elif path.endswith(".h5"):
        if not os.path.exists(path):
            raise DataError(f"Weights file not found: {path}")
        h5.read_weights(model, path, path, include_optimizer=getattr(model, "compiled", False))
    else:
        raise _extension_error(path, "load")


def model_from_json(text: str) -> Model:
    """Rebuild a model (architecture only, fresh weights) from ``model.to_json()`` or a Keras config.json."""
    from nnrun.engine.models.model import Model
    from nnrun.engine.models.sequential import Sequential
    from nnrun.engine.saving.keras_config import model_from_keras

    spec = json.loads(text)
    if "module" in spec:  # Keras's serialization format
        return model_from_keras({**spec, "compile_config": None})
    cls = Sequential if spec.get("class_name") == "Sequential" else Model
    return cls.from_config(spec["config"])


def keras_config(model: Any) -> dict[str, Any]:
    """The model's ``config.json`` as Keras 3 writes it."""
    from nnrun.engine.saving.keras_config import model_to_keras

    return model_to_keras(model)


__all__ = [
    "atomic_write_bytes",
    "keras_config",
    "load_model",
    "load_weights",
    "model_from_json",
    "save_model",
    "save_weights",
]
