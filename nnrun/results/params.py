"""What tells trials apart: the config keys whose values differ, their short names and their values as text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from nnrun.results.ranking import canonical

IGNORED_KEYS = ("name", "description")  # config keys that never tell two runs apart
ABBREVIATIONS = {"learning_rate": "lr"}  # short names of keys in labels
GENERIC_NAMES = ("name",)  # a last part that says nothing alone: ``optimizer.name``, never ``name``
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

    ``name`` and ``description`` are left out, and so are keys that only come with a differing ``name``
    (``train.optimizer.beta_1`` beside ``train.optimizer.name``, when some configs lack it). A resolved config
    copies ``model.hidden`` into every hidden layer, so a layer key (``model.layers.0.dense.activation``) that
    only follows a differing ``model.hidden`` key (``model.hidden.activation``) in every config is left out too.
    """
    flats = [flatten_config(c) for c in configs]
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    differing = [
        k
        for k in keys
        if k.split(".")[0] not in IGNORED_KEYS and len({_canonical(f.get(k, _MISSING)) for f in flats}) > 1
    ]
    return [
        k
        for k in differing
        if not _follows_hidden(k, differing, flats)
        and not _follows_name(k, differing, flats)
        and not _under_differing(k, differing)
    ]


def _under_differing(key: str, differing: list[str]) -> bool:
    """A key under another differing key (``train.callbacks.early_stopping.patience`` when some configs set
    ``train.callbacks.early_stopping: null``): the parent's value says it."""
    parts = key.split(".")
    return any(".".join(parts[:i]) in differing for i in range(1, len(parts)))


def _follows_name(key: str, differing: list[str], flats: list[dict[str, Any]]) -> bool:
    """A sibling of a differing ``name`` that some configs lack (``train.optimizer.beta_1`` beside
    ``train.optimizer.name``): another optimizer's or loss's resolved defaults say nothing its name does not."""
    parent, _, last = key.rpartition(".")
    follows = last != "name" and bool(parent) and f"{parent}.name" in differing
    return follows and any(f.get(key) is None for f in flats)


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

    ``learning_rate`` is written ``lr``; ``name`` keeps its parent (``optimizer.name``); a suffix starting at a
    list index keeps the list's name
    (``layers.0.dense.units``). Keys that no suffix tells apart keep their full names.
    """
    parts = {k: k.split(".") for k in keys}
    for k, p in parts.items():
        if p[-1] in ABBREVIATIONS:
            parts[k] = [*p[:-1], ABBREVIATIONS[p[-1]]]
    depth = {k: 2 if parts[k][-1] in GENERIC_NAMES and len(parts[k]) > 1 else 1 for k in keys}
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


def format_value(value: Any, precise: bool = False) -> str:
    """A parameter's value as YAML writes it, compactly: ``0.01``, ``relu``, ``true``, ``{name: sgd}``.

    Floats are shown with 4 significant digits (a random search's ``0.0012345678901`` reads ``0.001235``);
    ``precise`` keeps every digit (for files).
    """
    if isinstance(value, bool) or value is None:
        return "null" if value is None else str(value).lower()
    if isinstance(value, float):
        return repr(value) if precise else f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1_000).strip()
    return str(value)


def parse_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """``["train.optimizer.name=adam", "seed=3"]`` -> ``{"train.optimizer.name": "adam", "seed": 3}``: the
    command line's ``--set KEY=VALUE`` items as typed, values read as YAML (text that is not YAML stays text)."""
    out: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = str(item).partition("=")
        if not sep or not key.strip():
            continue
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        out[key.strip()] = value
    return out


def described_config(config: Mapping[str, Any], overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The flat config (:func:`flatten_config`) with the ``overrides`` applied as typed: what describes a run.

    An override replaces its key and everything under it (``train.callbacks.early_stopping=null``).
    """
    flat = flatten_config(config)
    for key, value in parse_overrides(overrides).items():
        for old in [k for k in flat if k == key or k.startswith(key + ".")]:
            del flat[old]
        flat.update(flatten_config({key: value}) if isinstance(value, Mapping) and value else {key: value})
    return flat


def flat_value(flat: Mapping[str, Any], key: str) -> Any:
    """The value of dotted ``key`` in a flat config: its own, else the mapping of the keys under it (as
    dotted keys), else None."""
    if key in flat:
        return flat[key]
    prefix = key + "."
    under = {k[len(prefix) :]: v for k, v in flat.items() if k.startswith(prefix)}
    return under or None


def display_value(value: Any, limit: int = 24) -> str:
    """:func:`format_value` cut to ``limit`` characters with an ellipsis (a mapping or list never spills a
    whole YAML document into a table cell or a legend)."""
    text = format_value(value)
    if len(text) <= limit:
        return text
    if isinstance(value, Mapping):  # the first keys that fit, then "…": {monitor: val_loss, …}
        shown = ""
        for k, v in value.items():
            item = f"{k}: {format_value(v)}"
            if len(shown) + len(item) + 5 > limit:
                break
            shown += item + ", "
        return "{" + shown + "…}"
    return text[: max(1, limit - 1)] + "…"


__all__ = [
    "described_config",
    "differing_params",
    "display_value",
    "flat_value",
    "flatten_config",
    "format_value",
    "get_param",
    "parse_overrides",
    "short_names",
]
