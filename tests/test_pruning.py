"""Pruning: trials that fall behind stop after an epoch as ``pruned`` (history and plots kept), on every executor;
the study in study.db survives SIGKILL and a resumed sweep neither loses nor double-counts a trial."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nnrun.runs.manifest import TrialEntry
from nnrun.sweep import ProcessExecutor, SerialExecutor, TrialTask, open_folder, plan_sweep, run_sweep
from nnrun.sweep.events import EpochEnded
from nnrun.sweep.study import ABANDONED_ATTR, ID_ATTR, STATUS_ATTR, SweepStudy, load_study
from nnrun.sweep.worker import run_task

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

BASE = """\
name: pruned
seed: 2
data: {dataset: blobs, n_samples: 300}
model:
  hidden: {activation: relu}
  layers:
    - dense: 8
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.05}
  metrics: [accuracy]
  epochs: 5
  batch_size: 32
  validation_split: 0.25
sweep:
  parameters:
    train.optimizer.learning_rate: [0.05, 0.04, 0.0000001, 0.0000002]
  pruner: {name: median, n_startup_trials: 1, n_warmup_steps: 0}
  trial_figures: all  # every trial's own plots: a pruned trial's are drawn from the epochs it ran
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "pruned.yaml"
    path.write_text(BASE)
    return path


def nnrun_command() -> list[str]:
    import shutil

    installed = shutil.which("nnrun", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-m", "nnrun"]


def test_a_trial_told_to_stop_after_an_epoch_is_pruned_with_its_history(config):
    plan = plan_sweep(config)
    task = TrialTask("0001", plan.experiment("0001").config)
    events: list = []
    asked: list[int] = []

    def prune(epoch: int) -> bool:
        asked.append(epoch)
        return epoch == 2

    result = run_task(task, events.append, prune=prune)
    assert result.status == "pruned"
    assert result.stop_reason.startswith("pruned after epoch 2 of 5")
    assert asked == [1, 2] and len(result.history["loss"]) == 2 and result.metrics["epochs_run"] == 2
    assert [e.epoch for e in events if isinstance(e, EpochEnded)] == [1, 2]  # each epoch's event before the question
    assert result.plots  # its plots are drawn like any trial's
    never = run_task(task, events.append, prune=lambda epoch: False)
    assert never.status == "completed" and len(never.history["loss"]) == 5


def check_pruned_sweep(outcome, epochs: int = 5) -> None:
    rows = {r["id"]: r for r in outcome.rows}
    assert rows["0001"]["status"] == "completed" and rows["0002"]["status"] == "completed"
    for hopeless in ("0003", "0004"):  # a learning rate of 1e-7 is behind the median after the first epoch
        row = rows[hopeless]
        assert row["status"] == "pruned" and row["epochs_run"] < epochs
        history = json.loads((outcome.folder / row["folder"] / "history.json").read_text())
        assert len(history["loss"]) == row["epochs_run"]
        assert list((outcome.folder / row["folder"]).glob("*.png"))  # its plots are kept
    with open(outcome.folder / "summary.csv", newline="") as f:
        summary = list(csv.DictReader(f))
    assert [r["status"] for r in summary] == ["completed", "completed", "pruned", "pruned"]
    assert [int(r["epochs_run"]) for r in summary] == [rows[r["id"]]["epochs_run"] for r in summary]
    study = load_study(outcome.folder / "study.db")
    states = {t.user_attrs[ID_ATTR]: t.state for t in study.trials}
    assert states == {
        "0001": TrialState.COMPLETE,
        "0002": TrialState.COMPLETE,
        "0003": TrialState.PRUNED,
        "0004": TrialState.PRUNED,
    }
    figures = {p.name for p in (outcome.folder / "figures").iterdir()}
    assert "trials_val_accuracy.png" in figures  # every trial's curve, the pruned ones greyed


def test_grid_with_median_pruning_in_this_process(config, tmp_path):
    plan = plan_sweep(config)
    folder, _ = open_folder(plan, tmp_path / "runs")
    with SerialExecutor() as executor:
        outcome = run_sweep(plan, folder, executor)
    check_pruned_sweep(outcome)
    again, resumed = open_folder(plan_sweep(config), tmp_path / "runs")  # pruned trials are kept on resume
    assert resumed and again.pending() == []
    again.unlock()


@pytest.mark.slow
def test_grid_with_median_pruning_on_the_process_pool(config, tmp_path):
    plan = plan_sweep(config)
    folder, _ = open_folder(plan, tmp_path / "runs")
    with ProcessExecutor(workers=2) as executor:
        outcome = run_sweep(plan, folder, executor)
    # two trials run at once: the hopeless ones start when the first two are done, and lose to them
    check_pruned_sweep(outcome)


def test_successive_halving_over_a_grid(config, tmp_path):
    text = BASE.replace("{name: median, n_startup_trials: 1, n_warmup_steps: 0}", "{name: successive_halving, "
                        "min_resource: 1, reduction_factor: 2}")
    config.write_text(text)
    plan = plan_sweep(config)
    folder, _ = open_folder(plan, tmp_path / "runs")
    with SerialExecutor() as executor:
        outcome = run_sweep(plan, folder, executor)
    statuses = [r["status"] for r in outcome.rows]
    assert statuses[0] == "completed" and statuses.count("pruned") >= 1
    assert sum(r["epochs_run"] for r in outcome.rows) < 4 * 5


def test_a_pruner_parameter_optuna_refuses_is_a_config_error(config):
    from nnrun.errors import ConfigError

    config.write_text(BASE.replace("n_startup_trials: 1", "n_startup_trials: -1"))
    with pytest.raises(ConfigError, match=r"sweep\.pruner: the median pruner refuses its parameters"):
        plan_sweep(config)


# -- the study after a crash ---------------------------------------------------------------------------


def test_reconcile_tells_recorded_trials_and_abandons_unrecorded_ones(config, tmp_path):
    plan = plan_sweep(config)
    path = tmp_path / "study.db"
    study = SweepStudy.open(path, plan.spec, plan.metric, plan.mode)
    for trial_id in ("0001", "0002", "0003"):
        study.start(trial_id, {"train.optimizer.learning_rate": 0.05})
    study.report(EpochEnded("0001", 1, 5, {"val_accuracy": 0.9}))
    study.finish("0003", "completed", 0.8)
    # SIGKILL here: 0001 was recorded in the manifest but not told; 0002 was running
    entries = [
        TrialEntry("0001", {"train.optimizer.learning_rate": 0.05}, status="completed", folder="trials/0001"),
        TrialEntry("0002", {"train.optimizer.learning_rate": 0.05}, status="pending"),
        TrialEntry("0003", {"train.optimizer.learning_rate": 0.05}, status="completed", folder="trials/0003"),
        TrialEntry("0004", {"train.optimizer.learning_rate": 0.04}, status="pruned", folder="trials/0004"),
    ]
    values = {"0001": 0.9, "0003": 0.8, "0004": None}
    reopened = SweepStudy.open(path, plan.spec, plan.metric, plan.mode)
    reopened.reconcile(entries, lambda e: values.get(e.id))
    trials = load_study(path).trials
    by_id = {t.user_attrs[ID_ATTR]: t for t in trials}
    assert by_id["0001"].state == TrialState.COMPLETE and by_id["0001"].value == 0.9
    assert by_id["0002"].state == TrialState.FAIL and by_id["0002"].user_attrs[ABANDONED_ATTR] is True
    assert by_id["0003"].state == TrialState.COMPLETE and len([t for t in trials if t.user_attrs[ID_ATTR] == "0003"]) == 1
    assert by_id["0004"].state == TrialState.PRUNED and by_id["0004"].user_attrs[STATUS_ATTR] == "pruned"  # was lost
    assert set(reopened.records()) == {"0001", "0003", "0004"}  # 0002's abandoned attempt is not its record


TPE = """\
name: tpe-kill
seed: 4
data: {dataset: blobs, n_samples: 1200}
model:
  hidden: {activation: relu}
  layers:
    - dense: 16
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: sgd, learning_rate: 0.05}
  metrics: [accuracy]
  epochs: 30
  batch_size: 16
  validation_split: 0.25
sweep:
  method: tpe
  trials: 8
  parameters:
    model.hidden.activation: [relu, tanh, sigmoid]
    train.optimizer.learning_rate: {low: 0.0001, high: 0.5, log: true}
  pruner: {name: median, n_startup_trials: 3, n_warmup_steps: 2}
"""


def done_trials(runs: Path) -> int:
    try:
        (sweep,) = [p for p in runs.iterdir() if p.name.startswith("sweep-")]
        manifest = json.loads((sweep / "manifest.json").read_text())
    except (ValueError, OSError):
        return 0
    return sum(t["status"] in ("completed", "pruned", "diverged") for t in manifest["trials"])


def wait_until(predicate, timeout: float = 120.0) -> bool:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def check_study_matches_folder(sweep: Path, budget: int) -> None:
    """Every recorded trial is the latest study trial of its id, in the same state; none is counted twice."""
    manifest = json.loads((sweep / "manifest.json").read_text())
    with open(sweep / "summary.csv", newline="") as f:
        summary = {r["id"]: r for r in csv.DictReader(f)}
    entries = {t["id"]: t for t in manifest["trials"]}
    assert sorted(entries) == [f"{i:04d}" for i in range(1, budget + 1)] == sorted(summary)
    assert sorted(p.name[:4] for p in (sweep / "trials").iterdir()) == sorted(entries)
    study = load_study(sweep / "study.db")
    latest: dict[str, object] = {}
    for trial in study.trials:
        if trial.user_attrs.get(ABANDONED_ATTR):  # what the kill cut short, perhaps between asking for a point and
            assert trial.state == TrialState.FAIL  # naming it: failed, never counted, asked again on resume
            continue
        assert ID_ATTR in trial.user_attrs
        latest[trial.user_attrs[ID_ATTR]] = trial
    assert sorted(latest) == sorted(entries)
    expected = {"completed": TrialState.COMPLETE, "pruned": TrialState.PRUNED}
    counted = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(counted) == sum(e["status"] in expected for e in entries.values())  # nothing counted twice
    for trial_id, entry in entries.items():
        trial = latest[trial_id]
        assert trial.state == expected.get(entry["status"], TrialState.FAIL), trial_id
        assert summary[trial_id]["status"] == entry["status"]
        config = yaml.safe_load((sweep / entry["folder"] / "config.yaml").read_text())
        assert config["train"]["optimizer"]["learning_rate"] == entry["params"]["train.optimizer.learning_rate"]
        assert trial.params["train.optimizer.learning_rate"] == entry["params"]["train.optimizer.learning_rate"]
        if entry["status"] == "completed":
            assert trial.value == pytest.approx(float(summary[trial_id]["final_val_accuracy"]))


def kill_and_resume(tmp_path: Path, executor: list[str], kill_after: int) -> Path:
    config = tmp_path / "tpe.yaml"
    config.write_text(TPE)
    runs = tmp_path / "runs"
    cmd = [*nnrun_command(), "sweep", str(config), "--runs-dir", str(runs), "-q", *executor]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        reached = wait_until(lambda: done_trials(runs) >= kill_after, timeout=240)
        time.sleep(0.1)  # inside the next trials, or their recording
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, at once
        proc.wait()
    assert reached, f"the sweep did not record {kill_after} trials"
    assert done_trials(runs) < 8
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr
    (sweep,) = [p for p in runs.iterdir() if p.name.startswith("sweep-")]
    return sweep


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [2, 4])
def test_sigkill_then_resume_a_tpe_sweep_on_the_process_pool(tmp_path, kill_after):
    sweep = kill_and_resume(tmp_path, ["--executor", "process", "-w", "2"], kill_after)
    check_study_matches_folder(sweep, 8)


@pytest.mark.slow
def test_sigkill_then_resume_a_tpe_sweep_on_ray(tmp_path):
    pytest.importorskip("ray")
    sweep = kill_and_resume(tmp_path, ["--executor", "ray"], 3)
    check_study_matches_folder(sweep, 8)
