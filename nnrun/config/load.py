"""YAML → validated config, with key paths and line numbers in every error.

``load_config(path, overrides)`` reads the file (duplicate keys are errors), applies ``--set KEY=VALUE``
overrides (dotted paths, YAML-typed values), validates with the schema and raises one
:class:`ConfigError` listing every problem, each with its key path, line, the value received, what was
expected and a did-you-mean.
"""

from __future__ import annotations

import copy
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from nnrun.config.layers import LAYERS
from nnrun.config.schema import ExperimentConfig
from nnrun.config.yaml_safe import parse_value, parse_yaml, read_yaml_text
from nnrun.errors import ConfigError, Problem, closest, did_you_mean

Path_ = tuple[str | int, ...]


def _compose_with_lines(text: str, source: str) -> tuple[Any, dict[Path_, int], list[Problem]]:
    """The data, a map from key paths to 1-based line numbers, and duplicate-key problems (bounded work)."""
    return parse_yaml(text, source)


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def parse_override(text: str) -> tuple[list[str | int], Any]:
    """``"train.optimizer.learning_rate=0.01"`` → (["train", "optimizer", "learning_rate"], 0.01)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError([Problem("", f"--set expects KEY=VALUE, e.g. train.epochs=5. Received: {text!r}")], "--set")
    value = parse_value(raw, key, "--set") if raw.strip() else None
    return [int(p) if p.isdigit() else p for p in key.split(".")], value


def apply_override(data: dict[str, Any], path: list[str | int], value: Any) -> None:
    """Set ``path`` in nested dicts/lists, creating mappings on the way."""
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = _dotted(tuple(path[: i + 1]))
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise ConfigError(
                    [Problem(where, f"no list item {part!r} here (the list has {len(node)} items)")], "--set"
                )
        elif isinstance(node, dict):
            if isinstance(part, int):
                part = str(part)
            if not last and not isinstance(node.get(part), (dict, list)):
                node[part] = _expand_short_form(part, node.get(part))
                if not isinstance(node[part], (dict, list)):
                    raise ConfigError(
                        [Problem(where, f"is {node[part]!r}, not a mapping, so it has no sub-keys")], "--set"
                    )
        else:
            raise ConfigError([Problem(where, "cannot set a key inside a value that is not a mapping")], "--set")
        if last:
            node[part] = value
        else:
            node = node[part]


# The key a short form stands for: `dense: 64` is `dense: {units: 64}`, `optimizer: adam` is `{name: adam}`.
SHORT_FORMS = {**LAYERS.short_forms(), "optimizer": "name", "loss": "name"}


def _expand_short_form(key: str, value: Any) -> Any:
    if value is None:
        return {}
    if key in SHORT_FORMS and not isinstance(value, (dict, list)):
        return {SHORT_FORMS[key]: value}
    return value


def load_raw(path: str | Path | None = None, text: str | None = None) -> tuple[dict[str, Any], dict[Path_, int], str]:
    """The config file as a plain mapping, the line of every key, and its name for messages."""
    source = str(path) if path is not None else "<config>"
    if text is None:
        if path is None:
            raise ConfigError([Problem("", "no config file given")])
        p = Path(path)
        if not p.is_file():
            what = "is a folder, not a file" if p.is_dir() else "does not exist"
            raise ConfigError([Problem("", f"the config file {what}: {p}")], source)
        try:
            text = read_yaml_text(p)
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError([Problem("", f"cannot read the config file: {e}")], source) from None
    data, lines, problems = _compose_with_lines(text, source)
    if problems:
        raise ConfigError(problems, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            [
                Problem(
                    "",
                    "the config must be a mapping of keys (name, data, model, train). "
                    f"Received: a {type(data).__name__}",
                    1,
                )
            ],
            source,
        )
    return data, lines, source


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    text: str | None = None,
) -> ExperimentConfig:
    """Read, override and validate a config file (or ``text``); a ConfigError lists every problem."""
    data, lines, source = load_raw(path, text)
    overridden: set[Path_] = set()
    for item in overrides or []:
        key_path, value = parse_override(item)
        apply_override(data, key_path, value)
        overridden.add(tuple(key_path))
    user = copy.deepcopy(data)
    config = validate_config(data, source, lines, overridden)
    config._source, config._lines, config._user = source, lines, user
    return config


def validate_config(
    data: dict[str, Any],
    source: str = "<config>",
    lines: dict[Path_, int] | None = None,
    overridden: set[Path_] | None = None,
    problems: list[Problem] | None = None,
) -> ExperimentConfig:
    """Validate a plain dict; errors carry key paths and (when known) YAML lines."""
    problems = list(problems or [])
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as e:
        problems.extend(validation_problems(e, lines or {}, overridden or set()))
        config = None
    if problems:
        raise ConfigError(problems, source)
    return config  # type: ignore[return-value]


def validation_problems(error: ValidationError, lines: dict[Path_, int], overridden: set[Path_]) -> list[Problem]:
    """pydantic's errors as Problems: dotted key paths, YAML lines, readable messages with a did-you-mean."""
    out = []
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        # discriminated-union tags repeat the layer type; drop function-validator markers
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
        ctx = err.get("ctx") or {}
        if err["type"] == "nnrun" and ctx.get("key"):
            loc = (*loc, *ctx["key"].split("."))
        loc = _user_path(loc)
        message = _message(err, loc)
        line = line_of(lines, loc)
        if any(loc[: len(o)] == o or o[: len(loc)] == loc for o in overridden):
            message, line = message + " (from --set)", None
        path = _dotted(loc)
        out.append(Problem(path, message, line))
    return out


def _user_path(loc: Path_) -> Path_:
    """Drop the layer-type tag pydantic adds: ('model', 'layers', 0, 'dense', 'dense', 'units')."""
    out = list(loc)
    for i in range(len(out) - 3):
        if out[i] == "layers" and isinstance(out[i + 1], int) and out[i + 2] == out[i + 3]:
            del out[i + 2]
            break
    return tuple(out)


def line_of(lines: dict[Path_, int], path: str | Path_) -> int | None:
    """The YAML line of the deepest known key on ``path`` (a dotted string or a tuple of keys).

    An unknown key's own line is found when it exists; ``learning_rate`` also finds its alias ``lr``;
    a mapping whose keys contain dots (``sweep.parameters.model.hidden.activation``) is searched too.
    """
    parts: Path_ = tuple(int(p) if p.isdigit() else p for p in path.split(".")) if isinstance(path, str) else path
    for n in range(len(parts), 0, -1):
        head = tuple(parts[: n - 1])
        rest = ".".join(str(p) for p in parts[n - 1 :])
        for candidate in (tuple(parts[:n]), _with_aliases(tuple(parts[:n])), (*head, rest)):
            if candidate in lines:
                return lines[candidate]
    return None


def _with_aliases(path: Path_) -> Path_:
    return tuple("lr" if p == "learning_rate" else p for p in path)


def _message(err: dict[str, Any], loc: Path_) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind in ("nnrun", "unknown_name"):
        return msg
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed) or _one_level_down(str(loc[-1]), loc[:-1], allowed)
        listing = f" Expected one of: {', '.join(allowed)}." if allowed else ""
        return f"unknown key.{listing}{hint}"
    if kind == "missing":
        return "required key is missing"
    msg = msg.replace("Input should be", "must be").replace("Value error, ", "")
    return f"{msg}. Received: {value!r}"


def _one_level_down(key: str, loc: Path_, allowed: list[str]) -> str:
    """A did-you-mean for a key given one level too high: train.learning_rate → train.optimizer.learning_rate."""
    nested: dict[str, str] = {}
    for parent in allowed:
        for sub in _allowed_keys((*loc, parent)):
            nested.setdefault(sub, f"{parent}.{sub}")
    found = closest(key, list(nested))
    return did_you_mean(nested[found], [nested[found]]) if found else ""


def _allowed_keys(loc: Path_) -> list[str]:
    """The keys the schema allows in the mapping at ``loc``."""
    candidates: list[type[BaseModel]] = [ExperimentConfig]
    for part in loc:
        if isinstance(part, int):
            continue
        candidates = [m for c in candidates if (f := c.model_fields.get(str(part))) for m in _models(f.annotation)]
        if not candidates:
            return []
    keys: list[str] = []
    for model in candidates:
        keys += [k for k in model.model_fields if k not in keys]
    return keys


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside an annotation, through Optional, list, Annotated and unions."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


__all__ = ["apply_override", "line_of", "load_config", "parse_override", "validate_config"]
