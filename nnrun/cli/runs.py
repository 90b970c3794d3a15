"""``nnrun runs [DIR]``: the past runs and sweeps in a runs folder, as a table or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from nnrun.cli.common import DebugOpt, RunsDirOpt, runs_dir_or_default, stdout
from nnrun.cli.errors import cli_errors, warn
from nnrun.errors import InvalidArgumentError
from nnrun.results import format_value, short_names
from nnrun.results.params import display_value
from nnrun.runs.catalog import Listing, list_folder, listing

MAX_PARAM_COLUMNS = 8  # the table shows this many differing keys; --wide and --csv have them all
PIPE_WIDTH = 100  # the table's width in a pipe (a terminal's own width otherwise); --wide: no limit
GAP, PIPE_GAP = 3, 2  # characters between two columns in a terminal (box lines), in a pipe
MIN_NAME, MIN_PARAM = 12, 6  # a name or parameter column is never cut narrower
STATUS_STYLES = {
    "completed": "green",
    "running": "cyan",
    "failed": "red",
    "diverged": "red",
    "interrupted": "yellow",
    "killed": "red",
}


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
    reverse: Annotated[
        bool, typer.Option("--reverse", help="Reverse the order (worst first, or oldest first).")
    ] = False,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            metavar="KEY=VALUE",
            help="Only the runs where KEY is VALUE (status=completed, activation=relu); repeat to narrow.",
        ),
    ] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Every column, nothing cut (wider than the terminal).")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (a header row, full precision) instead.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON instead: a list of rows with the columns of --csv.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """List past runs and sweeps, newest first, or a sweep folder's trials.

    Each row shows the status, the parameters that differ between the listed runs, and the final metrics."""
    root = folder if folder is not None else runs_dir_or_default(runs_dir)
    with cli_errors(debug):
        if as_csv and as_json:
            raise InvalidArgumentError("--csv and --json: pass one of them (both print the same columns).")
        records = list_folder(root, on_skip=lambda path, e: warn(f"skipped {path.name}: {e}"))
        table = listing(records, sort, where or (), reverse)
    if as_json:
        sys.stdout.write(json.dumps(json_rows(table), indent=2, allow_nan=False, default=str) + "\n")
    elif as_csv:
        write_csv(table)
    elif not table.rows:
        stdout.print(f"No runs or sweeps in {root}.", highlight=False, markup=False)
    elif stdout.is_terminal:
        stdout.print(rich_table(table, terminal=True, width=None if wide else stdout.width))
    else:
        stdout.out(plain_text(rich_table(table, terminal=False, width=None if wide else PIPE_WIDTH)), highlight=False)


def write_csv(table: Listing) -> None:
    """name, folder, started, kind, trials, status, at_chance, every differing key (dotted), every final metric,
    at full precision."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["name", "folder", "started", "kind", "trials", "status", "at_chance", *table.params, *table.metrics]
    )
    for row in table.rows:
        writer.writerow(
            [
                row["name"],
                row["folder"],
                row["started"].isoformat() if row["started"] else "",
                row["kind"],
                "" if row["trials"] is None else row["trials"],
                row["status"],
                "true" if row["chance"] else "false",
                *(_csv_value(row["params"][k]) for k in table.params),
                *("" if row["final"][m] is None else repr(row["final"][m]) for m in table.metrics),
            ]
        )


def json_rows(table: Listing) -> list[dict[str, Any]]:
    """The columns of :func:`write_csv` (keep the two alike: tests/test_format.py compares them), one object per
    row, with JSON types (numbers, booleans, null for missing)."""
    return [
        {
            "name": row["name"],
            "folder": row["folder"],
            "started": row["started"].isoformat() if row["started"] else None,
            "kind": row["kind"],
            "trials": row["trials"],
            "status": row["status"],
            "at_chance": bool(row["chance"]),
            **{k: row["params"][k] for k in table.params},
            **{m: row["final"][m] for m in table.metrics},
        }
        for row in table.rows
    ]


def rich_table(table: Listing, terminal: bool, width: int | None = None) -> Table:
    """The listing as a rich table: coloured in a terminal, plain (no box lines, no colour) in a pipe.

    ``width`` columns wide (None: ``--wide``, every column, nothing cut): the name and parameter columns
    are cut with an ellipsis, parameter columns that do not fit are left out (the caption says how many),
    only the validation metrics are shown when there are some; the date, kind, status and metric columns
    are never cut. A run that ended at chance level reads ``completed (chance)``.
    """
    wide = width is None
    ranked = sorted(table.params, key=lambda k: _spread(table, k))  # the keys that tell most rows apart first
    params = ranked if wide else ranked[:MAX_PARAM_COLUMNS]
    metrics = table.metrics if wide else _narrow_metrics(table.metrics)
    while True:
        names = _headers(params, metrics)
        headers = ["name", "started", "kind", "status", *names, *metrics]
        cells = [_cells(row, params, metrics, wide) for row in table.rows]
        widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
        cut = [i == 0 or 4 <= i < len(headers) - len(metrics) for i in range(len(headers))]
        fitted = widths if wide else _fit(widths, cut, width, GAP if terminal else PIPE_GAP)
        if fitted is not None or not params:
            break
        params = params[:-1]
    fitted = fitted or widths
    caption = []
    if len(table.params) > len(params):
        more = len(table.params) - len(params)
        caption.append(f"{more} more differing key{'s' * (more > 1)}: --wide shows {'them' if more > 1 else 'it'}")
    if len(table.metrics) > len(metrics):
        caption.append("training metrics: --wide")
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
        metric = i >= len(headers) - len(metrics)
        out.add_column(_cut(header, fitted[i]), justify="right" if metric else "left", no_wrap=True)
    for row, texts in zip(table.rows, cells):
        styled = [_escape(_cut_middle(t, w) if i == 0 else _cut(t, w)) for i, (t, w) in enumerate(zip(texts, fitted))]
        if terminal and row["status"] in STATUS_STYLES:
            styled[3] = f"[{STATUS_STYLES[row['status']]}]{styled[3]}[/]"
        out.add_row(*styled)
    return out


def _headers(params: list[str], metrics: list[str]) -> list[str]:
    """Short parameter names, never equal to another column's name (then the dotted key)."""
    taken = {"name", "started", "kind", "status", *metrics}
    return [n if n not in taken else k for k, n in short_names(params).items()]


def _narrow_metrics(metrics: list[str]) -> list[str]:
    """The validation metrics when there are some (the training ones are in --wide), else all."""
    validation = [m for m in metrics if m.startswith("val_")]
    return validation or metrics


def _fit(widths: list[int], cut: list[bool], width: int, gap: int) -> list[int] | None:
    """Column widths that fit in ``width`` by narrowing the cuttable columns, widest first; None if they
    cannot."""
    widths = list(widths)
    floor = [min(w, MIN_NAME if i == 0 else MIN_PARAM) if c else w for i, (w, c) in enumerate(zip(widths, cut))]
    excess = sum(widths) + gap * (len(widths) - 1) - width
    while excess > 0:
        shrinkable = [i for i, (w, f) in enumerate(zip(widths, floor)) if w > f]
        if not shrinkable:
            return None
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1
    return widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _cut_middle(text: str, width: int) -> str:
    """A name cut in its middle: runs named after one config differ at the end (``…-lr=0.1``)."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def _spread(table: Listing, key: str) -> tuple[bool, int]:
    values = [row["params"][key] for row in table.rows]
    return any(v is None for v in values), -len({format_value(v) for v in values})


def _cells(row: dict[str, Any], params: list[str], metrics: list[str], wide: bool = True) -> list[str]:
    started = (
        row["started"].astimezone().strftime("%Y-%m-%d %H:%M" if wide else "%m-%d %H:%M") if row["started"] else "-"
    )
    trials = row["trials"]
    kind = "run" if trials is None else f"sweep ({trials} trials)" if wide else f"sweep ({trials})"
    status = row["status"] + (" (chance)" if row.get("chance") else "")
    return [
        row["name"],
        started,
        kind,
        status,
        *("-" if row["params"][k] is None else display_value(row["params"][k], 60 if wide else 24) for k in params),
        *("-" if row["final"][m] is None else f"{row['final'][m]:.4f}" for m in metrics),
    ]


def plain_text(table: Table) -> str:
    """The table as plain text lines, never wrapped or cut, without trailing spaces (for pipes and files)."""
    console = Console(file=io.StringIO(), width=100_000, color_system=None, highlight=False)
    with console.capture() as capture:
        console.print(table)
    return "\n".join(line.rstrip() for line in capture.get().splitlines() if line.strip())


def _csv_value(value: Any) -> str:
    return "" if value is None else format_value(value, precise=True)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
