"""Config value types backed by the engine's registries: validation, did-you-mean and JSON Schema enums."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from nnrun.engine.activations import ACTIVATIONS
from nnrun.engine.initializers import INITIALIZERS
from nnrun.engine.losses import LOSSES
from nnrun.engine.metrics import ACCURACY_NAMES, METRICS
from nnrun.engine.naming import to_snake_case
from nnrun.engine.optimizers import OPTIMIZERS
from nnrun.engine.registry import Registry
from nnrun.errors import did_you_mean


def spellings(registry: Registry[Any], extra: tuple[str, ...] = ()) -> list[str]:
    """Accepted spellings to list in JSON Schema: the registered ones plus snake_case forms."""
    out: list[str] = list(extra)
    for name in registry.spellings():
        for form in (name, to_snake_case(name)):
            if form not in out:
                out.append(form)
    return out


def _check(registry: Registry[Any], kind: str, extra: tuple[str, ...] = ()):
    listed = ", ".join(spellings(registry, extra)[:40])

    def validate(value: str) -> str:
        if value in extra or value.lower() in extra or value in registry:
            return value
        hint = did_you_mean(value, spellings(registry, extra))
        raise PydanticCustomError(
            "unknown_name", f"unknown {kind} '{{value}}'. Expected one of: {listed}.{hint}", {"value": value}
        )

    return validate


def name_pattern(registry: Registry[Any], extra: tuple[str, ...] = ()) -> str:
    """A JSON Schema pattern matching every spelling the registry accepts (any case; ``_``, ``-`` and spaces
    ignored), and the ``extra`` names in any case."""

    def any_case(name: str, sep: str) -> str:
        chars = [f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name]
        return sep + sep.join(chars) + sep

    names = [any_case(n, "[_ -]*") for n in sorted(set(registry.aliases()))] + [any_case(n, "") for n in extra]
    return "^(" + "|".join(names) + ")$"


def _name_type(registry: Registry[Any], kind: str, extra: tuple[str, ...] = ()) -> Any:
    schema = {
        "type": "string",
        "description": f"{kind} name (any case; _, - and spaces are ignored)",
        "anyOf": [{"enum": spellings(registry, extra)}, {"pattern": name_pattern(registry, extra)}],
    }
    return Annotated[str, AfterValidator(_check(registry, kind, extra)), WithJsonSchema(schema)]


ActivationName = _name_type(ACTIVATIONS, "activation")
InitializerName = _name_type(INITIALIZERS, "initializer")
LossName = _name_type(LOSSES, "loss")
OptimizerName = _name_type(OPTIMIZERS, "optimizer")
MetricName = _name_type(METRICS, "metric", ACCURACY_NAMES)
