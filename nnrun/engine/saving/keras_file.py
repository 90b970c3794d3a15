"""Keras 3's ``.keras`` file: a zip of ``metadata.json``, ``config.json`` and ``model.weights.h5``."""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from typing import Any

from nnrun.engine.saving import h5
from nnrun.engine.saving.keras_config import model_from_keras, model_to_keras
from nnrun.engine.saving.npz import atomic_write_bytes
from nnrun.errors import DataError, InvalidArgumentError

#: The Keras version whose format nnrun writes (recorded in metadata.json).
KERAS_FORMAT_VERSION = "3.15.1"


def save_model(model: Any, filepath: str | os.PathLike[str], include_optimizer: bool = True) -> None:
    """Write ``model`` (architecture, weights, compile settings and optimizer state) as a ``.keras`` file."""
    path = os.fspath(filepath)
    if not path.endswith(".keras"):
        raise InvalidArgumentError(
            "The filename must end in '.keras' (Keras 3's format). To save only the weights, use "
            f"save_weights('….weights.h5'). Received: filepath={path!r}"
        )
    config = model_to_keras(model)
    weights = io.BytesIO()
    h5.write_weights(model, weights, include_optimizer=include_optimizer)
    metadata = {
        "keras_version": KERAS_FORMAT_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "nnrun": True,
    }

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w") as zf:
            zf.writestr("metadata.json", json.dumps(metadata))
            zf.writestr("config.json", json.dumps(config))
            zf.writestr("model.weights.h5", weights.getvalue())

    atomic_write_bytes(path, write)


def _open_archive(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path, "r")
    except FileNotFoundError:
        raise DataError(f"Model file not found: {path}") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise DataError(f"{path} is not a .keras file (a zip archive): {e}") from None


def load_model(filepath: str | os.PathLike[str], compile: bool = True) -> Any:
    """A model from a ``.keras`` file written by Keras 3 or nnrun (compiled when the file says how)."""
    path = os.fspath(filepath)
    if not path.endswith(".keras"):
        raise InvalidArgumentError(
            f"load_model reads Keras 3's .keras files. Received: filepath={path!r}. (Weights alone load with "
            "model.load_weights.)"
        )
    with _open_archive(path) as zf:
        names = zf.namelist()
        if "config.json" not in names or "model.weights.h5" not in names:
            raise DataError(f"{path}: expected config.json and model.weights.h5 in the archive; found {names}.")
        spec = json.loads(zf.read("config.json"))
        weights = io.BytesIO(zf.read("model.weights.h5"))
    if not compile:
        spec = {**spec, "compile_config": None}
    model = model_from_keras(spec)
    h5.read_weights(model, weights, path, include_optimizer=compile)
    return model


def load_weights_from_keras_file(model: Any, filepath: str | os.PathLike[str]) -> None:
    """``model.load_weights("m.keras")``: the weights of a whole-model file."""
    path = os.fspath(filepath)
    with _open_archive(path) as zf:
        weights = io.BytesIO(zf.read("model.weights.h5"))
    h5.read_weights(model, weights, path)
