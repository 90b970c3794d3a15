"""What tells trials apart: the config keys whose values differ, their short names and their values as text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from nnrun.results.ranking import canonical

IGNORED_KEYS = ("name", "description")  # config keys that never tell two runs apart
ABBREVIATIONS = {"learning_rate": "lr"}  # short names of keys in labels
_MISSING = object()


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings and lists of mappings (layers) as dotted keys: ``model.layers.0.dense.units``.

    Lists of plain values (``train.metrics``) stay whole values.
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, dotted + "."))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for i, item in enumerate(value):
                flat.update(flatten_config(item, f"{dotted}.{i}."))
        else:
            flat[dotted] = value
    return flat


def differing_params(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The dotted keys whose values differ between ``configs`` (absent counts as a value), in config order.

    ``name`` and ``description`` are left out. A resolved config copies ``model.hidden`` into every hidden
    layer, so a layer key (``model.layers.0.dense.activation``) that only follows a differing
    ``model.hidden`` key (``model.hidden.activation``) in every config is left out too.
    """
    flats = [flatten_config(c) for c in configs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    differing = [
        k
        for k in keys
        if k.split(".")[0] not in IGNORED_KEYS and len({_canonical(f.get(k, _MISSING)) for f in flats}) > 1
    ]
    return [k for k in differing if not _follows_hidden(k, differing, flats)]


def _follows_hidden(key: str, differing: list[str], flats: list[dict[str, Any]]) -> bool:
    parts = key.split(".")
    if len(parts) != 5 or parts[:2] != ["model", "layers"] or not parts[2].isdigit():
        return False
    hidden = f"model.hidden.{parts[4]}"
    return hidden in differing and all(f.get(key, f.get(hidden)) == f.get(hidden) for f in flats)


def _canonical(value: Any) -> str:
    return "\0missing" if value is _MISSING else canonical(value)


def get_param(config: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key`` (list indices allowed), or None when the config has no such key."""
    value: Any = config
    for part in key.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The shortest dotted suffix that tells each key apart: ``model.hidden.activation`` -> ``activation``.

    ``learning_rate`` is written ``lr``; a suffix starting at a list index keeps the list's name
    (``layers.0.dense.units``). Keys that no suffix tells apart keep their full names.
    """
    parts = {k: k.split(".") for k in keys}
    for k, p in parts.items():
        if p[-1] in ABBREVIATIONS:
            parts[k] = [*p[:-1], ABBREVIATIONS[p[-1]]]
    depth = dict.fromkeys(keys, 1)
    for _ in range(max((len(p) for p in parts.values()), default=0)):
        names = {k: ".".join(_suffix(parts[k], depth[k])) for k in keys}
        clashes = [k for k in keys if list(names.values()).count(names[k]) > 1]
        if not clashes:
            return names
        for k in clashes:
            depth[k] += 1
    return {k: k for k in keys}


def _suffix(parts: list[str], depth: int) -> list[str]:
    depth = min(depth, len(parts))
    if parts[-depth].isdigit() and depth < len(parts):
        depth += 1
    return parts[-depth:]


def format_value(value: Any) -> str:
    """A parameter's value as YAML writes it, compactly: ``0.01``, ``relu``, ``true``, ``{name: sgd}``."""
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1_000).strip()
    return str(value)


__all__ = ["differing_params", "flatten_config", "format_value", "get_param", "short_names"]
