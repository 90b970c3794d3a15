"""``nnrun schema``: the JSON Schema of experiment configs, for editors with a YAML language server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import stdout
from nnrun.config import config_json_schema


def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the schema to this file, not stdout.")] = None,
) -> None:
    """Print the JSON Schema of the config (use it with '# yaml-language-server: $schema=FILE')."""
    text = json.dumps(config_json_schema(), indent=2) + "\n"
    if out is None:
        stdout.out(text, end="", highlight=False)
    else:
        out.write_text(text, encoding="utf-8")
