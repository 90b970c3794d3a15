"""``nnrun migrate [RUNS_DIR]``: upgrade run and sweep folders of an older format (a dry run unless --apply)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import DebugOpt, RunsDirOpt, runs_dir_or_default, stdout
from nnrun.cli.errors import cli_errors
from nnrun.runs.format import FORMAT_VERSION
from nnrun.runs.migrate import apply_migration, plan_migration


def migrate(
    folder: Annotated[
        Path | None,
        typer.Argument(
            metavar="[RUNS_DIR]",
            help="A runs folder, or one run or sweep folder (default: --runs-dir, $NNRUN_RUNS_DIR or runs/).",
            show_default=False,
        ),
    ] = None,
    runs_dir: RunsDirOpt = None,
    apply: Annotated[bool, typer.Option("--apply", help="Write the changes (without it, only list them).")] = False,
    debug: DebugOpt = False,
) -> None:
    """Upgrade folders written by an older nnrun to the current folder format.

    Lists what would change and writes nothing, unless --apply. Only version records change; rerunning is safe."""
    root = folder if folder is not None else runs_dir_or_default(runs_dir)
    with cli_errors(debug):
        plan = plan_migration(root)
        if apply:
            apply_migration(plan)
    verb = "Migrated" if apply else "Would migrate"
    for change in plan.changes:
        stdout.print(f"{'migrated' if apply else 'would migrate'} {change.describe()}", markup=False)
    for path, why in plan.skipped:
        stdout.print(f"left as it is: {path}: {why}", markup=False)
    stdout.print(
        f"{verb} {len(plan.changes)} folder(s) to format {FORMAT_VERSION}; {plan.current} already current, "
        f"{len(plan.skipped)} left as they are." + ("" if apply or not plan.changes else " Run with --apply."),
        markup=False,
    )
