"""``nnrun export RUN --format keras|onnx|npz --out FILE``: a trained run's model for other tools, with its
preprocessing beside it (``FILE.preprocessing.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import DebugOpt, stdout
from nnrun.cli.errors import cli_errors
from nnrun.cli.predict import RunArg, note
from nnrun.export import FORMATS, export_run
from nnrun.inference import load_run


def export(
    run: RunArg,
    format: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.", show_default=False)],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The file to write (.keras, .onnx or .npz).", show_default=False)
    ],
    debug: DebugOpt = False,
) -> None:
    """Export a trained run's model as a Keras 3 .keras file, an ONNX graph, or nnrun's .npz weights."""
    with cli_errors(debug):
        loaded = load_run(run)
        written = export_run(loaded, format, out)
        note(*loaded.notes)
        for path in written:
            stdout.print(f"Wrote {path}", markup=False)
