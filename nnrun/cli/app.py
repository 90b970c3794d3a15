"""The typer application: one thin module per command, registered here."""

from __future__ import annotations

import typer

from nnrun import __version__

app = typer.Typer(
    name="nnrun",
    help="Deep-learning experiments as YAML files, on a NumPy engine that follows Keras.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nnrun {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Deep-learning experiments as YAML files, on a NumPy engine that follows Keras."""


from nnrun.cli.check import check  # noqa: E402
from nnrun.cli.evaluate import evaluate  # noqa: E402
from nnrun.cli.export import export  # noqa: E402
from nnrun.cli.migrate import migrate  # noqa: E402
from nnrun.cli.plot import plot  # noqa: E402
from nnrun.cli.predict import predict  # noqa: E402
from nnrun.cli.runs import runs  # noqa: E402
from nnrun.cli.schema import schema  # noqa: E402
from nnrun.cli.sweep import sweep  # noqa: E402
from nnrun.cli.track import track  # noqa: E402
from nnrun.cli.train import train  # noqa: E402

app.command("train")(train)
app.command("check")(check)
app.command("schema")(schema)
app.command("plot")(plot)
app.command("runs")(runs)
app.command("sweep")(sweep)
app.command("track")(track)
app.command("predict")(predict)
app.command("evaluate")(evaluate)
app.command("export")(export)
app.command("migrate")(migrate)


def main() -> None:
    """Console-script entry point."""
    app()
