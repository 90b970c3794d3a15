"""``nnrun predict RUN DATA``: a trained run's predictions on new data, prepared as the run's training data was."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from nnrun.cli.common import DebugOpt, stdout
from nnrun.cli.errors import cli_errors
from nnrun.inference import Predictions, load_run
from nnrun.runs.evaluations import predictions_csv, write_predictions

RunArg = Annotated[Path, typer.Argument(metavar="RUN", help="A run folder (of nnrun train, or a sweep's trial).")]
SHOWN = 10  # rows printed without --out
WIDE = 4  # more classes than this: the table shows only the predicted class's probability


def predict(
    run: RunArg,
    data: Annotated[
        str,
        typer.Argument(
            metavar="DATA",
            help="A .csv (with or without the label column), .npz, .npy or IDX folder, or a dataset name "
            "(its test split), e.g. mnist_sample.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write every prediction: .csv (class and probabilities, or values), .npy, .npz; - for CSV on stdout.",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Predict with a trained run: the run's own preprocessing is applied to DATA first."""
    with cli_errors(debug):
        loaded = load_run(run)
        source = loaded.data_source(data, what="DATA")
        predictions = loaded.predictions(source.x, source.y, what=f"DATA {data}")
        note(*loaded.notes, *loaded.preprocessing.notes(source.x))
        if out is not None and str(out) == "-":
            sys.stdout.write(predictions_csv(predictions))
            return
        if out is not None:
            write_predictions(out, predictions)
            stdout.print(f"Predictions on {source.description}", markup=False)
            stdout.print(f"Written to {out}", markup=False)
            return
        stdout.print(f"Predictions on {source.description}", markup=False)
        stdout.print(predictions_table(predictions, SHOWN))
        n = len(predictions.outputs)
        if n > SHOWN:
            stdout.print(f"… {n - SHOWN} more rows: --out FILE.csv writes all {n}.", markup=False)


def note(*notes: str) -> None:
    """Notes on stderr (so that stdout stays data)."""
    for text in notes:
        print(f"note: {text}", file=sys.stderr)


def predictions_table(predictions: Predictions, rows: int) -> Table:
    """The first ``rows`` predictions as a table (probabilities with 4 decimals); beyond a few classes, only the
    predicted class's probability."""
    columns = predictions.columns()
    if len(predictions.labels) > WIDE:
        p = predictions.probabilities()
        chosen = p[np.arange(len(p)), predictions.classes] if predictions.classes is not None else p.max(axis=1)
        columns = {k: v for k, v in columns.items() if not k.startswith("p_")} | {"probability": chosen}
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    for name in columns:
        table.add_column(name, justify="left" if name in ("class", "true") else "right")
    for i in range(min(rows, len(predictions.outputs))):
        table.add_row(str(i), *(_cell(columns[c][i]) for c in columns))
    return table


def _cell(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, (float, np.floating)) else str(value)
