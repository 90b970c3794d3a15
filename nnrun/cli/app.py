"""The typer application: one thin module per command, registered here."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading

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
    """Console-script entry point.

    Once the command has ended and every exit handler has run (files closed, workers joined, trackers
    flushed), the process ends without tearing its modules down one by one: that teardown (NumPy, pydantic,
    rich and, after a sweep, the engine) takes a fifth of a second and changes nothing a user can see. With a
    non-daemon thread still running, the interpreter ends as usual (it waits for the thread).
    """
    try:
        app()  # a typer app ends with SystemExit
    except SystemExit as e:
        code = e.code
    else:
        code = 0
    if any(t is not threading.main_thread() and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    if code is not None and not isinstance(code, int):  # as sys.exit does: a message, status 1
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code or 0)
