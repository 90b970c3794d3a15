"""``nnrun plot RUN_OR_SWEEP...``: redraw a run's plots, overlay several runs, or redraw a sweep's figures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nnrun.cli.common import DebugOpt, stdout
from nnrun.cli.errors import cli_errors, warn
from nnrun.errors import InvalidArgumentError, did_you_mean
from nnrun.runs import layout
from nnrun.runs.catalog import RunRecord, SweepRecord, UnreadableFolderError, read_folder, run_labels
from nnrun.runs.evaluations import read_class_report

if TYPE_CHECKING:  # the plotting stack is imported when a figure is drawn, not when the CLI starts
    from matplotlib.figure import Figure


def plot(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="RUN_OR_SWEEP...", help="Run folders, or one sweep folder.", show_default=False),
    ],
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric", "-m", help="Draw this metric only (default: the loss and the primary metric, or val_loss)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="A .png, .svg or .pdf file (for a sweep: its headline figure), or a folder for every figure "
            "(default: the run's or sweep's own folder).",
        ),
    ] = None,
    figure: Annotated[
        str | None,
        typer.Option(
            "--figure",
            "-f",
            metavar="NAME",
            help="A sweep's figure to draw, by name (heatmap_..., curves_..., or just heatmap, curves, bars).",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Redraw a run's plots, overlay several runs on one figure, or redraw a sweep's figures.

    The legend of an overlay names the parameters in which the runs differ. The files written are printed."""
    with cli_errors(debug):
        figures = plan_figures(readable_folders(paths), metric, out, figure)
        written = [save_figure(figure, path) for path, figure in figures.items()]
    for path in written:
        stdout.print(str(path), highlight=False, markup=False)


def save_figure(figure: Figure, path: Path) -> Path:
    """:func:`nnrun.report.save_figure`, imported when the first figure is saved."""
    from nnrun.report import save_figure as save

    return save(figure, path)


def plan_figures(
    records: list[RunRecord | SweepRecord], metric: str | None, out: Path | None, figure: str | None = None
) -> dict[Path, Figure]:
    """The figures to draw and where each goes."""
    sweeps = [r for r in records if isinstance(r, SweepRecord)]
    if sweeps and len(records) > 1:
        raise InvalidArgumentError(
            f"pass one sweep folder on its own, or run folders. Received {len(sweeps)} sweep(s) among "
            f"{len(records)} folders: {', '.join(str(r.path) for r in sweeps)}"
        )
    if sweeps:
        return _sweep_figures(sweeps[0], metric, out, figure)
    if figure is not None:
        raise InvalidArgumentError(f"--figure {figure}: only a sweep folder has named figures; pass a sweep folder.")
    for record in records:
        if not record.history.get("loss"):
            raise InvalidArgumentError(f"{record.path} has no history to plot yet (status: {record.status}).")
    if len(records) == 1:
        return _run_figures(records[0], metric, out)
    return _overlay_figures(records, metric, out)


def _run_figures(record: RunRecord, metric: str | None, out: Path | None) -> dict[Path, Figure]:
    from nnrun.report import history_figure, metric_names, plot_names, readable_name
    from nnrun.report.notes import run_notes
    from nnrun.report.sweep import file_safe

    names = dict(plot_names(record.history))
    if metric is not None:
        keys = [k for k in record.history if k != "epoch_time"]
        _check_metric(metric, [*keys, *metric_names(record.history)], f"{record.path} has no such metric", shown=keys)
        base = metric[4:] if metric.startswith("val_") and metric in keys else metric
        names = {base: names.get(base, f"{file_safe(base)}.png")}
    if out is not None and _is_file(out) and len(names) > 1:
        raise InvalidArgumentError(
            f"--out {out} is one file, but {record.path.name} has {len(names)} plots ({', '.join(names)}). "
            "Pass --metric to draw one, or a folder to --out."
        )
    folder = out if out is not None else record.path
    notes = run_notes(record.metrics, record.config, record.preprocessing)
    figures = {
        (out if _is_file(folder) else folder / file): history_figure(
            record.history, metric=m, title=f"{record.name} — {readable_name(m).lower()}", notes=notes
        )
        for m, file in names.items()
    }
    classes = read_class_report(record.path) if metric is None and not _is_file(folder) else None
    table = record.path / "confusion_matrix.csv"
    if classes is None and metric is None and table.is_file():
        warn(f"{table} is not a confusion matrix as nnrun writes it (a header of class names, then one row of "
             "counts per class); confusion_matrix.png is not drawn.")
    if classes is not None:  # a classifier's test set: its confusion matrix too (a sweep draws only its best's)
        from nnrun.report.confusion import confusion_figure

        figures[folder / "confusion_matrix.png"] = confusion_figure(
            classes.matrix, classes.labels, f"{record.name} — test set"
        )
    return figures


def _overlay_figures(records: list[RunRecord], metric: str | None, out: Path | None) -> dict[Path, Figure]:
    from nnrun.report import overlay_figure
    from nnrun.report.sweep import file_safe

    common = [k for k in records[0].history if all(k in r.history for r in records)]
    if metric is None:
        metric = "val_loss" if "val_loss" in common else "loss"
    _check_metric(metric, [k for k in common if k != "epoch_time"], f"not all of the {len(records)} runs have it")
    labels = run_labels(records)
    figure = overlay_figure([(label, r.history) for label, r in zip(labels, records)], metric=metric)
    default = f"comparison-{file_safe(metric)}.png"
    path = Path(default) if out is None else out if _is_file(out) else out / default
    return {path: figure}


def _sweep_figures(sweep: SweepRecord, metric: str | None, out: Path | None, figure: str | None) -> dict[Path, Figure]:
    """Every figure into a folder; one (``--figure``, else the headline: the heatmap, or the metric's curves)
    into a file."""
    from nnrun.report.sweep import draw_sweep_figure, headline_figure, pick_sweep_figure, plan_sweep_figures

    trials = [t for t in sweep.trials if t.run and t.run.history.get("loss")]
    if not trials:
        raise InvalidArgumentError(f"{sweep.path} has no trial with a history yet (status: {sweep.status}).")
    metric = metric or sweep.metric
    rows = [{**t.row().to_json(), "finished": t.finished} for t in trials]  # the history figure: in that order
    histories = [t.run.history for t in trials if t.run]
    keys = list(dict.fromkeys(k for h in histories for k in h if k != "epoch_time"))
    _check_metric(metric, keys, f"no trial of {sweep.path} has it")
    planned = plan_sweep_figures(rows, histories, metric, sweep.parameters, sweep.mode_for(metric), sweep.repeated)
    if not planned:
        raise InvalidArgumentError(f"{sweep.path} has no swept parameters to compare (manifest.json: parameters).")
    if figure is not None:
        planned = [pick_sweep_figure(planned, figure)]
    elif out is not None and _is_file(out):
        planned = [headline_figure(planned, metric)]
    if out is not None and _is_file(out):
        return {out: draw_sweep_figure(planned[0], rows, histories)}
    folder = out if out is not None else sweep.path / layout.FIGURES
    return {folder / f.name: draw_sweep_figure(f, rows, histories) for f in planned}


def _check_metric(metric: str, available: list[str], problem: str, shown: list[str] | None = None) -> None:
    if metric not in available:
        shown = available if shown is None else shown
        raise InvalidArgumentError(
            f"--metric {metric}: {problem}. Available: {', '.join(shown) or 'none'}."
            + did_you_mean(metric, shown, complete=True)
        )


def _is_file(out: Path) -> bool:
    """``--out`` names a file when it has a suffix (.png, .svg or .pdf) and is not an existing folder."""
    return not out.is_dir() and out.suffix != ""


def readable_folders(paths: list[Path]) -> list[RunRecord | SweepRecord]:
    """The folders read back; one with an unreadable file is skipped with a warning (unless it is the only one)."""
    records = []
    for path in paths:
        try:
            records.append(read_folder(path))
        except UnreadableFolderError as e:
            if len(paths) == 1:
                raise
            warn(f"skipped {path}: {e}")
    if not records:
        raise InvalidArgumentError("none of the folders could be read (see the warnings above)")
    return records
