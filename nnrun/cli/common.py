"""Options shared by the commands, and the console they print to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from nnrun.runs.store import RUNS_DIR_ENV

ConfigArg = Annotated[Path, typer.Argument(metavar="CONFIG", help="The experiment's YAML file.", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override a config key (dotted path, YAML value), e.g. --set train.epochs=5. Repeatable.",
    ),
]
RunsDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--runs-dir", envvar=RUNS_DIR_ENV, show_default="runs/", help=f"Where run folders go (also ${RUNS_DIR_ENV})."
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]

stdout = Console(highlight=False, soft_wrap=True)


def overrides(sets: list[str] | None, name: str | None = None, seed: int | None = None) -> list[str]:
    """``--set`` items plus the shortcuts ``--name`` and ``--seed``."""
    out = list(sets or [])
    if name is not None:
        out.append(f"name={json.dumps(name, ensure_ascii=False)}")
    if seed is not None:
        out.append(f"seed={seed}")
    return out


def runs_dir_or_default(runs_dir: Path | None) -> Path:
    from nnrun.runs import default_runs_dir

    return runs_dir if runs_dir is not None else default_runs_dir()
