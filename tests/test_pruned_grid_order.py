"""A grid or random sweep with a pruner runs its trials in an order shuffled by ``sweep.seed``: a pruner compares
each trial only with those that reached the same epoch before it, so in grid order (one activation after another,
learning rates rising) many weak trials went on. Ids, the manifest and the run folders keep the listed order; a
resumed sweep runs its pending trials in the same order; without a pruner nothing changes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nnrun.config.sweep import SweepConfig
from nnrun.sweep import ProcessExecutor, SerialExecutor, open_folder, plan_sweep, run_sweep
from nnrun.sweep.events import TrialFinished, TrialStarted
from nnrun.sweep.plan import plan_from_sweep_folder
from nnrun.sweep.spec import expand, run_order

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

from nnrun.sweep.study import ABANDONED_ATTR, ID_ATTR, load_study  # noqa: E402

PARAMETERS = {"a": [1, 2, 3, 4], "b": ["x", "y", "z"]}  # 12 points

SWEEP = """\
name: order
seed: 3
data: {dataset: blobs, n_samples: 240}
model:
  hidden: {activation: relu}
  layers:
    - dense: 6
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.05}
  metrics: [accuracy]
  epochs: 3
  batch_size: 32
  validation_split: 0.25
sweep:
  seed: 7
  parameters:
    model.hidden.activation: [relu, tanh]
    train.optimizer.learning_rate: [0.05, 0.02, 0.0000001, 0.0000003]
  pruner: {name: successive_halving, min_resource: 1, reduction_factor: 2}
  trial_figures: none
"""


def spec(**kwargs) -> SweepConfig:
    return SweepConfig(parameters=PARAMETERS, **kwargs)


SH = {"name": "successive_halving", "min_resource": 1, "reduction_factor": 3}


# -- the order, from the plan --------------------------------------------------------------------------


def test_without_a_pruner_trials_run_as_listed():
    for method, extra in (("grid", {}), ("random", {"trials": 10})):
        s = spec(method=method, **extra)
        trials = expand(s, base_seed=0)
        assert run_order(s, trials) == [t.id for t in trials] == [f"{i:04d}" for i in range(1, len(trials) + 1)]


@pytest.mark.parametrize(
    "extra", [{"method": "grid"}, {"method": "grid", "repeats": 2}, {"method": "random", "trials": 9}]
)
def test_with_a_pruner_every_trial_runs_once_in_a_shuffled_order(extra):
    s = spec(pruner=SH, **extra)
    trials = expand(s, base_seed=0)
    order = run_order(s, trials)
    assert sorted(order) == [t.id for t in trials]  # every trial exactly once
    assert order != [t.id for t in trials]
    assert run_order(s, expand(s, base_seed=0)) == order  # the same every time it is planned
    other = spec(pruner=SH, seed=1, **extra)
    assert run_order(other, expand(other, base_seed=0)) != order  # sweep.seed decides it


def test_a_pruner_changes_neither_the_trials_nor_their_ids():
    plain, pruned = spec(), spec(pruner=SH)
    assert expand(plain, base_seed=4) == expand(pruned, base_seed=4)


def test_a_search_has_no_run_order_of_its_own():
    s = SweepConfig(method="tpe", trials=5, parameters=PARAMETERS, pruner=SH)
    assert run_order(s, expand(s, base_seed=0)) == []


def test_the_plan_and_the_plan_read_back_from_the_folder_share_the_order(tmp_path):
    path = tmp_path / "order.yaml"
    path.write_text(SWEEP)
    plan = plan_sweep(path)
    assert sorted(plan.run_order) == [t.id for t in plan.trials] and plan.run_order != [t.id for t in plan.trials]
    folder, _ = open_folder(plan, tmp_path / "runs")
    folder.unlock()
    assert plan_from_sweep_folder(folder.path).run_order == plan.run_order  # what --resume plans
    unpruned = tmp_path / "plain.yaml"
    unpruned.write_text(
        SWEEP.replace("  pruner: {name: successive_halving, min_resource: 1, reduction_factor: 2}\n", "")
    )
    assert plan_sweep(unpruned).run_order == [t.id for t in plan.trials]


# -- a real sweep, stopped and resumed -----------------------------------------------------------------


class Recorder:
    """Records the order trials start in; asks the sweep to stop once ``stop_after`` trials are recorded."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.started: list[str] = []
        self.finished = 0
        self.stop_after = stop_after

    def on_sweep_begin(self, folder: Path, total: int, pending: int, workers: int) -> None: ...

    def on_event(self, event) -> None:
        if isinstance(event, TrialStarted):
            self.started.append(event.trial_id)
        elif isinstance(event, TrialFinished):
            self.finished += 1

    def should_stop(self) -> bool:
        return self.stop_after is not None and self.finished >= self.stop_after


def check_consistent(sweep: Path, n: int, epochs: int) -> list[dict]:
    """Every grid point ran once; summary, manifest, run folders and study agree; some trials were pruned."""
    manifest = json.loads((sweep / "manifest.json").read_text())
    entries = {t["id"]: t for t in manifest["trials"]}
    ids = [f"{i:04d}" for i in range(1, n + 1)]
    assert [t["id"] for t in manifest["trials"]] == ids  # the listed order, as without a pruner
    with open(sweep / "summary.csv", newline="") as f:
        summary = list(csv.DictReader(f))
    assert [r["id"] for r in summary] == ids
    assert sorted(p.name[:4] for p in (sweep / "trials").iterdir()) == ids  # one run folder per point
    statuses = [r["status"] for r in summary]
    assert set(statuses) <= {"completed", "pruned"} and "pruned" in statuses and "completed" in statuses
    for row in summary:
        history = json.loads((sweep / entries[row["id"]]["folder"] / "history.json").read_text())
        assert len(history["loss"]) == int(row["epochs_run"])
        assert (int(row["epochs_run"]) < epochs) == (row["status"] == "pruned")
    study = load_study(sweep / "study.db")
    latest = {t.user_attrs[ID_ATTR]: t for t in study.trials if not t.user_attrs.get(ABANDONED_ATTR)}
    assert sorted(latest) == ids
    expected = {"completed": TrialState.COMPLETE, "pruned": TrialState.PRUNED}
    assert {i: latest[i].state for i in ids} == {r["id"]: expected[r["status"]] for r in summary}
    assert len(study.trials) == n  # nothing told twice, nothing abandoned
    return summary


def test_successive_halving_over_a_shuffled_grid_stops_and_resumes_in_the_same_order(tmp_path):
    path = tmp_path / "order.yaml"
    path.write_text(SWEEP)
    plan = plan_sweep(path)
    first = Recorder(stop_after=3)
    folder, _ = open_folder(plan, tmp_path / "runs")
    with SerialExecutor() as executor:
        outcome = run_sweep(plan, folder, executor, first, first.should_stop)
    assert outcome.interrupted and first.started == plan.run_order[:3]

    again = plan_from_sweep_folder(outcome.folder)
    resumed_folder, resumed = open_folder(again, tmp_path / "runs", resume=outcome.folder)
    assert resumed
    second = Recorder()
    with SerialExecutor() as executor:
        done = run_sweep(again, resumed_folder, executor, second)
    assert not done.interrupted
    assert first.started + second.started == plan.run_order  # the same order, each trial once
    summary = check_consistent(done.folder, 8, epochs=3)
    assert sum(int(r["epochs_run"]) for r in summary) < 8 * 3


@pytest.mark.slow
def test_successive_halving_over_a_shuffled_grid_on_the_process_pool(tmp_path):
    path = tmp_path / "order.yaml"
    path.write_text(SWEEP)
    plan = plan_sweep(path)
    recorder = Recorder()
    folder, _ = open_folder(plan, tmp_path / "runs")
    with ProcessExecutor(workers=2) as executor:
        outcome = run_sweep(plan, folder, executor, recorder)
    assert sorted(recorder.started) == sorted(plan.run_order)
    assert set(recorder.started[:2]) == set(plan.run_order[:2])  # handed out in the run order
    check_consistent(outcome.folder, 8, epochs=3)


def test_the_optimization_history_follows_the_order_trials_finished_not_their_ids():
    from nnrun.report.search import history_figure

    rows = [  # ids in grid order; they finished 0003, 0001, 0002 (a shuffled grid with a pruner)
        {"id": "0001", "status": "completed", "final_val_accuracy": 0.9, "finished": "2026-11-30T20:00:01.200+00:00"},
        {"id": "0002", "status": "pruned", "final_val_accuracy": 0.3, "finished": "2026-11-30T20:00:01.900+00:00"},
        {"id": "0003", "status": "completed", "final_val_accuracy": 0.5, "finished": "2026-11-30T20:00:01.050+00:00"},
    ]
    ax = history_figure(rows, "final_val_accuracy", "max").axes[0]
    (points,) = [c for c in ax.collections if c.get_gid() == "trials"]
    assert [float(y) for _, y in points.get_offsets()] == [0.5, 0.9, 0.3]
    (best,) = [line for line in ax.lines if line.get_gid() == "best"]
    assert [float(y) for y in best.get_ydata()] == [0.5, 0.9, 0.9]
    assert ax.get_xlabel() == "Trials, in the order they finished"
    without_times = [{k: v for k, v in r.items() if k != "finished"} for r in rows]  # older folders: as listed
    ax = history_figure(without_times, "final_val_accuracy", "max").axes[0]
    (points,) = [c for c in ax.collections if c.get_gid() == "trials"]
    assert [float(y) for _, y in points.get_offsets()] == [0.9, 0.3, 0.5]


def test_a_trial_is_recorded_with_the_millisecond_it_finished(tmp_path):
    import re

    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    plan = plan_sweep(path)
    folder, _ = open_folder(plan, tmp_path / "runs", new=True)
    with SerialExecutor() as executor:
        run_sweep(plan, folder, executor)
    manifest = json.loads((folder.path / "manifest.json").read_text())
    stamps = [t["finished"] for t in manifest["trials"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", s) for s in stamps), stamps
    order = sorted(range(len(stamps)), key=lambda i: stamps[i])
    assert [manifest["trials"][i]["id"] for i in order] == plan.run_order  # serial: they end in the order they ran
