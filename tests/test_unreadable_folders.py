"""One damaged run folder (config.yaml or history.json not UTF-8) never hides the others: `nnrun runs` and
`nnrun plot` skip it with a warning that names the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.runs.catalog import UnreadableFolderError, read_run, scan

V0 = Path(__file__).parent / "fixtures" / "v0"
GOOD, BAD = "20261130-175055-small-mlp-completed", "20261130-175119-small-mlp-diverged"
runner = CliRunner()


@pytest.fixture(params=["config-not-utf8", "history-not-utf8"])
def runs(tmp_path, request) -> Path:
    for name in (GOOD, BAD):
        shutil.copytree(V0 / name, tmp_path / name)
    if request.param == "config-not-utf8":
        (tmp_path / BAD / "config.yaml").write_bytes(b"name: r\xe9seau\n")  # Latin-1, not UTF-8
    else:
        (tmp_path / BAD / "history.json").write_bytes(b'{"loss": [0.5], "note": "\xff"}')
    return tmp_path


def test_runs_lists_the_others_and_warns(runs):
    result = runner.invoke(app, ["runs", str(runs)])
    assert result.exit_code == 0, result.output
    assert "small-mlp-completed" in result.output and "small-mlp-diverged" not in result.output.split("warning")[0]
    assert f"warning: skipped {BAD}: {runs / BAD}/" in result.output
    assert "is not UTF-8 text" in result.output


def test_plot_skips_it_and_draws_the_others(runs, tmp_path):
    out = tmp_path / "figs"
    result = runner.invoke(app, ["plot", str(runs / GOOD), str(runs / BAD), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"warning: skipped {runs / BAD}" in result.output
    assert any(out.glob("*.png"))


def test_named_alone_it_is_an_error_naming_the_file(runs):
    result = runner.invoke(app, ["plot", str(runs / BAD)])
    assert result.exit_code == 2, result.output
    assert str(runs / BAD) in result.output and "Traceback" not in result.output


def test_the_python_reader_warns_and_goes_on(runs):
    with pytest.warns(UserWarning, match=rf"skipped .*{BAD}"):
        records = scan(runs)
    assert [r.path.name for r in records] == [GOOD]
    with pytest.raises(UnreadableFolderError, match=BAD):
        read_run(runs / BAD)
