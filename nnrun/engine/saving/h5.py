"""Keras 3's weights layout in HDF5 (``model.weights.h5`` inside ``.keras``, and ``.weights.h5`` files).

    /vars                          (attrs: name = the model's name)
    /layers/<key>/vars/0, 1, ...   one group per layer, ``key`` from the class name (dense, dense_1, ...)
    /optimizer/vars/0, 1, ...      iteration, learning rate, then the slot arrays (Keras's order)

A layer's arrays are its trainable weights, then its non-trainable ones (BatchNormalization: gamma, beta,
moving_mean, moving_variance), as Keras's ``save_own_variables`` writes them.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.engine.naming import to_snake_case
from nnrun.errors import DataError

if TYPE_CHECKING:
    from nnrun.engine.layers.layer import Layer
    from nnrun.engine.models.model import Model
    from nnrun.engine.variable import Variable


def require_h5py() -> Any:
    """The ``h5py`` module, or an ImportError that says how to install it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(
            "Reading and writing Keras's .keras and .weights.h5 files needs h5py: pip install 'nnrun[h5]' "
            "(or save to .npz, nnrun's own weights format)."
        ) from None
    return h5py


def layer_keys(layers: list[Layer]) -> list[str]:
    """Keras's group name for each layer: its class name in snake case, numbered on repeats."""
    used: dict[str, int] = {}
    keys = []
    for layer in layers:
        key = to_snake_case(type(layer).__name__)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        keys.append(key)
    return keys


def own_variables(layer: Layer) -> list[Variable]:
    """A layer's weights in Keras's saving order: trainable first, then non-trainable."""
    return [v for v in layer.weights if v.trainable] + [v for v in layer.weights if not v.trainable]


def write_weights(model: Model, fileobj: Any, include_optimizer: bool = False) -> None:
    """Write the model's weights (and the optimizer's state) to ``fileobj`` in Keras's layout."""
    h5py = require_h5py()
    with h5py.File(fileobj, "w") as f:
        f.create_group("vars").attrs["name"] = model.name
        layers = model.layers
        for key, layer in zip(layer_keys(layers), layers):
            group = f.create_group(f"layers/{key}").create_group("vars")
            group.attrs["name"] = layer.name
            for i, var in enumerate(own_variables(layer)):
                group[str(i)] = var.value
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None:
            group = f.create_group("optimizer").create_group("vars")
            group.attrs["name"] = optimizer.name
            values = optimizer.variables
            values[0] = values[0].astype(np.int32)  # the step counter, as Keras's JAX backend stores it
            for i, value in enumerate(values):
                group[str(i)] = value


def _read_group(f: Any, path: str) -> list[np.ndarray]:
    if path not in f or "vars" not in f[path]:
        return []
    group = f[path]["vars"]
    return [np.asarray(group[str(i)]) for i in range(len(group))]


def read_weights(model: Model, fileobj: Any, source: str, include_optimizer: bool = False) -> None:
    """Load weights written in Keras's layout; counts and shapes must match (nothing changes on error)."""
    h5py = require_h5py()
    try:
        f = h5py.File(fileobj, "r")
    except OSError as e:
        raise DataError(f"Cannot read weights file {source}: {e}") from None
    with f:
        if "layers" not in f and "_layer_checkpoint_dependencies" in f:
            raise DataError(f"{source} is a Keras 2 (TensorFlow) weights file; nnrun reads Keras 3's layout only.")
        plan = []
        layers = model.layers
        for key, layer in zip(layer_keys(layers), layers):
            variables = own_variables(layer)
            stored = _read_group(f, f"layers/{key}")
            if len(stored) != len(variables):
                raise DataError(
                    f"{source}: layer '{layer.name}' expected {len(variables)} variables "
                    f"({[v.name for v in variables]}), but the file holds {len(stored)} under 'layers/{key}'."
                )
            for var, value in zip(variables, stored):
                if value.shape != var.shape:
                    raise DataError(
                        f"{source}: weight '{var.path}' has shape {var.shape}; the file holds shape {value.shape} "
                        f"under 'layers/{key}'."
                    )
                plan.append((var, value))
        optimizer_values = _read_group(f, "optimizer") if include_optimizer else []
    for var, value in plan:
        var.value[...] = value
    if optimizer_values:
        _load_optimizer_state(model, optimizer_values)


def _load_optimizer_state(model: Model, values: list[np.ndarray]) -> None:
    optimizer = model.optimizer
    if optimizer is None:
        return
    model._ensure_flat()  # builds the optimizer on the model's flat weight buffer, as fit does
    if not optimizer.built:
        return
    if len(values) != len(optimizer.variables):
        warnings.warn(
            f"Skipping variable loading for optimizer '{optimizer.name}', because it has "
            f"{len(optimizer.variables)} variables whereas the saved optimizer has {len(values)} variables.",
            stacklevel=3,
        )
        return
    optimizer.set_weights(values)
