"""The config reference (every key, its default, its allowed values), generated from the schema.

README.md embeds ``markdown_reference()`` between markers; a test checks they are equal, so the
documentation cannot drift from the schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from nnrun.config.layers import LAYERS, LayerSpec
from nnrun.config.schema import (
    DataConfig,
    EarlyStoppingConfig,
    ExperimentConfig,
    HiddenDefaults,
    LossConfig,
    OptimizerConfig,
    ReduceLROnPlateauConfig,
    TrainConfig,
)
from nnrun.config.sweep import Distribution, PrunerConfig, SweepConfig


def _layer_title(spec: LayerSpec) -> str:
    names = " / ".join((spec.name, *spec.aliases))
    short = f" (a value alone is its `{spec.short}`)" if spec.short else " (`null` or the name alone: all defaults)"
    return f"model.layers: {names}{short if spec.short or spec.bare else ''}"


SECTIONS: list[tuple[str, type[BaseModel], str]] = [
    ("(top level)", ExperimentConfig, ""),
    ("data", DataConfig, "data."),
    ("model.hidden", HiddenDefaults, "model.hidden."),
    *[(_layer_title(spec), spec.config, f"{spec.name}.") for spec in LAYERS],
    ("train", TrainConfig, "train."),
    ("train.loss", LossConfig, "train.loss."),
    ("train.optimizer", OptimizerConfig, "train.optimizer."),
    ("train.callbacks.early_stopping", EarlyStoppingConfig, "train.callbacks.early_stopping."),
    ("train.callbacks.reduce_lr_on_plateau", ReduceLROnPlateauConfig, "train.callbacks.reduce_lr_on_plateau."),
    ("sweep (nnrun sweep)", SweepConfig, "sweep."),
    ("sweep.parameters.<key> as a range (method: random, tpe, cmaes)", Distribution, ""),
    ("sweep.pruner (other keys: the Optuna pruner's parameters; a step is an epoch)", PrunerConfig, "sweep.pruner."),
]


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`"


def _allowed(prop: dict[str, Any]) -> str:
    """The allowed values of one JSON Schema property, in words."""
    if "$ref" in prop:
        return "mapping (see below)"
    if "anyOf" in prop:
        # null is "–" in the default column; a name's pattern repeats its enum in any case
        parts = [_allowed(p) for p in prop["anyOf"] if p.get("type") != "null" and "pattern" not in p]
        return " or ".join(dict.fromkeys(parts))
    if "enum" in prop:
        if len(prop["enum"]) > 6:  # a registry's names
            return "a name (list below)"
        return " / ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_allowed(prop.get('items', {}))}"
    if kind == "boolean":
        return "true / false"
    if kind == "string":
        return "text"
    if kind in ("integer", "number"):
        word = "integer" if kind == "integer" else "number"
        bounds = [
            f"{sym} {prop[key]:g}"
            for key, sym in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<"))
            if key in prop
        ]
        return f"{word} {', '.join(bounds)}".strip()
    return "any"


def reference_rows() -> list[tuple[str, str, str, str, str]]:
    """(section, key, default, allowed values, description) for every key of the schema."""
    rows = []
    for section, model, prefix in SECTIONS:
        properties = model.model_json_schema()["properties"]
        for name, field in model.model_fields.items():
            allowed = _allowed(properties[name])
            rows.append((section, prefix + name, _default(field), allowed, field.description or ""))
    return rows


def markdown_reference() -> str:
    """The reference as Markdown tables, one per section."""
    out: list[str] = []
    current = None
    for section, key, default, allowed, description in reference_rows():
        if section != current:
            if current is not None:
                out.append("")
            out += [f"**{section}**", "", "| key | default | allowed | meaning |", "|---|---|---|---|"]
            current = section
        out.append(f"| `{key}` | {default} | {allowed.replace('|', '/')} | {description.replace('|', '/')} |")
    out += ["", "**Names** (any case; `_` and `-` are ignored)", ""]
    for kind, names in name_lists().items():
        out.append(f"- {kind}: " + ", ".join(f"`{n}`" for n in names))
    return "\n".join(out) + "\n"


def name_lists() -> dict[str, list[str]]:
    """The accepted names of each kind, from the engine's registries."""
    from nnrun.data import DATASET_NAMES
    from nnrun.engine.activations import ACTIVATIONS
    from nnrun.engine.initializers import INITIALIZERS
    from nnrun.engine.losses import LOSSES
    from nnrun.engine.metrics import METRICS
    from nnrun.engine.naming import to_snake_case
    from nnrun.engine.optimizers import OPTIMIZERS

    return {
        "data sets": list(DATASET_NAMES),
        "activations": ACTIVATIONS.spellings(),
        "initializers": [n if n[0].islower() else f"{n} / {to_snake_case(n)}" for n in INITIALIZERS.spellings()],
        "losses": [n for n in LOSSES.spellings() if n[0].islower()],
        "optimizers": [n.lower() for n in OPTIMIZERS.names()],
        "metrics": ["accuracy", "acc", *[n for n in METRICS.spellings() if n[0].islower()]],
    }
