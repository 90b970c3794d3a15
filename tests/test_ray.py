"""nnrun sweep --executor ray, on a real local Ray instance (num_cpus=2) started once for this module."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.sweep import ProcessExecutor, TrialTask, open_folder, plan_sweep, run_sweep

ray = pytest.importorskip("ray")

ROOT = Path(__file__).parent.parent
EXERCISE = ROOT / "configs" / "sweep_activation_initializer.yaml"
QUICK = ["train.epochs=2", "data.limit=400"]
runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_gives_the_same_metrics_as_the_process_pool():
    from nnrun.sweep.ray_executor import RayExecutor

    plan = plan_sweep(EXERCISE, overrides=QUICK)
    tasks = [TrialTask(t.id, plan.experiment(t.id).config) for t in plan.trials]
    ray_executor = RayExecutor()
    ray_executor.start()
    assert ray_executor.workers == 2
    events = []
    on_ray = dict(ray_executor.run(tasks, lambda *e: events.append(e), lambda: False))
    pool = ProcessExecutor(workers=2)
    try:
        on_pool = dict(pool.run(tasks, lambda *e: None, lambda: False))
    finally:
        pool.close()
    assert len(on_ray) == len(on_pool) == 24
    for trial_id, result in on_ray.items():
        assert result.status == on_pool[trial_id].status == "completed"
        assert result.history == on_pool[trial_id].history
        for key, value in result.weights.items():
            np.testing.assert_array_equal(value, on_pool[trial_id].weights[key])
        assert set(result.plots) == {"loss.png", "accuracy.png"}
    assert {kind for _, kind, _ in events} >= {"start", "epoch"}


def test_the_cli_runs_on_ray_and_writes_the_usual_folder(tmp_path):
    result = runner.invoke(
        app,
        [
            "sweep",
            str(EXERCISE),
            "--executor",
            "ray",
            "--runs-dir",
            str(tmp_path),
            *[a for s in QUICK for a in ("--set", s)],
            "--param",
            "model.hidden.kernel_initializer=zeros,he_normal",
        ],
    )
    assert result.exit_code == 0, result.output
    (sweep,) = list(tmp_path.iterdir())
    rows = json.loads((sweep / "summary.json").read_text())
    assert len(rows) == 6 and all(r["status"] == "completed" for r in rows)
    assert (sweep / "figures").is_dir() and "Ranked by val_accuracy" in result.output


class KillOnFirstStart:
    """An observer that SIGKILLs the worker process that starts ``trial_id``, the first time only."""

    def __init__(self, trial_id: str):
        self.trial_id, self.starts = trial_id, 0

    def on_sweep_begin(self, *args): ...

    def on_event(self, trial_id, kind, info):
        if trial_id == self.trial_id and kind == "start":
            self.starts += 1
            if self.starts == 1:
                os.kill(info["pid"], signal.SIGKILL)

    def on_trial_end(self, *args): ...


@pytest.mark.parametrize(("max_retries", "expected"), [(2, "completed"), (0, "failed")])
def test_a_killed_worker_is_retried_or_recorded_as_failed(tmp_path, max_retries, expected):
    from nnrun.sweep.ray_executor import RayExecutor

    plan = plan_sweep(EXERCISE, overrides=QUICK, params=["model.hidden.kernel_initializer=zeros,he_normal"])
    executor = RayExecutor()
    executor.max_retries = max_retries
    folder, _ = open_folder(plan, tmp_path)
    killer = KillOnFirstStart("0002")
    outcome = run_sweep(plan, folder, executor, killer)
    statuses = {r["id"]: r["status"] for r in outcome.rows}
    assert statuses["0002"] == expected
    assert [s for i, s in statuses.items() if i != "0002"] == ["completed"] * 5
    if expected == "completed":
        assert killer.starts == 2  # it ran again
    else:
        assert "its Ray worker died" in next(r["reason"] for r in outcome.rows if r["id"] == "0002")


def test_missing_ray_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    result = runner.invoke(app, ["sweep", str(EXERCISE), "--executor", "ray", "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert (
        "--executor ray needs Ray, which is not installed. Install it with: pip install 'nnrun[ray]'" in result.output
    )


def test_resume_after_the_driver_is_killed(tmp_path):
    runs = tmp_path / "runs"
    config = tmp_path / "sweep.yaml"
    config.write_text(EXERCISE.read_text().replace("epochs: 10", "epochs: 4"))
    cmd = [
        sys.executable,
        "-m",
        "nnrun",
        "sweep",
        str(config),
        "--executor",
        "ray",
        "--runs-dir",
        str(runs),
        "--set",
        "data.limit=800",
        "--param",
        "model.hidden.kernel_initializer=zeros,he_normal,glorot_uniform",
        "-q",
    ]
    env = {**os.environ, "RAY_ADDRESS": ""}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and done < 2:
        manifests = list(runs.glob("sweep-*/manifest.json"))
        if manifests:
            with contextlib.suppress(ValueError):
                done = sum(t["status"] == "completed" for t in json.loads(manifests[0].read_text())["trials"])
        time.sleep(0.1)
    assert done >= 2
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the local Ray instance it started
    proc.wait()
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr
    (sweep,) = list(runs.iterdir())
    rows = json.loads((sweep / "summary.json").read_text())
    assert [r["id"] for r in rows] == [f"{i:04d}" for i in range(1, 10)]
    assert all(r["status"] == "completed" for r in rows)
    assert not list(sweep.rglob("*.tmp"))
