"""``nnrun sweep CONFIG``: run a grid or random search over config keys, in parallel and resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import DebugOpt, RunsDirOpt, SetOpt, overrides, runs_dir_or_default, stdout
from nnrun.cli.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, cli_errors, report, warn
from nnrun.cli.signals import StopSignals
from nnrun.cli.sweep_display import SweepDisplay, ranked_table, table_limit, trial_label
from nnrun.cli.track import MlflowOpt, TensorBoardFlag, live_settings, track_finished
from nnrun.errors import InvalidArgumentError
from nnrun.runs import layout
from nnrun.runs.manifest import FINAL
from nnrun.runs.store import check_runs_dir
from nnrun.sweep import make_executor, open_folder, plan_from_sweep_folder, plan_sweep, rank, run_sweep
from nnrun.sweep.executors import EXECUTORS

EXECUTOR_HELP = ", ".join(f"{name} ({EXECUTORS.get(name).help})" for name in EXECUTORS)


def sweep(
    config: Annotated[
        Path | None, typer.Argument(metavar="CONFIG", help="The experiment's YAML file.", show_default=False)
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="KEY=V1,V2,...",
            help="Sweep a config key over values, e.g. --param "
            "model.hidden.activation=sigmoid,tanh,relu. Repeatable; adds to the config's sweep section.",
        ),
    ] = None,
    set_: SetOpt = None,
    runs_dir: RunsDirOpt = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-w",
            min=1,
            help="--executor process: parallel trials (default: the cores; at most the trials).",
        ),
    ] = None,
    executor: Annotated[
        str,
        typer.Option("--executor", help=f"Where trials run: {EXECUTOR_HELP}."),
    ] = "process",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="--executor ray: join the running cluster at HOST:PORT (or ray://HOST:PORT, or auto); "
            "default: start a local Ray instance.",
        ),
    ] = None,
    cpus_per_trial: Annotated[
        int | None,
        typer.Option(
            "--cpus-per-trial", min=1, help="--executor ray: CPUs each trial uses (and its BLAS threads); default 1."
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Resume this sweep folder: run its missing, failed and interrupted trials."),
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="Start a new sweep folder even if this sweep ran before.")] = False,
    allow_data_change: Annotated[
        bool, typer.Option("--allow-data-change", help="Resume even if the data files changed since the sweep began.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the trials and stop.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the ranked table and paths.")] = False,
    tensorboard: TensorBoardFlag = False,
    mlflow: MlflowOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Run every trial of a sweep (a grid or random search over config keys) and rank them.

    Re-running the same command resumes the sweep: finished trials are skipped."""
    with cli_errors(debug):
        check_inputs(config, resume, new, set_, param)
        pool = make_executor(executor, workers, address, cpus_per_trial)  # checks the options; starts nothing
        root = runs_dir_or_default(runs_dir)
        if resume is None and not dry_run:
            check_runs_dir(root)
        plan = plan_sweep(config, overrides(set_), param) if config is not None else plan_from_sweep_folder(resume)
        for warning in plan.warnings:
            warn(warning)
        how = "" if plan.spec.method in ("grid", "random") else f" chosen by {plan.spec.method}"
        pruned = f", pruned by {plan.spec.pruner.name}" if plan.spec.pruner is not None else ""
        stdout.print(f"{plan.size} trials{how}, ranked by {plan.metric} ({plan.mode}){pruned}", highlight=False)
        if dry_run:
            for key, values in plan.spec.parameters.items() if not plan.trials else ():
                shown = values if isinstance(values, list) else values.model_dump(exclude_defaults=True)
                stdout.print(f"  {key}: {shown}", highlight=False, markup=False)
            for t in plan.trials:
                stdout.print(f"  {t.id}  {trial_label(t)}  seed {t.seed}", highlight=False, markup=False)
            raise typer.Exit(EXIT_OK)
        base = next(iter(plan.experiments.values()), None)
        tracking = live_settings(base.config if base is not None else None, tensorboard, mlflow)
        with pool:  # joins the cluster (or fails, exit 2) before any folder is made
            folder, _ = open_folder(plan, root, resume, new, allow_data_change, warn)
            display = SweepDisplay(stdout, plan.trials, plan.metric, quiet, mode=plan.mode)
            try:
                with StopSignals(lambda m: display.console.print(f"\n{m}", style="yellow")) as stopper:
                    outcome = run_sweep(
                        plan, folder, pool, display, stopper.requested, log=lambda: "\n".join([*display.lines, ""])
                    )
            finally:
                display.close()
        ranked = rank(outcome.rows, plan.metric, plan.mode, list(plan.spec.parameters))
        limit = table_limit(stdout, len(ranked))  # in a terminal, the table fits the screen
        stdout.print(ranked_table(ranked, list(plan.spec.parameters), plan.metric, plan.mode, limit))
        stdout.print(f"Summary: {outcome.folder / 'summary.csv'}", highlight=False, markup=False)
        if outcome.figures:
            stdout.print(f"Figures: {outcome.folder / 'figures'}", highlight=False, markup=False)
        for trial in sorted({p.parent for p in outcome.figures if p.parent.parent.name == layout.TRIALS}):
            stdout.print(f"Best trial's plots: {trial}", highlight=False, markup=False)
        track_finished(outcome.folder, tracking, sweep=True)  # this process alone writes the folder: it logs
        if outcome.interrupted:
            report(
                f"interrupted: {plan.size - sum(r['status'] in FINAL for r in outcome.rows)} trials "
                f"left; resume with: nnrun sweep --resume {outcome.folder}"
            )
            raise typer.Exit(EXIT_INTERRUPTED)
        if outcome.failed or any(r["status"] == "failed" for r in outcome.rows):
            report("some trials failed; see their error.txt, and re-run the command to retry them")
            raise typer.Exit(EXIT_FAILED)
        raise typer.Exit(EXIT_OK)


def check_inputs(
    config: Path | None, resume: Path | None, new: bool, sets: list[str] | None, params: list[str] | None
) -> None:
    """The combinations of CONFIG, --resume, --new, --set and --param that mean something; others exit 2."""
    if config is None and resume is None:
        raise InvalidArgumentError("give a CONFIG file, or --resume SWEEP_FOLDER")
    if resume is not None and new:
        raise InvalidArgumentError(
            f"--new starts a new sweep, --resume continues one: give one of them. Received: --resume {resume} --new"
        )
    if resume is not None and config is None:
        for flag, given in (("--set", sets), ("--param", params)):
            if given:
                raise InvalidArgumentError(
                    f"{flag} does not apply to --resume {resume}: a resumed sweep runs its remaining trials with "
                    f"the config and sweep it started with (its sweep.yaml). To change them, start a new sweep: "
                    f"nnrun sweep CONFIG {flag} ... Received: {flag} {' '.join(given)}"
                )
