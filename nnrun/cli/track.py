"""``nnrun track RUN_OR_SWEEP...``: log past run and sweep folders to TensorBoard and MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nnrun.cli.common import DebugOpt, stdout
from nnrun.cli.errors import EXIT_FAILED, cli_errors, warn

if TYPE_CHECKING:
    from nnrun.tracking import TrackingSettings

TensorBoardFlag = Annotated[
    bool, typer.Option("--tensorboard", help="Write TensorBoard event files (into each folder's tensorboard/).")
]
TensorBoardDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--tensorboard-dir",
        metavar="DIR",
        help="Write the TensorBoard event files into DIR/<folder name>/ instead (implies --tensorboard).",
    ),
]
MlflowOpt = Annotated[
    str | None,
    typer.Option("--mlflow", metavar="URI", help="Log to this MLflow tracking URI (http://HOST:PORT, sqlite:///FILE)."),
]
ExperimentOpt = Annotated[
    str | None,
    typer.Option("--experiment", metavar="NAME", help="The MLflow experiment (default: the run's or sweep's name)."),
]


def track(
    folders: Annotated[
        list[Path], typer.Argument(metavar="RUN_OR_SWEEP...", help="Run or sweep folders.", show_default=False)
    ],
    tensorboard: TensorBoardFlag = False,
    tensorboard_dir: TensorBoardDirOpt = None,
    mlflow: MlflowOpt = None,
    experiment: ExperimentOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Log past run and sweep folders to MLflow and/or write their TensorBoard event files."""
    from nnrun.tracking import settings_from_flags, track_folders

    with cli_errors(debug):
        outcomes = track_folders(
            list(folders), settings_from_flags(tensorboard_dir or tensorboard or None, mlflow, experiment)
        )
        for outcome in outcomes:
            for line in outcome.messages():
                stdout.print(line, highlight=False, markup=False)
            for line in outcome.problems():
                warn(line)
        if any(outcome.failed for outcome in outcomes):
            raise typer.Exit(EXIT_FAILED)


# -- live tracking, for nnrun train and nnrun sweep ------------------------------------------------------


def live_settings(config: object, tensorboard: bool, mlflow: str | None) -> TrackingSettings:
    """The config's ``tracking:`` section with the flags over it; fails now if a backend is not installed."""
    from nnrun.tracking import require_backends, settings_from_config, settings_from_flags

    settings = settings_from_config(getattr(config, "tracking", None)).merged(
        settings_from_flags(tensorboard or None, mlflow)
    )
    require_backends(settings)
    return settings


def track_finished(path: Path, settings: TrackingSettings, sweep: bool = False) -> None:
    """Log a complete run (or sweep) folder; a failure is a warning saying how to upload it later."""
    if not settings.enabled:
        return
    from nnrun.tracking import track_run, track_sweep

    outcome = (track_sweep if sweep else track_run)(path, settings)
    for line in outcome.messages():
        stdout.print(line, highlight=False, markup=False)
    for line in outcome.problems():
        warn(line)
    if "mlflow" in outcome.failed and settings.mlflow is not None:
        uri = settings.mlflow.tracking_uri
        warn(f"the folder is complete; upload it later with: nnrun track {path} --mlflow {uri}")
