"""Experiment configs: the schema, YAML loading with line numbers, and building engine objects."""

from typing import Any

from nnrun.config.load import load_config, validate_config
from nnrun.config.schema import ExperimentConfig


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of experiment configs (draft 2020-12), with a title and description."""
    schema = ExperimentConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "nnrun experiment"
    return schema


# ``keras.config`` under ``import nnrun as keras``: the engine's numerics (imported on use)
def backend() -> str:
    """The backend's name, as ``keras.config.backend()``: always ``"numpy"``."""
    return "numpy"


def floatx() -> str:
    """The default float type (``"float32"`` unless changed with :func:`set_floatx`)."""
    from nnrun.engine.backend import floatx as _floatx

    return _floatx()


def set_floatx(value: str) -> None:
    """Set the default float type: ``"float32"`` or ``"float64"``."""
    from nnrun.engine.backend import set_floatx as _set_floatx

    _set_floatx(value)


def epsilon() -> float:
    """The fuzz factor (1e-7), as ``keras.config.epsilon()``."""
    from nnrun.engine.backend import epsilon as _epsilon

    return _epsilon()


__all__ = [
    "ExperimentConfig",
    "backend",
    "config_json_schema",
    "epsilon",
    "floatx",
    "load_config",
    "set_floatx",
    "validate_config",
]
