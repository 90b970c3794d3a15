"""How a local pool starts its workers: forked on Linux while no other thread runs (they begin with this
process's imports and data), spawned otherwise; the same results either way."""

from __future__ import annotations

import sys
import threading
import types
from pathlib import Path

import pytest

from nnrun.sweep import ProcessExecutor, TrialTask, plan_sweep
from nnrun.sweep import executors as executors_module

CONFIG = """\
name: start
seed: 3
data: {dataset: blobs, n_samples: 120}
model:
  layers: [{dense: 4}, {dense: {units: 3, activation: softmax}}]
train: {loss: sparse_categorical_crossentropy, optimizer: sgd, epochs: 2, batch_size: 16, validation_split: 0.25}
sweep:
  parameters: {train.optimizer.learning_rate: [0.01, 0.1]}
"""
MARK = "nnrun_test_parent_only_module"


def inherited(_: object) -> bool:
    """In a worker: whether it began as a copy of the parent (it has the module only the parent made)."""
    return MARK in sys.modules


@pytest.fixture
def marked():
    sys.modules[MARK] = types.ModuleType(MARK)
    yield
    del sys.modules[MARK]


def run_both(executor: ProcessExecutor, tmp_path: Path) -> dict[str, list[float]]:
    path = tmp_path / "start.yaml"
    path.write_text(CONFIG)
    plan = plan_sweep(path)
    tasks = [TrialTask(t.id, plan.experiment(t.id).config, figures=False) for t in plan.trials]
    results = dict(executor.run(tasks, lambda event: None, lambda: False))
    return {k: r.history["val_loss"] for k, r in sorted(results.items())}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked only on Linux")
def test_on_linux_without_other_threads_the_workers_are_forked_at_prepare(marked, tmp_path, monkeypatch):
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # the test runner may keep threads of its own
    with ProcessExecutor(workers=4) as executor:
        executor.prepare(2)
        assert executor.workers == 2  # no more workers than trials
        assert executor._pool is not None and len(executor._pool._processes) == 2  # started now, not at run
        assert executor.map(inherited, [0, 1]) == [True, True]
        forked = run_both(executor, tmp_path)
    with ProcessExecutor(workers=2) as executor:  # spawned: fresh interpreters, same numbers
        assert executor.map(inherited, [0, 1]) == [False, False]
        spawned = run_both(executor, tmp_path)
    assert forked == spawned


@pytest.mark.parametrize("why", ["another thread", "not linux"])
def test_with_another_thread_or_off_linux_the_workers_are_spawned_when_needed(marked, monkeypatch, why):
    if why == "another thread":
        monkeypatch.setattr(threading, "active_count", lambda: 2)
    else:
        monkeypatch.setattr(sys, "platform", "darwin")
    assert not executors_module.can_fork()
    with ProcessExecutor(workers=2) as executor:
        executor.prepare(2)
        assert executor._pool is None  # nothing started yet: spawned at the first task
        assert executor.map(inherited, [0, 1]) == [False, False]
