"""The on-disk format (runs/README.md): committed schemas equal the generated ones; every record that real runs
and sweeps write, and every record of the first release (tests/fixtures/v0), validates; every new folder says
its format version; a newer format is refused with exit 2; ``nnrun migrate`` upgrades v0 folders only when asked.

The fixtures are copied into tmp_path before anything could write to them.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import os
import shutil
import socket
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

import nnrun.runs
from nnrun import __version__
from nnrun.cli import app
from nnrun.results import TrialRow
from nnrun.runs import layout
from nnrun.runs.catalog import read_sweep
from nnrun.runs.format import FORMAT_VERSION, FormatVersionError, check_readable
from nnrun.runs.manifest import SweepManifest
from nnrun.runs.migrate import apply_migration, plan_migration
from nnrun.runs.records import RunHistory, RunMetrics, RunStatus
from nnrun.runs.schemas import SCHEMA_FOLDER, format_schemas

ROOT = Path(__file__).parent.parent
V0 = Path(__file__).parent / "fixtures" / "v0"
V0_RUN, V0_SWEEP = "20261130-175055-small-mlp-completed", "sweep-20261130-175057-moons-sweep"
SCHEMAS = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in (ROOT / SCHEMA_FOLDER).glob("*.json")}
RECORD_FILES = {
    layout.STATUS: "status.schema.json",
    layout.METRICS: "metrics.schema.json",
    layout.HISTORY: "history.schema.json",
    layout.MANIFEST: "manifest.schema.json",
    layout.SUMMARY_JSON: "summary.schema.json",
}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def strict(schema: dict, parameters: list[str] = ()) -> dict:
    """The schema with no keys beyond the records' fields (the published one lets readers meet newer keys):
    what the code writes must be described, field by field, by the typed records."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    if schema.get("type") == "array":  # summary.json: the swept parameters are the only other keys
        row = schema["items"]
        row["properties"].update({p: {} for p in parameters})
        row["additionalProperties"] = False
    return schema


def errors(data, schema: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def records_under(root: Path) -> list[Path]:
    """Every status/metrics/history/manifest/summary record of the run and sweep folders under ``root``
    (evaluations/ holds other records)."""
    return sorted(p for name in RECORD_FILES for p in root.rglob(name) if "evaluations" not in p.parts)


def parameters_of(record: Path) -> list[str]:
    manifest = record.parent / layout.MANIFEST
    return json.loads(manifest.read_text())["parameters"] if manifest.is_file() else []


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """A runs folder written by today's commands: a completed run, a diverged run and a sweep."""
    runs = tmp_path_factory.mktemp("written") / "runs"
    small, sweep = V0 / "small_mlp.yaml", V0 / "moons_sweep.yaml"
    for args in (
        ["train", small, "-q", "--name", "done"],
        ["train", small, "-q", "--name", "nan", "--set", "train.optimizer={name: sgd, learning_rate: 1e30}"],
        ["sweep", sweep, "-q", "--executor", "serial"],
    ):
        result = invoke(*args, "--runs-dir", runs)
        assert result.exit_code in (0, 1), result.output  # 1: the diverged run
    return runs


@pytest.fixture
def v0(tmp_path) -> Path:
    copy_ = tmp_path / "v0"
    shutil.copytree(V0, copy_)
    return copy_


def future(folder: Path, version: int = 99, writer: str = "9.0.0") -> None:
    """Make ``folder`` look written by a newer nnrun."""
    for name in (layout.STATUS, layout.MANIFEST):
        path = folder / name
        if path.is_file():
            record = json.loads(path.read_text())
            path.write_text(json.dumps({"format_version": version, "nnrun_version": writer, **record}))


# --- schemas ----------------------------------------------------------------------------------------


def test_committed_schemas_are_the_generated_ones():
    generated = format_schemas()
    assert set(SCHEMAS) == set(generated) == set(RECORD_FILES.values())
    for name, schema in generated.items():
        assert SCHEMAS[name] == schema, f"{name} is stale: run python -m nnrun.runs.schemas {SCHEMA_FOLDER}"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_record_written_today_validates_strictly(written):
    files = records_under(written)
    assert {p.name for p in files} == set(RECORD_FILES) and len(files) == 2 * 3 + 4 * 3 + 3
    for path in files:
        data = json.loads(path.read_text())
        schema = SCHEMAS[RECORD_FILES[path.name]]
        assert errors(data, schema) == [], path
        assert errors(data, strict(schema, parameters_of(path))) == [], f"{path}: a key no typed record describes"


def test_every_v0_record_validates(v0):
    files = records_under(v0)
    assert len(files) == 3 * 3 + 7 * 3 + 2 * 3  # 3 runs, 7 trial folders, 2 sweeps
    for path in files:
        data = json.loads(path.read_text())
        assert "format_version" not in data if isinstance(data, dict) else True
        assert errors(data, strict(SCHEMAS[RECORD_FILES[path.name]], parameters_of(path))) == [], path


def test_the_schemas_reject_what_no_nnrun_writes():
    status = SCHEMAS["status.schema.json"]
    ok = {"status": "completed", "started": "2026-01-01T00:00:00+00:00", "updated": "2026-01-01T00:00:01+00:00"}
    assert errors(ok, status) == []
    assert any(e.startswith("status") for e in errors({**ok, "status": "finished"}, status))
    assert any(e.startswith("format_version") for e in errors({**ok, "format_version": 2}, status))
    assert errors({k: v for k, v in ok.items() if k != "started"}, status) == [": 'started' is a required property"]
    history = SCHEMAS["history.schema.json"]
    assert any(e.startswith("loss") for e in errors({"epoch_time": [], "learning_rate": [], "loss": ["x"]}, history))
    summary = SCHEMAS["summary.schema.json"]
    row = {"id": "0001", "repeat": 0, "seed": 1, "status": "completed", "final_loss": "low"}
    assert any(e.startswith("0.final_loss") for e in errors([row], summary))


def test_typed_records_read_every_file_back_unchanged(written, v0):
    readers = {layout.STATUS: RunStatus, layout.METRICS: RunMetrics, layout.HISTORY: RunHistory}
    for path in [p for root in (written, v0) for p in records_under(root)]:
        data = json.loads(path.read_text())
        if path.name in readers:
            record = readers[path.name].from_json(data)
            assert record.to_json() == data, path
        elif path.name == layout.MANIFEST:
            assert SweepManifest.from_json(data).to_json() == data, path
        else:
            parameters = parameters_of(path)
            assert [TrialRow.from_json(row, parameters).to_json() for row in data] == data, path
    metrics = RunMetrics.from_json(json.loads((v0 / V0_RUN / layout.METRICS).read_text()))
    assert metrics.best["val_loss"].epoch == 3 and metrics.data.train == 400 and metrics.versions.nnrun == "0.1.0"
    with pytest.raises(ValueError, match=r"RunStatus: the record has no 'started'"):
        RunStatus.from_json({"status": "completed", "updated": "2026-01-01T00:00:00+00:00"})
    history = RunHistory.from_json(json.loads((v0 / V0_RUN / layout.HISTORY).read_text()))
    assert set(history.metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"} and len(history.epoch_time) == 3


# --- versions ---------------------------------------------------------------------------------------


def test_every_new_folder_records_its_format_first(written):
    statuses = sorted(written.rglob(layout.STATUS))
    assert len(statuses) == 2 + 1 + 4
    for path in [*statuses, *written.rglob(layout.MANIFEST)]:
        data = json.loads(path.read_text())
        assert list(data)[:2] == ["format_version", "nnrun_version"], path
        assert (data["format_version"], data["nnrun_version"]) == (FORMAT_VERSION, __version__), path
    records = nnrun.runs.scan(written)
    assert [r.format_version for r in records] == [FORMAT_VERSION] * 3
    sweep = next(r for r in records if r.kind == "sweep")
    assert {t.run.format_version for t in sweep.trials} == {FORMAT_VERSION} and sweep.nnrun_version == __version__


def test_load_and_scan_read_v0_folders_as_format_0(v0):
    record = nnrun.runs.load(v0 / V0_RUN)
    assert isinstance(record, nnrun.runs.RunRecord) and record.format_version == 0 and record.nnrun_version is None
    assert record.status == "completed" and record.history["loss"]
    sweep = nnrun.runs.load(v0 / V0_SWEEP)
    assert isinstance(sweep, nnrun.runs.SweepRecord) and sweep.format_version == 0 and len(sweep.trials) == 4
    assert {r.format_version for r in nnrun.runs.scan(v0)} == {0}


@pytest.mark.parametrize("command", ["runs", "plot", "predict", "resume"])
def test_a_newer_format_is_refused_naming_the_version_and_the_release(v0, command, tmp_path):
    run = v0 / V0_RUN
    future(run)
    before = (run / layout.STATUS).read_bytes()
    args = {
        "runs": ["runs", v0],
        "plot": ["plot", run, "--out", tmp_path / "plots"],
        "predict": ["predict", run, "mnist_sample"],
        "resume": ["train", "--resume", run, "--runs-dir", tmp_path / "runs"],
    }[command]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "format 99 by nnrun 9.0.0" in result.output and f"reads formats 0 to {FORMAT_VERSION}" in result.output
    assert (run / layout.STATUS).read_bytes() == before


@pytest.mark.parametrize("command", ["runs", "plot", "resume"])
def test_a_newer_sweep_is_refused(v0, command, tmp_path):
    sweep = v0 / V0_SWEEP
    future(sweep, 2, "0.9.0")
    args = {
        "runs": ["runs", sweep],
        "plot": ["plot", sweep, "--out", tmp_path / "figures"],
        "resume": ["sweep", "--resume", sweep, "-q"],
    }[command]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "format 2 by nnrun 0.9.0" in result.output


def test_a_format_version_no_nnrun_writes_is_refused(v0):
    status = v0 / V0_RUN / layout.STATUS
    status.write_text(json.dumps({**json.loads(status.read_text()), "format_version": "one"}))
    with pytest.raises(FormatVersionError, match=r"status\.json has format_version 'one'"):
        check_readable(v0 / V0_RUN)
    assert invoke("runs", v0).exit_code == 2


# --- migrate ----------------------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_migrate_dry_run_lists_and_writes_nothing(v0):
    before = snapshot(v0)
    result = invoke("migrate", v0)
    assert result.exit_code == 0, result.output
    assert f"Would migrate 12 folder(s) to format {FORMAT_VERSION}" in result.output and "--apply" in result.output
    assert f"would migrate {v0 / V0_SWEEP}: sweep folder, format 0 -> 1 (status.json, manifest.json)" in result.output
    assert snapshot(v0) == before


def test_migrate_apply_adds_the_version_keeps_everything_else_and_is_idempotent(v0, tmp_path):
    before = snapshot(v0)
    result = invoke("migrate", v0, "--apply")
    assert result.exit_code == 0, result.output
    assert "Migrated 12 folder(s)" in result.output
    after = snapshot(v0)
    changed = {name for name in before if before[name] != after[name]}
    assert changed and {Path(name).name for name in changed} == {layout.STATUS, layout.MANIFEST}
    assert set(after) == set(before)  # no file added or removed
    for name in changed:
        old, new = json.loads(before[name]), json.loads(after[name])
        assert (new["format_version"], new["nnrun_version"]) == (FORMAT_VERSION, "0.1.0")
        assert {k: v for k, v in new.items() if k not in ("format_version", "nnrun_version", "migrated")} == old
        assert errors(new, strict(SCHEMAS[RECORD_FILES[Path(name).name]])) == [], name
    status = json.loads((v0 / V0_RUN / layout.STATUS).read_text())
    assert status["migrated"]["from_version"] == 0 and status["migrated"]["nnrun_version"] == __version__
    again = invoke("migrate", v0, "--apply")
    assert again.exit_code == 0 and "Migrated 0 folder(s)" in again.output and "12 already current" in again.output
    assert snapshot(v0) == after
    assert {r.format_version for r in nnrun.runs.scan(v0)} == {FORMAT_VERSION}
    assert invoke("plot", v0 / V0_SWEEP, "--out", tmp_path / "figures").exit_code == 0
    assert read_sweep(v0 / V0_SWEEP).manifest.format_version == FORMAT_VERSION


def test_migrate_refuses_a_newer_folder_before_writing_anything(v0):
    future(v0 / V0_RUN)
    before = snapshot(v0)
    result = invoke("migrate", v0, "--apply")
    assert result.exit_code == 2 and "format 99 by nnrun 9.0.0" in result.output
    assert snapshot(v0) == before


def test_migrate_leaves_a_live_run_and_a_folder_without_status(v0):
    status = v0 / V0_RUN / layout.STATUS
    record = json.loads(status.read_text())
    status.write_text(json.dumps({**record, "status": "running", "pid": os.getpid(), "host": socket.gethostname()}))
    (v0 / "20261130-175119-small-mlp-diverged" / layout.STATUS).unlink()
    plan = plan_migration(v0)
    skipped = {path.name: why for path, why in plan.skipped}
    assert (
        "still running" in skipped[V0_RUN]
        and "no readable status.json" in skipped["20261130-175119-small-mlp-diverged"]
    )
    apply_migration(plan)
    assert "format_version" not in json.loads(status.read_text())


def test_migrate_of_a_single_folder_and_a_missing_one(v0, tmp_path):
    assert [c.folder for c in plan_migration(v0 / V0_RUN).changes] == [v0 / V0_RUN]
    result = invoke("migrate", tmp_path / "nowhere")
    assert result.exit_code == 2 and "does not exist" in result.output


# --- nnrun runs --json, runs/README.md ---------------------------------------------------------------


def test_runs_json_has_every_csv_column_with_json_types(v0):
    as_json = json.loads(invoke("runs", v0, "--json").stdout)
    as_csv = list(csv.DictReader(io.StringIO(invoke("runs", v0, "--csv").stdout)))
    assert len(as_json) == len(as_csv) == 5
    for row, text in zip(as_json, as_csv):
        assert list(row) == list(text)
        assert row["kind"] == text["kind"] and row["folder"] == text["folder"]
        assert (
            row["val_loss"] == pytest.approx(float(text["val_loss"])) if text["val_loss"] else row["val_loss"] is None
        )
    sweep = next(r for r in as_json if r["kind"] == "sweep")
    assert isinstance(sweep["trials"], int) and isinstance(sweep["train.optimizer.learning_rate"], float)
    both = invoke("runs", v0, "--json", "--csv")
    assert both.exit_code == 2 and "--csv and --json" in both.output


def test_runs_readme_is_kept_and_documents_every_field():
    ignore = (ROOT / ".gitignore").read_text().splitlines()
    assert "/runs/*" in ignore and "!/runs/README.md" in ignore and "/runs/" not in ignore
    readme = (ROOT / "runs" / "README.md").read_text(encoding="utf-8")
    for record in (RunStatus, RunMetrics, RunHistory, SweepManifest, TrialRow):
        for field in dataclasses.fields(record):
            if field.name not in ("params", "final", "best", "test") or record is RunMetrics:
                assert f"`{field.name}`" in readme, f"runs/README.md does not document {record.__name__}.{field.name}"
    for status in ("running", "completed", "diverged", "failed", "interrupted", "pruned", "killed", "unknown"):
        assert f"`{status}`" in readme
    assert "nnrun migrate" in readme and "nnrun runs --json" in readme and "nnrun.runs.scan" in readme
