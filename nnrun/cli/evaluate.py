"""``nnrun evaluate RUN [--data DATA]``: a trained run's metrics on its test set or other data, recorded in the
run folder as a named evaluation (``evaluations/<name>/``), never over the training results."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nnrun.cli.common import DebugOpt, stdout
from nnrun.cli.display import class_table
from nnrun.cli.errors import cli_errors
from nnrun.cli.predict import RunArg, note
from nnrun.errors import DataError
from nnrun.inference import Evaluation, load_run
from nnrun.runs.evaluations import write_evaluation


def evaluate(
    run: RunArg,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="DATA",
            help="A .csv, .npz or IDX folder with labels, or a dataset name (its test split). Default: the run's "
            "own test set.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The evaluation's folder name (default: from the data, e.g. test)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an evaluation of the same --name.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Evaluate a trained run and record the metrics (and a classifier's confusion matrix) in its folder."""
    with cli_errors(debug):
        loaded = load_run(run)
        source = loaded.data_source(data, what="--data")
        if source.y is None:
            raise DataError(f"--data {data}: {source.description}; evaluating needs the labels too.")
        evaluation = loaded.evaluate(source.x, source.y, what=f"--data {data}", description=source.description)
        title = f"{loaded.config.name} — {name or source.name}"
        from nnrun.report.confusion import confusion_plots  # the plotting stack only when it draws

        path = write_evaluation(
            loaded.path, evaluation, name or source.name, run_name=loaded.config.name,
            figures=confusion_plots(evaluation.classes, title), overwrite=overwrite, explicit=name is not None,
        )  # fmt: skip
        note(*evaluation.notes)
        show_evaluation(evaluation)
        stdout.print(f"Evaluation: {path}", markup=False)


def show_evaluation(evaluation: Evaluation) -> None:
    """The metrics, then a classifier's per-class table."""
    stdout.print(f"Evaluated on {evaluation.data}", markup=False)
    table = Table(show_edge=False, pad_edge=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in evaluation.metrics.items():
        table.add_row(key, f"{value:.4f}")
    if evaluation.classes is not None:
        for key, value in evaluation.classes.averages().items():
            if key.startswith("macro"):
                table.add_row(key, f"{value:.4f}")
    stdout.print(table)
    if evaluation.classes is not None:
        stdout.print(class_table(evaluation.classes, Table(show_edge=False, pad_edge=False)))


__all__ = ["evaluate"]
