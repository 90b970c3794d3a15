"""The one place where nnrun's errors become messages on stderr and exit codes.

0 done; 1 the run failed or diverged (or an unexpected error); 2 a usage, config or data error;
130 interrupted by Ctrl-C. No traceback unless ``--debug``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import typer
from rich.console import Console

from nnrun.errors import ConfigError, DataError, InvalidArgumentError, NnrunError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def report(message: str) -> None:
    """A problem, on stderr."""
    stderr.print(f"[bold red]error:[/] {message}", markup=True, highlight=False) if stderr.is_terminal else print(
        f"error: {message}", file=sys.stderr
    )


def warn(message: str) -> None:
    """A warning, on stderr: the command goes on."""
    if stderr.is_terminal:
        stderr.print(f"[bold yellow]warning:[/] {_escape(message)}", markup=True, highlight=False)
    else:
        print(f"warning: {message}", file=sys.stderr)


@contextlib.contextmanager
def cli_errors(debug: bool = False) -> Iterator[None]:
    """Turn nnrun errors into one clear message and an exit code (re-raise with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except (ConfigError, DataError, InvalidArgumentError) as e:
        if debug:
            raise
        report(_escape(str(e)))
        raise typer.Exit(EXIT_USAGE) from None
    except NnrunError as e:
        if debug:
            raise
        report(_escape(str(e)))
        raise typer.Exit(EXIT_FAILED) from None
    except KeyboardInterrupt:
        if debug:
            raise
        report("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as e:
        if debug:
            raise
        report(_escape(f"{type(e).__name__}: {e} (run again with --debug for the traceback)"))
        raise typer.Exit(EXIT_FAILED) from None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text) if stderr.is_terminal else text
