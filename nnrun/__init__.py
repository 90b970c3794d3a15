"""nnrun: deep-learning experiments as YAML files, on a NumPy engine that follows Keras.

``import nnrun as keras`` gives Keras's namespace for what nnrun implements: ``keras.Sequential``,
``keras.Model``, ``keras.Input``, ``keras.layers``, ``keras.models``, ``keras.utils``, ``keras.datasets``,
``keras.callbacks``, ``keras.optimizers``, ``keras.losses``, ``keras.metrics``, ``keras.config``, ...
Everything is loaded on first use (PEP 562), so ``import nnrun`` (and ``nnrun --help``) stays fast.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__version__ = "0.2.0"

#: ``nnrun.<name>`` → the submodule ``nnrun.<name>`` (Keras's public modules)
_SUBMODULES = (
    "activations",
    "backend",
    "callbacks",
    "config",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "regularizers",
    "utils",
)
#: top-level objects, as ``keras.<name>``: name → the module that defines it
_OBJECTS = {
    "Sequential": "nnrun.models",
    "Model": "nnrun.models",
    "Input": "nnrun.layers",
    "InputLayer": "nnrun.layers",
    "Layer": "nnrun.layers",
    "load_run": "nnrun.inference",  # a trained run folder: model, config, preprocessing, predict(x)
}


def __getattr__(name: str) -> Any:
    if name == "keras":  # ``from nnrun import keras`` (for programs written ``from tensorflow import keras``)
        return sys.modules[__name__]
    if name in _SUBMODULES:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'nnrun' has no attribute {name!r} (not implemented yet)") from None
    module = _OBJECTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nnrun' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULES, *_OBJECTS, "keras"})
