"""nnrun sweep: expansion, validation, executors, failures, resuming after SIGKILL, concurrent sweeps."""

from __future__ import annotations

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
from nnrun.config.sweep import SweepConfig
from nnrun.errors import ConfigError
from nnrun.sweep import ProcessExecutor, SerialExecutor, TrialTask, plan_sweep
from nnrun.sweep.spec import expand, parse_param

ROOT = Path(__file__).parent.parent
runner = CliRunner()

BASE = """\
name: small-sweep
seed: 5
data: {dataset: blobs, n_samples: 240}
model:
  hidden: {activation: relu}
  layers:
    - dense: 8
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.02}
  epochs: 3
  batch_size: 32
  validation_split: 0.25
sweep:
  parameters:
    model.hidden.activation: [relu, tanh]
    model.hidden.kernel_initializer: [glorot_uniform, he_normal]
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(BASE)
    return path


def sweep_dirs(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.name.startswith("sweep-"))


def nnrun_command() -> list[str]:
    import shutil

    installed = shutil.which("nnrun", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-m", "nnrun"]


# -- specs ---------------------------------------------------------------------------------------------


def test_grid_is_the_cartesian_product_times_repeats():
    spec = SweepConfig(parameters={"a": [1, 2, 3], "b": ["x", "y"]}, repeats=2)
    trials = expand(spec, base_seed=10)
    assert len(trials) == 12
    assert [t.params for t in trials[:4]] == [{"a": 1, "b": "x"}] * 2 + [{"a": 1, "b": "y"}] * 2
    assert [t.seed for t in trials[:2]] == [10, 11] and [t.repeat for t in trials[:2]] == [0, 1]
    assert [t.id for t in trials[:3]] == ["0001", "0002", "0003"]
    assert trials[0].overrides == ["a=1", 'b="x"', "seed=10"]


def test_random_search_draws_from_each_distribution_reproducibly():
    spec = SweepConfig(
        method="random",
        trials=50,
        seed=3,
        parameters={
            "lr": {"distribution": "log_uniform", "low": 1e-4, "high": 1e-1},
            "units": {"distribution": "int_uniform", "low": 16, "high": 64},
            "rate": {"distribution": "uniform", "low": 0.0, "high": 0.5},
            "act": ["relu", "tanh"],
        },
    )
    trials = expand(spec, base_seed=0)
    assert len(trials) == 50
    lrs = np.array([t.params["lr"] for t in trials])
    assert (lrs >= 1e-4).all() and (lrs <= 1e-1).all() and (lrs < 1e-3).any() and (lrs > 1e-2).any()
    units = [t.params["units"] for t in trials]
    assert all(isinstance(u, int) and 16 <= u <= 64 for u in units)
    assert {t.params["act"] for t in trials} == {"relu", "tanh"}
    assert [t.params for t in expand(spec, 0)] == [t.params for t in trials]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"method": "random", "parameters": {"a": [1]}}, "method: random needs trials: N"),
        ({"parameters": {"a": {"distribution": "uniform", "low": 0, "high": 1}}}, "a grid cannot enumerate"),
        ({"parameters": {"a": []}}, "parameter 'a' has no values"),
        (
            {
                "method": "random",
                "trials": 2,
                "parameters": {"a": {"distribution": "log_uniform", "low": 0, "high": 1}},
            },
            "log_uniform needs low > 0",
        ),
    ],
)
def test_sweep_spec_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        SweepConfig.model_validate(spec)


def test_param_option_parses_yaml_values():
    assert parse_param("train.batch_size=32,128") == ("train.batch_size", [32, 128])
    assert parse_param("model.hidden.activation=relu,tanh") == ("model.hidden.activation", ["relu", "tanh"])
    with pytest.raises(ConfigError, match="--param expects KEY=V1,V2"):
        parse_param("train.batch_size")


def test_every_swept_key_and_value_is_validated_before_anything_runs(config):
    config.write_text(
        BASE.replace("[relu, tanh]", "[relu, tanhh]").replace(
            "model.hidden.kernel_initializer", "model.hidden.kernel_initialiser"
        )
    )
    with pytest.raises(ConfigError) as info:
        plan_sweep(config, params=["train.batch_size=0,16"])
    problems = {p.path: p for p in info.value.problems}
    assert problems["sweep.parameters.model.hidden.activation"].line == 17
    assert "unknown activation 'tanhh'" in problems["sweep.parameters.model.hidden.activation"].message
    assert "Did you mean 'tanh'?" in problems["sweep.parameters.model.hidden.activation"].message
    assert '(value "tanhh")' in problems["sweep.parameters.model.hidden.activation"].message
    assert "Did you mean 'kernel_initializer'?" in problems["sweep.parameters.model.hidden.kernel_initialiser"].message
    assert problems["sweep.parameters.train.batch_size"].message == (
        "must be greater than 0. Received: 0 (value 0) (from --param)"
    )


def test_dry_run_lists_the_trials_and_writes_nothing(config, tmp_path):
    result = runner.invoke(app, ["sweep", str(config), "--dry-run", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    assert "4 trials, ranked by val_accuracy (max)" in result.output
    assert "0004  activation=tanh, kernel_initializer=he_normal  seed 5" in result.output
    assert not (tmp_path / "runs").exists()


# -- running -------------------------------------------------------------------------------------------


def test_serial_and_process_executors_give_identical_results(config):
    plan = plan_sweep(config)
    tasks = [TrialTask(t.id, plan.experiment(t.id).config) for t in plan.trials]
    events = []
    serial = dict(SerialExecutor().run(tasks, events.append, lambda: False))
    pool = ProcessExecutor(workers=2)
    try:
        parallel = dict(pool.run(tasks, lambda *e: None, lambda: False))
    finally:
        pool.close()
    assert set(serial) == set(parallel) == {"0001", "0002", "0003", "0004"}
    for trial_id in serial:
        assert serial[trial_id].status == parallel[trial_id].status == "completed"
        assert serial[trial_id].history == parallel[trial_id].history
        for key, value in serial[trial_id].weights.items():
            np.testing.assert_array_equal(value, parallel[trial_id].weights[key])
    assert {type(e).__name__ for e in events} >= {"TrialStarted", "EpochEnded"}


def test_sweep_writes_trial_folders_manifest_summary_and_figures(config, tmp_path):
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "-w", "2"])
    assert result.exit_code == 0, result.output
    (sweep,) = sweep_dirs(runs)
    assert sweep.name.startswith("sweep-") and sweep.name.endswith("-small-sweep")
    manifest = json.loads((sweep / "manifest.json").read_text())
    assert [t["status"] for t in manifest["trials"]] == ["completed"] * 4
    summary = json.loads((sweep / "summary.json").read_text())
    assert [row["id"] for row in summary] == ["0001", "0002", "0003", "0004"]
    assert {row["model.hidden.activation"] for row in summary} == {"relu", "tanh"}
    assert all(isinstance(row["final_val_accuracy"], float) for row in summary)
    csv_lines = (sweep / "summary.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith("id,model.hidden.activation,model.hidden.kernel_initializer")
    for entry in manifest["trials"]:
        trial = sweep / entry["folder"]
        assert json.loads((trial / "status.json").read_text())["status"] == "completed"
        assert (trial / "history.json").exists() and (trial / "weights.npz").exists()
        config_saved = (trial / "config.yaml").read_text()
        assert f"activation: {entry['params']['model.hidden.activation']}" in config_saved
        assert "sweep:" not in config_saved  # each trial's config repeats that trial with nnrun train
    figures = sorted(p.name for p in (sweep / "figures").iterdir())
    assert any(f.startswith("heatmap_") for f in figures) and any(f.startswith("curves_") for f in figures)
    assert "Ranked by val_accuracy (higher is better)" in result.output
    assert json.loads((sweep / "status.json").read_text())["status"] == "completed"
    assert (sweep / "sweep.yaml").exists() and "Summary: " in result.output


def test_rerunning_the_same_command_skips_finished_trials(config, tmp_path):
    runs = tmp_path / "runs"
    args = ["sweep", str(config), "--runs-dir", str(runs), "-w", "1", "-q"]
    assert runner.invoke(app, args).exit_code == 0
    (sweep,) = sweep_dirs(runs)
    before = {p.name: (p / "history.json").stat().st_mtime_ns for p in (sweep / "trials").iterdir()}
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert sweep_dirs(runs) == [sweep]
    after = {p.name: (p / "history.json").stat().st_mtime_ns for p in (sweep / "trials").iterdir()}
    assert after == before
    assert runner.invoke(app, [*args, "--new"]).exit_code == 0
    assert len(sweep_dirs(runs)) == 2


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(config, tmp_path, monkeypatch):
    import nnrun.trial

    original = nnrun.trial.build_model

    def build(config_, input_shape):
        if config_.model.hidden.activation == "tanh" and config_.model.hidden.kernel_initializer == "he_normal":
            raise RuntimeError("simulated failure")
        return original(config_, input_shape)

    monkeypatch.setattr(nnrun.trial, "build_model", build)
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "-w", "1"])
    assert result.exit_code == 1
    assert "some trials failed" in result.output
    (sweep,) = sweep_dirs(runs)
    statuses = {
        t["id"]: (t["status"], t["reason"]) for t in json.loads((sweep / "manifest.json").read_text())["trials"]
    }
    assert statuses["0004"] == ("failed", "simulated failure")
    assert [s for s, _ in statuses.values()].count("completed") == 3
    trial = sweep / "trials" / next(p for p in os.listdir(sweep / "trials") if p.startswith("0004"))
    assert "RuntimeError: simulated failure" in (trial / "error.txt").read_text()
    # re-running retries the failed trial only
    monkeypatch.setattr(nnrun.trial, "build_model", original)
    assert runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "-w", "1"]).exit_code == 0
    assert all(t["status"] == "completed" for t in json.loads((sweep / "manifest.json").read_text())["trials"])


def test_resume_requires_the_same_sweep(config, tmp_path):
    runs = tmp_path / "runs"
    assert runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "-w", "1", "-q"]).exit_code == 0
    (sweep,) = sweep_dirs(runs)
    result = runner.invoke(app, ["sweep", "--resume", str(sweep)])
    assert result.exit_code == 0, result.output
    changed = runner.invoke(app, ["sweep", str(config), "--resume", str(sweep), "--set", "train.epochs=1"])
    assert changed.exit_code == 2 and "holds a different sweep" in changed.output
    missing = runner.invoke(app, ["sweep", "--resume", str(tmp_path / "runs")])
    assert missing.exit_code == 2 and "not a sweep folder: cannot read its sweep.yaml" in missing.output
    not_a_record = runner.invoke(app, ["sweep", "--resume", str(tmp_path)])  # holds the config named sweep.yaml
    assert not_a_record.exit_code == 2 and "is not a sweep's record" in not_a_record.output


def long_config(tmp_path: Path, trials: int = 6, epochs: int = 30) -> Path:
    path = tmp_path / "long.yaml"
    values = ", ".join(str(0.01 + i / 1000) for i in range(trials))
    path.write_text(
        BASE.replace("epochs: 3", f"epochs: {epochs}").replace("n_samples: 240", "n_samples: 1200").split("sweep:")[0]
        + f"sweep:\n  parameters:\n    train.optimizer.learning_rate: [{values}]\n"
    )
    return path


def wait_for(predicate, timeout=60.0):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def completed(runs: Path) -> int:
    try:
        (sweep,) = sweep_dirs(runs)
        manifest = json.loads((sweep / "manifest.json").read_text())
    except (ValueError, OSError):
        return 0
    return sum(t["status"] == "completed" for t in manifest["trials"])


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1, 3])
def test_sigkill_then_resume_gives_every_trial_exactly_once(tmp_path, kill_after):
    config = long_config(tmp_path, epochs=200)  # about half a second per trial: the kill lands mid-sweep
    runs = tmp_path / "runs"
    cmd = [*nnrun_command(), "sweep", str(config), "--runs-dir", str(runs), "-w", "1", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: completed(runs) >= kill_after)
    time.sleep(0.05 * kill_after)  # land somewhere inside the next trial or its writing
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert completed(runs) < 6
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    (sweep,) = sweep_dirs(runs)
    summary = json.loads((sweep / "summary.json").read_text())
    assert [row["id"] for row in summary] == [f"{i:04d}" for i in range(1, 7)]
    assert all(row["status"] == "completed" for row in summary)
    assert len(list((sweep / "trials").iterdir())) == 6
    assert not list(sweep.rglob("*.tmp"))
    for row in summary:  # every trial folder is complete and consistent with the summary
        history = json.loads((sweep / row["folder"] / "history.json").read_text())
        assert history["val_accuracy"][-1] == row["final_val_accuracy"]


@pytest.mark.slow
def test_ctrl_c_keeps_finished_trials_and_resume_finishes(tmp_path):
    config = long_config(tmp_path, trials=4, epochs=60)
    runs = tmp_path / "runs"
    cmd = [*nnrun_command(), "sweep", str(config), "--runs-dir", str(runs), "-w", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: completed(runs) >= 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "resume with: nnrun sweep --resume" in err
    (sweep,) = sweep_dirs(runs)
    assert json.loads((sweep / "status.json").read_text())["status"] == "interrupted"
    done = completed(runs)
    assert 1 <= done < 4
    resumed = subprocess.run(
        [*nnrun_command(), "sweep", "--resume", str(sweep), "-w", "1", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert completed(runs) == 4


@pytest.mark.slow
def test_two_sweeps_started_at_once_do_not_collide(tmp_path):
    config = long_config(tmp_path, trials=3, epochs=5)
    runs = tmp_path / "runs"
    cmd = [*nnrun_command(), "sweep", str(config), "--runs-dir", str(runs), "-w", "1", "-q"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    folders = sweep_dirs(runs)
    assert len(folders) == 2
    for folder in folders:
        rows = json.loads((folder / "summary.json").read_text())
        assert [r["status"] for r in rows] == ["completed"] * 3


def test_repeats_give_mean_and_std_and_bars(config, tmp_path):
    config.write_text(BASE.split("sweep:")[0] + "sweep:\n  parameters:\n    model.hidden.activation: [relu, tanh]\n"
                      "  repeats: 2\n")
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "-w", "1"])
    assert result.exit_code == 0, result.output
    (sweep,) = sweep_dirs(runs)
    rows = json.loads((sweep / "summary.json").read_text())
    assert [(r["model.hidden.activation"], r["repeat"], r["seed"]) for r in rows] == [
        ("relu", 0, 5), ("relu", 1, 6), ("tanh", 0, 5), ("tanh", 1, 6)]
    assert rows[0]["final_val_accuracy"] != rows[1]["final_val_accuracy"] or rows[0]["final_loss"] != rows[1]["final_loss"]
    assert "± std" in result.output
    assert any(p.name.startswith("bars_") for p in (sweep / "figures").iterdir())
