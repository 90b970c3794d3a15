"""``nnrun train CONFIG``: run one experiment and record it in a run folder."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import ConfigArg, DebugOpt, RunsDirOpt, SetOpt, overrides, runs_dir_or_default, stdout
from nnrun.cli.display import TrainingDisplay, results_lines, results_table
from nnrun.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, cli_errors, report
from nnrun.config import load_config
from nnrun.config.build import prepare
from nnrun.runs import start_run, write_result
from nnrun.trial import TrialResult, run_trial

EXIT_CODES = {"completed": EXIT_OK, "diverged": EXIT_FAILED, "failed": EXIT_FAILED, "interrupted": EXIT_INTERRUPTED}


def train(
    config: ConfigArg,
    set_: SetOpt = None,
    runs_dir: RunsDirOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="The run's name (overrides the config's name).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="The run's seed (overrides the config's seed).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the results and the run folder.")] = False,
    debug: DebugOpt = False,
) -> None:
    """Train the model a config describes and write a run folder: config, history, metrics, weights, plots."""
    with cli_errors(debug):
        experiment = prepare(load_config(config, overrides(set_, name, seed)))
        folder = start_run(runs_dir_or_default(runs_dir), experiment)
        display = TrainingDisplay(stdout, quiet=quiet)
        display.say(f"Data: {experiment.dataset.source}")
        try:
            with StopOnCtrlC(display) as stopper:
                result = run_trial(experiment, observer=display, should_stop=stopper.requested)
        except KeyboardInterrupt:
            folder.set_status("interrupted", stop_reason="aborted by a second Ctrl-C")
            raise
        finally:
            display.close()
        write_result(
            folder, experiment.config.name, result, log="\n".join([*display.lines, *results_lines(result), ""])
        )
        show_result(result, folder.path)
        raise typer.Exit(EXIT_CODES[result.status])


def show_result(result: TrialResult, path: Path) -> None:
    """The results table, how the run ended, and where it is."""
    if result.metrics:
        stdout.print(results_table(result.metrics))
    if result.status == "completed":
        stdout.print(result.stop_reason, highlight=False, markup=False)
    else:
        report(f"{result.status}: {result.stop_reason}")
    stdout.print(f"Run folder: {path}", highlight=False, markup=False)


class StopOnCtrlC:
    """The first Ctrl-C asks training to stop after the current batch; a second one aborts."""

    def __init__(self, display: TrainingDisplay) -> None:
        self.display = display
        self._requested = False

    def requested(self) -> bool:
        return self._requested

    def _handle(self, signum, frame) -> None:
        if self._requested:
            raise KeyboardInterrupt
        self._requested = True
        self.display.console.print("\nStopping after this batch (Ctrl-C again to abort)...", style="yellow")

    def __enter__(self) -> StopOnCtrlC:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)
