"""nnrun's own weights format: a ``.npz`` archive (never pickles), written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.errors import DataError

if TYPE_CHECKING:
    from nnrun.engine.models.model import Model


def atomic_write_bytes(path: str | os.PathLike[str], write: Any) -> None:
    """Write through ``write(fileobj)`` to a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_weights_npz(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Every weight, keyed ``"<index>/<layer>/<weight>"`` so that the Keras order survives."""
    model._require_built()
    arrays = {f"{i:04d}/{v.path}": v.value for i, v in enumerate(model.weights)}
    atomic_write_bytes(filepath, lambda f: np.savez(f, **arrays))


def load_weights_npz(model: Model, filepath: str | os.PathLike[str]) -> None:
    """Load weights saved by :func:`save_weights_npz`; names, count and shapes must match."""
    model._require_built()
    try:
        with np.load(filepath, allow_pickle=False) as data:
            stored = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise DataError(f"Weights file not found: {filepath}") from None
    except (OSError, ValueError) as e:
        raise DataError(f"Cannot read weights file {filepath}: {e}") from None
    keys = sorted(stored)
    variables = model.weights
    if len(keys) != len(variables):
        raise DataError(f"{filepath} holds {len(keys)} weight arrays; model '{model.name}' has {len(variables)}.")
    for key, var in zip(keys, variables):
        name = key.split("/", 1)[1] if "/" in key else key
        if name.split("/")[-1] != var.path.split("/")[-1] or stored[key].shape != var.shape:
            raise DataError(
                f"{filepath}: weight {key!r} with shape {stored[key].shape} does not fit '{var.path}' "
                f"with shape {var.shape}."
            )
    model.set_weights([stored[k] for k in keys])
