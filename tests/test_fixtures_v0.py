"""Folders written by the first release (tests/fixtures/v0, never edited) read by today's catalog and CLI.

Each test copies the fixtures into tmp_path first, so nothing here can change them.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.results import TrialRow
from nnrun.runs.catalog import read_run, read_sweep, scan
from nnrun.runs.manifest import SweepManifest

V0 = Path(__file__).parent / "fixtures" / "v0"
RUNS = [
    "20261130-175055-small-mlp-completed",
    "20261130-175119-small-mlp-diverged",
    "20261130-175334-small-mlp-interrupted",
]
SWEEP, INTERRUPTED = "sweep-20261130-175057-moons-sweep", "sweep-20261130-175349-moons-sweep-interrupted"
ACT, LR = "model.hidden.activation", "train.optimizer.learning_rate"
runner = CliRunner()
@pytest.fixture
def v0(tmp_path) -> Path:
    copy = tmp_path / "v0"
    shutil.copytree(V0, copy)
    return copy


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_the_manifest_reads_into_records_and_writes_back_unchanged(v0):
    for sweep in (SWEEP, INTERRUPTED):
        data = json.loads((v0 / sweep / "manifest.json").read_text())
        manifest = SweepManifest.from_json(data)
        assert manifest.parameters == [ACT, LR] and (manifest.metric, manifest.mode) == ("val_accuracy", "max")
        assert json.dumps(manifest.to_json()) == json.dumps(data)  # same fields, same order, same values


def test_summary_rows_built_today_equal_the_ones_the_first_release_wrote(v0):
    for sweep in (SWEEP, INTERRUPTED):
        record = read_sweep(v0 / sweep)
        written = json.loads((v0 / sweep / "summary.json").read_text())
        assert [t.row().to_json() for t in record.trials] == written
        assert [TrialRow.from_json(row, record.parameters).to_json() for row in written] == written


def test_the_catalog_reads_runs_and_sweeps(v0):
    records = {r.path.name: r for r in scan(v0)}
    assert set(records) == {*RUNS, SWEEP, INTERRUPTED}
    assert [records[r].status for r in RUNS] == ["completed", "diverged", "interrupted"]
    sweep = records[SWEEP]
    assert sweep.kind == "sweep" and len(sweep.trials) == 4 and (sweep.metric, sweep.mode) == ("val_accuracy", "max")
    best = sweep.best_point()
    summary = json.loads((v0 / SWEEP / "summary.json").read_text())
    top = max(summary, key=lambda row: row["final_val_accuracy"])
    assert [t.id for t in best] == [top["id"]]
    interrupted = records[INTERRUPTED]
    assert [t.status for t in interrupted.trials] == ["completed", "completed", "interrupted", "pending"]
    assert interrupted.trials[3].run is None and interrupted.trials[2].run is not None
    assert read_run(v0 / RUNS[0]).final["val_accuracy"] == pytest.approx(
        json.loads((v0 / RUNS[0] / "metrics.json").read_text())["final"]["val_accuracy"]
    )


def test_nnrun_runs_lists_the_fixtures(v0):
    result = invoke("runs", v0, "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert sorted(Path(r["folder"]).name for r in rows) == sorted([*RUNS, SWEEP, INTERRUPTED])
    kinds = {Path(r["folder"]).name: (r["kind"], r["trials"], r["status"]) for r in rows}
    assert kinds[SWEEP] == ("sweep", "4", "completed") and kinds[RUNS[1]] == ("run", "", "diverged")
    sorted_rows = list(csv.DictReader(io.StringIO(invoke("runs", v0, "--csv", "--sort", "val_loss").output)))
    values = [float(r["val_loss"]) for r in sorted_rows if r["val_loss"]]
    assert values == sorted(values) and len(values) >= 4
    trials = list(csv.DictReader(io.StringIO(invoke("runs", v0 / SWEEP, "--csv").output)))
    assert len(trials) == 4 and {r[ACT] for r in trials} == {"tanh", "relu"}


def test_nnrun_plot_redraws_a_fixture_run_and_a_fixture_sweep(v0, tmp_path):
    out = tmp_path / "plots"
    result = invoke("plot", v0 / RUNS[0], "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["accuracy.png", "loss.png"]
    figures = tmp_path / "figures"
    result = invoke("plot", v0 / SWEEP, "--out", figures)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in figures.iterdir()) == sorted(p.name for p in (V0 / SWEEP / "figures").iterdir())
    assert all(p.stat().st_size > 1000 for p in figures.iterdir())


def resume_interrupted(v0: Path) -> None:
    """Resume the interrupted v0 sweep: its finished trials are kept, the rest run again (stopped here after
    one batch, so the test stays fast) and its summary and manifest are rewritten."""
    from nnrun.sweep import SerialExecutor, open_folder, plan_from_sweep_folder, run_sweep

    folder_path = v0 / INTERRUPTED
    plan = plan_from_sweep_folder(folder_path)
    folder, resumed = open_folder(plan, v0, resume=folder_path)
    assert resumed and [t.status for t in folder.manifest.trials] == [
        "completed",
        "completed",
        "interrupted",
        "pending",
    ]
    calls = []

    def stop_after_first_batch() -> bool:
        calls.append(1)
        return len(calls) > 1

    outcome = run_sweep(plan, folder, SerialExecutor(), should_stop=stop_after_first_batch)
    assert outcome.interrupted and outcome.ran == 1 and outcome.skipped == 2
    manifest = json.loads((folder_path / "manifest.json").read_text())
    assert [t["status"] for t in manifest["trials"]] == ["completed", "completed", "interrupted", "pending"]
    assert manifest["trials"][2]["finished"] != "2026-11-30T17:53:52+00:00"  # run and recorded again
    original = json.loads((V0 / INTERRUPTED / "manifest.json").read_text())
    assert manifest["trials"][:2] == original["trials"][:2]
    assert {k: v for k, v in manifest.items() if k != "trials"} == {k: v for k, v in original.items() if k != "trials"}
    summary = json.loads((folder_path / "summary.json").read_text())
    assert [row["status"] for row in summary] == ["completed", "completed", "interrupted", "pending"]


def test_a_fixture_sweep_is_resumed_as_written(v0):
    resume_interrupted(v0)


@pytest.mark.slow
def test_nnrun_sweep_resume_finishes_a_fixture_sweep(v0):
    result = invoke("sweep", "--resume", v0 / INTERRUPTED, "-q")
    assert result.exit_code == 0, result.output
    manifest = json.loads((v0 / INTERRUPTED / "manifest.json").read_text())
    assert [t["status"] for t in manifest["trials"]] == ["completed"] * 4
