"""`nnrun sweep --tensorboard --mlflow URI`: the parent logs the finished sweep; every trial is there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli import app

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
pytest.importorskip("tensorboardX", reason="the tensorboard extra is not installed")

V0 = Path(__file__).parent / "fixtures" / "v0"


def test_a_sweep_is_logged_to_both(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow's sqlite store keeps artifacts under ./mlruns
    config = tmp_path / "sweep.yaml"
    config.write_text((V0 / "moons_sweep.yaml").read_text())
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    args = ["sweep", str(config), "--runs-dir", str(tmp_path / "runs"), "--tensorboard", "--mlflow", uri, "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "INFO" not in result.output
    (folder,) = (tmp_path / "runs").iterdir()
    record = json.loads((folder / "tracking.json").read_text())
    assert record["tensorboard"]["status"] == record["mlflow"]["status"] == "logged"
    assert sorted(record["mlflow"]["trials"]) == ["0001", "0002", "0003", "0004"]
    assert len(list((folder / "tensorboard").rglob("events.out.tfevents.*"))) >= 4
    client = mlflow.MlflowClient(tracking_uri=uri)
    parent = client.get_run(record["mlflow"]["run_id"])
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    assert sorted(r.info.run_id for r in children) == sorted(record["mlflow"]["trials"].values())
    for child in children:
        assert {"val_accuracy", "loss"} <= set(child.data.metrics)
