"""The ``nnrun`` command line."""

from nnrun.cli.app import app, main

__all__ = ["app", "main"]
