"""Every command's --help reads cleanly: a summary, and flags shown without a value placeholder."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from nnrun.cli import app

runner = CliRunner()
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def test_the_root_help_lists_every_command():
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f" {name} " in result.output
    assert "<bool>" not in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_flags_take_no_placeholder(command):
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "--help" in result.output and "--debug" in result.output
    assert "<bool>" not in result.output
