"""What every config model shares: strict models, complete error messages, and short forms.

A short form is a scalar that stands for a mapping with one key (``dense: 64`` is ``dense: {units: 64}``,
``optimizer: adam`` is ``{name: adam}``), or ``null`` for a mapping of defaults (``batchnorm:``). The
:class:`ShortForm` annotation expands it before validation and puts it in the JSON Schema, so the schema
accepts exactly the spellings the loader accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError
from pydantic_core import core_schema as cs


class StrictModel(BaseModel):
    """Unknown keys are errors; values are not silently coerced from other types."""

    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)


def nnrun_error(message: str, key: str | None = None) -> PydanticCustomError:
    """An error whose message is already complete; ``key`` extends the path below the current model."""
    return PydanticCustomError("nnrun", message, {"key": key} if key else {})


def expand_short_form(value: Any, key: str | None, types: tuple[type, ...] = (str,)) -> Any:
    """``64`` → ``{key: 64}`` when the value is one of ``types`` (never a bool); ``None`` → ``{}``."""
    if value is None:
        return {}
    if key is not None and isinstance(value, types) and not isinstance(value, bool):
        return {key: value}
    return value  # anything else is validated as the mapping, and fails there with its type


@dataclass(frozen=True)
class ShortForm:
    """Annotate a model-typed field: a scalar stands for ``{key: scalar}``, ``null`` for ``{}``.

    ``types`` are the scalar types that stand for the key (``int`` for units, numbers for a rate, ``str`` for a
    name); ``key=None`` allows only the ``null`` form. In the JSON Schema the field becomes ``anyOf`` the
    key's own schema, the mapping, and ``null`` when the model has no required key.
    """

    key: str | None = None
    types: tuple[type, ...] = (str,)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return cs.no_info_before_validator_function(
            lambda value: expand_short_form(value, self.key, self.types),
            handler(source),
            metadata={"nnrun_short_form": source},
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        model: type[BaseModel] = schema["metadata"]["nnrun_short_form"]  # type: ignore[typeddict-item]
        forms: list[dict[str, Any]] = []
        if self.key is not None:  # the key's own schema (a scalar's: no references to resolve)
            own = model.model_json_schema()["properties"][self.key]
            forms.append({k: v for k, v in own.items() if k not in ("title", "default")})
        forms.append(handler(schema))
        if not any(field.is_required() for field in model.model_fields.values()):
            forms.append({"type": "null"})
        return {"anyOf": forms}
