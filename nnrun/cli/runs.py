"""``nnrun runs [DIR]``: the past runs and sweeps in a runs folder, as a table or CSV."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from nnrun.cli.common import DebugOpt, RunsDirOpt, runs_dir_or_default, stdout
from nnrun.cli.errors import cli_errors
from nnrun.results import format_value, short_names
from nnrun.runs.catalog import Listing, list_folder, listing

MAX_PARAM_COLUMNS = 8  # the table shows this many differing keys; --csv has them all
STATUS_STYLES = {"completed": "green", "running": "cyan", "failed": "red", "diverged": "red", "interrupted": "yellow"}


def runs(
    folder: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DIR]",
            help="A runs folder, or a sweep folder to list its trials (default: --runs-dir, $NNRUN_RUNS_DIR or runs/).",
            show_default=False,
        ),
    ] = None,
    runs_dir: RunsDirOpt = None,
    sort: Annotated[
        str | None,
        typer.Option("--sort", metavar="METRIC", help="Sort by this final metric, best first (e.g. val_accuracy)."),
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (a header row, full precision) instead.")] = False,
    debug: DebugOpt = False,
) -> None:
    """List past runs and sweeps, newest first, or a sweep folder's trials.

    Each row shows the status, the parameters that differ between the listed runs, and the final metrics."""
    root = folder if folder is not None else runs_dir_or_default(runs_dir)
    with cli_errors(debug):
        table = listing(list_folder(root), sort)
    if as_csv:
        write_csv(table)
    elif not table.rows:
        stdout.print(f"No runs or sweeps in {root}.", highlight=False, markup=False)
    elif stdout.is_terminal:
        stdout.print(rich_table(table, terminal=True, width=stdout.width))
    else:
        stdout.out(plain_text(rich_table(table, terminal=False)), highlight=False)


def write_csv(table: Listing) -> None:
    """name, folder, started, kind, trials, status, every differing key (dotted), every final metric."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["name", "folder", "started", "kind", "trials", "status", *table.params, *table.metrics])
    for row in table.rows:
        writer.writerow(
            [
                row["name"],
                row["folder"],
                row["started"].isoformat() if row["started"] else "",
                row["kind"],
                "" if row["trials"] is None else row["trials"],
                row["status"],
                *(_csv_value(row["params"][k]) for k in table.params),
                *("" if row["final"][m] is None else repr(row["final"][m]) for m in table.metrics),
            ]
        )


def rich_table(table: Listing, terminal: bool, width: int | None = None) -> Table:
    """The listing as a rich table: coloured in a terminal, plain (no box lines, no colour) in a pipe.

    In a terminal ``width`` columns wide, the name and parameter columns are cut with an ellipsis, and
    parameter columns that do not fit are left out (the caption says how many); the date, kind, status
    and metric columns are never cut.
    """
    # the keys that tell most rows apart first: every row has a value, and the most distinct values
    ranked = sorted(table.params, key=lambda k: _spread(table, k))
    names = short_names(table.params)
    params = ranked[:MAX_PARAM_COLUMNS]
    while True:
        cells = [_cells(row, params, table.metrics) for row in table.rows]
        headers = ["name", "date", "kind", "status", *(names[k] for k in params), *table.metrics]
        widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
        cut = [i == 0 or 4 <= i < len(headers) - len(table.metrics) for i in range(len(headers))]
        minimum = [min(w, 8) if c else w for w, c in zip(widths, cut)]
        if width is None or not params or sum(minimum) + 3 * (len(headers) - 1) <= width:
            break
        params = params[:-1]
    caption = []
    if len(table.params) > len(params):
        caption.append(f"{len(table.params) - len(params)} more differing keys: --csv lists them all")
    if any(row["kind"] == "sweep" for row in table.rows):
        caption.append("a sweep shows its best point (mean over repeats)")
    out = Table(
        box=box.SIMPLE_HEAVY if terminal else None,
        show_edge=False,
        pad_edge=False,
        caption="; ".join(caption) or None,
        caption_justify="left",
    )
    for i, header in enumerate(headers):
        metric = i >= len(headers) - len(table.metrics)
        out.add_column(header, justify="right" if metric else "left", no_wrap=True, min_width=minimum[i])
    for row, texts in zip(table.rows, cells):
        styled = [_escape(t) for t in texts]
        if terminal and row["status"] in STATUS_STYLES:
            styled[3] = f"[{STATUS_STYLES[row['status']]}]{styled[3]}[/]"
        out.add_row(*styled)
    return out


def _spread(table: Listing, key: str) -> tuple[bool, int]:
    values = [row["params"][key] for row in table.rows]
    return any(v is None for v in values), -len({format_value(v) for v in values})


def _cells(row: dict[str, Any], params: list[str], metrics: list[str]) -> list[str]:
    date = row["started"].astimezone().strftime("%Y-%m-%d %H:%M") if row["started"] else "-"
    kind = "run" if row["trials"] is None else f"sweep ({row['trials']} trials)"
    return [
        row["name"],
        date,
        kind,
        row["status"],
        *("-" if row["params"][k] is None else format_value(row["params"][k]) for k in params),
        *("-" if row["final"][m] is None else f"{row['final'][m]:.4f}" for m in metrics),
    ]


def plain_text(table: Table) -> str:
    """The table as plain text lines, never wrapped or cut, without trailing spaces (for pipes and files)."""
    console = Console(file=io.StringIO(), width=100_000, color_system=None, highlight=False)
    with console.capture() as capture:
        console.print(table)
    return "\n".join(line.rstrip() for line in capture.get().splitlines() if line.strip())


def _csv_value(value: Any) -> str:
    return "" if value is None else format_value(value)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
