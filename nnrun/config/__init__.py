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


__all__ = ["ExperimentConfig", "config_json_schema", "load_config", "validate_config"]
