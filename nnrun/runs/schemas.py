"""JSON Schemas (draft 2020-12) of the folder records, generated from the typed records that the code uses.

``schemas/<file>.schema.json`` in the repository are these, written by ``python -m nnrun.runs.schemas schemas``
(a test checks that they stay in sync). Field descriptions are the records' attribute docstrings. The schemas
describe the current format and every earlier one (format 0 lacks ``format_version``); readers should ignore
keys they do not know, so the schemas allow them.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import json
import sys
import textwrap
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from nnrun.results.rows import PREFIXES, TrialRow
from nnrun.runs import layout
from nnrun.runs.format import FORMAT_VERSION
from nnrun.runs.manifest import SweepManifest
from nnrun.runs.records import STATUSES, RunHistory, RunMetrics, RunStatus

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FOLDER = "schemas"  # in the repository, beside nnrun.schema.json
TRIAL_STATES = ("pending", *STATUSES)  # a trial's status in the manifest and the summary


def record_schema(cls: type, title: str, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The schema of the dataclass ``cls`` (nested dataclasses under ``$defs``). ``overrides``: per field
    (``"Class.field"``), keywords replacing the generated ones (e.g. an enum for a field typed ``str``)."""
    defs: dict[str, Any] = {}
    body = _object(cls, defs, overrides or {})
    return {"$schema": DRAFT, "title": title, **body, **({"$defs": dict(sorted(defs.items()))} if defs else {})}


def format_schemas() -> dict[str, dict[str, Any]]:
    """Every record's schema, by file name (``status.schema.json``, ...)."""
    status = {"enum": list(TRIAL_STATES)}
    manifest = record_schema(
        SweepManifest,
        "nnrun sweep manifest.json",
        {
            "TrialEntry.status": status,
            "SweepManifest.format_version": {"const": FORMAT_VERSION},
            "SweepManifest.mode": {"enum": ["max", "min", None]},
        },
    )
    return {
        "status.schema.json": record_schema(RunStatus, f"nnrun {layout.STATUS} (run and sweep folders)"),
        "metrics.schema.json": record_schema(RunMetrics, f"nnrun {layout.METRICS}"),
        "history.schema.json": record_schema(RunHistory, f"nnrun {layout.HISTORY}"),
        "manifest.schema.json": manifest,
        "summary.schema.json": summary_schema(),
    }


def summary_schema() -> dict[str, Any]:
    """``summary.json``: a list of :class:`~nnrun.results.TrialRow` rows, flat as written (the swept parameters
    are keys of their own, ``final_``/``best_``/``test_`` prefix the metrics)."""
    row = record_schema(TrialRow, "row", {"TrialRow.status": {"enum": [*TRIAL_STATES, "unknown"]}})
    row.pop("$schema"), row.pop("title")
    nested = {f"{prefix.rstrip('_')}" for prefix in PREFIXES} | {"params"}
    row["properties"] = {k: v for k, v in row["properties"].items() if k not in nested}
    row["required"] = [k for k in row["required"] if k not in nested]
    row["patternProperties"] = {
        f"^{'|'.join(p.rstrip('_') for p in PREFIXES).join('()')}_": {
            "type": ["number", "null"],
            "description": "A metric: final_<key> (last epoch), best_<key> (best epoch), test_<key> (test set).",
        }
    }
    row["additionalProperties"] = {"description": "A swept parameter: its dotted config key and its value."}
    return {
        "$schema": DRAFT,
        "title": f"nnrun sweep {layout.SUMMARY_JSON}",
        "description": "One row per trial, in the manifest's order (summary.csv has the same columns).",
        "type": "array",
        "items": row,
    }


def write_schemas(folder: str | Path) -> list[Path]:
    """Write every schema into ``folder``; returns the files."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in format_schemas().items():
        (out / name).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        written.append(out / name)
    return written


# --- from type hints to schemas --------------------------------------------------------------------

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def _object(cls: type, defs: dict[str, Any], overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    docs = attribute_docs(cls)
    properties, required = {}, []
    for f in dataclasses.fields(cls):
        schema = overrides.get(f"{cls.__name__}.{f.name}") or _type(hints[f.name], defs, overrides)
        if f.name in docs:
            schema = {**schema, "description": docs[f.name]}
        properties[f.name] = schema
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    doc = inspect.getdoc(cls) or ""
    return {
        **({"description": " ".join(doc.split())} if doc else {}),
        "type": "object",
        "properties": properties,
        "required": required,
        **getattr(cls, "extra", {}),
    }


def _type(hint: Any, defs: dict[str, Any], overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        base = _type(args[0], defs, overrides)
        extra = next((a for a in args[1:] if isinstance(a, dict)), {})
        return {**extra} if "const" in extra or "enum" in extra else {**base, **extra}
    if hint is Any:
        return {}
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        parts = [_type(a, defs, overrides) for a in args]
        if all(set(p) == {"type"} for p in parts):
            return {"type": [p["type"] for p in parts]}
        if all(set(p) <= {"enum", "type"} for p in parts) and any("enum" in p for p in parts):
            enum = [v for p in parts for v in p.get("enum", [])] + [None] * any(p.get("type") == "null" for p in parts)
            return {"enum": enum}
        return {"anyOf": parts}
    if origin is list:
        return {"type": "array", "items": _type(args[0], defs, overrides)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(args[1], defs, overrides)}
    if dataclasses.is_dataclass(hint):
        if hint.__name__ not in defs:
            defs[hint.__name__] = {}  # placeholder: a record that contains itself stops here
            defs[hint.__name__] = _object(hint, defs, overrides)
        return {"$ref": f"#/$defs/{hint.__name__}"}
    raise TypeError(f"no JSON Schema for the type {hint!r}: add it to nnrun.runs.schemas._type")


def attribute_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of ``cls`` (``x: int`` then ``\"\"\"what x is\"\"\"``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


__all__ = ["SCHEMA_FOLDER", "attribute_docs", "format_schemas", "record_schema", "summary_schema", "write_schemas"]


if __name__ == "__main__":  # python -m nnrun.runs.schemas FOLDER
    for path in write_schemas(sys.argv[1] if len(sys.argv) > 1 else SCHEMA_FOLDER):
        print(path)
