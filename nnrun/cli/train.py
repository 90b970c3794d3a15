"""``nnrun train CONFIG``: run one experiment and record it in a run folder."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nnrun.cli.common import DebugOpt, RunsDirOpt, SetOpt, overrides, runs_dir_or_default, stdout
from nnrun.cli.display import TrainingDisplay, class_table, results_lines, results_table
from nnrun.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, cli_errors, report, warn
from nnrun.cli.signals import StopSignals
from nnrun.cli.track import MlflowOpt, TensorBoardFlag, live_settings, track_finished
from nnrun.config import load_config
from nnrun.errors import InvalidArgumentError, StoreError
from nnrun.evaluation import ClassReport
from nnrun.experiment import prepare
from nnrun.runs import start_run, write_result
from nnrun.runs.checkpoint import CheckpointingObserver, open_resume, previous_log, restart_run
from nnrun.runs.naming import default_run_name
from nnrun.runs.store import RunFolder, check_runs_dir
from nnrun.trial import TrialResult, run_trial

EXIT_CODES = {"completed": EXIT_OK, "diverged": EXIT_FAILED, "failed": EXIT_FAILED, "interrupted": EXIT_INTERRUPTED}


def train(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="CONFIG", help="The experiment's YAML file (optional with --resume).", show_default=False
        ),
    ] = None,
    set_: SetOpt = None,
    runs_dir: RunsDirOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="The run's name (overrides the config's name).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="The run's seed (overrides the config's seed).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the results and the run folder.")] = False,
    tensorboard: TensorBoardFlag = False,
    mlflow: MlflowOpt = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Continue this run folder from its last completed epoch (more epochs: --set train.epochs=N).",
        ),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Train the model a config describes and write a run folder: config, history, metrics, weights, plots."""
    with cli_errors(debug):
        root = check_runs_dir(runs_dir_or_default(runs_dir))
        checkpoint = None
        if resume is not None:  # the run's own config (or CONFIG), where only train.epochs may change
            resumed, resolved, checkpoint = open_resume(resume, config, overrides(set_, name, seed))
        elif config is None:
            raise InvalidArgumentError("Give the experiment's CONFIG (a YAML file), or --resume RUN to continue a run.")
        else:
            resolved = load_config(config, overrides(set_, name, seed))
            if name is None:  # the run is named after what the command line changed
                resolved.name = default_run_name(resolved.name, overrides(set_, None, seed))
        experiment = prepare(resolved)
        tracking = live_settings(experiment.config, tensorboard, mlflow)
        display = TrainingDisplay(stdout, quiet=quiet)
        with StopSignals(lambda message: display.console.print(f"\n{message}", style="yellow")) as signals:
            if checkpoint is None:
                folder = start_run(
                    root,
                    experiment,
                    user_config=resolved._user,
                    overrides=overrides(set_, name, seed),
                    command=["nnrun", *sys.argv[1:]],
                )
            else:
                folder = resumed
                restart_run(folder, experiment, checkpoint)
            display.say(f"Data: {experiment.dataset.source}")
            try:
                result = run_trial(
                    experiment,
                    observer=CheckpointingObserver(display, folder, signals),
                    should_stop=signals.requested,
                    resume=checkpoint,
                )
            finally:
                signals.abort_allowed = False  # from here on, a signal waits for the folder to be complete
                display.close()
            if signals.requested() and result.status == "interrupted":
                result.stop_reason = result.stop_reason.replace("stopped", f"stopped by {signals.reason}", 1)
                result.stop_reason = result.stop_reason.replace("aborted", f"aborted by {signals.reason}", 1)
            log = [*previous_log(folder, checkpoint), *display.lines, *results_lines(result), ""]
            record_result(folder, experiment.config.name, result, log, experiment.config.to_yaml_dict())
            show_result(result, folder.path)
            track_finished(folder.path, tracking)
            raise typer.Exit(EXIT_CODES[result.status])


def record_result(
    folder: RunFolder, name: str, result: TrialResult, log_lines: list[str], config: dict | None = None
) -> None:
    """Write the result; if the disk is full (or the folder vanished), say so in the status when possible."""
    from nnrun.report import render_plots  # the plotting stack only when a run is recorded

    # the run store writes bytes it is handed; the config adds the plots' notes
    result.plots = render_plots(name, result.history, result.metrics, config, result.preprocessing, result.test_classes)
    try:
        write_result(folder, name, result, log="\n".join(log_lines))
    except StoreError as e:
        with contextlib.suppress(StoreError):
            folder.set_status("failed", stop_reason=f"the run folder could not be written: {e}")
        raise


def show_result(result: TrialResult, path: Path) -> None:
    """The results table, how the run ended, and where it is."""
    if result.metrics:
        stdout.print(results_table(result.metrics))
    if result.test_classes is not None:
        stdout.print(per_class_table(result.test_classes))
    if result.status == "completed":
        stdout.print(result.stop_reason, highlight=False, markup=False)
    else:
        report(f"{result.status}: {result.stop_reason}")
    if (result.metrics or {}).get("at_chance"):
        warn(result.metrics["at_chance"])
    stdout.print(f"Run folder: {path}", highlight=False, markup=False)


PER_CLASS_ROWS = 20  # more classes than this: the averages only (per_class.csv has every class)


def per_class_table(report: ClassReport) -> Table:
    """The test set class by class, with the macro averages (every class up to :data:`PER_CLASS_ROWS`)."""
    table = Table(title="Test set, per class (per_class.csv, confusion_matrix.png)", title_justify="left")
    return class_table(report, table, max_rows=PER_CLASS_ROWS, average_row=True)
