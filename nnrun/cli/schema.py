"""``nnrun schema``: the JSON Schema of experiment configs, for editors with a YAML language server."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import DebugOpt, stdout
from nnrun.cli.errors import EXIT_USAGE, cli_errors, report
from nnrun.config import config_json_schema


def schema(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the schema to this file, not stdout.")] = None,
    debug: DebugOpt = False,
) -> None:
    """Print the JSON Schema of the config (use it with '# yaml-language-server: $schema=FILE')."""
    with cli_errors(debug):
        _write(json.dumps(config_json_schema(), indent=2) + "\n", out)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        stdout.out(text, end="", highlight=False)
        return
    if out.is_dir():
        report(f"--out {out}: is a folder; give a file name, e.g. --out {out / 'nnrun.schema.json'}")
        raise typer.Exit(EXIT_USAGE)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        report(f"--out {out}: cannot write the schema: {_why(e)}")
        raise typer.Exit(EXIT_USAGE) from None


def _why(e: OSError) -> str:
    reasons = {
        errno.EACCES: "permission denied; choose a path you can write",
        errno.EPERM: "permission denied; choose a path you can write",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.ENOENT: "its folder does not exist; create it first",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "it is a folder; give a file name",
        errno.ENAMETOOLONG: "the path is too long; shorten it",
        errno.ENOSPC: "no space left on the device",
    }
    return reasons.get(e.errno, e.strerror or str(e))
