"""How a local pool starts its workers: forked on Linux while no other thread runs (they begin with this
process's imports and data), spawned otherwise; the same results either way."""

from __future__ import annotations

import json
import subprocess
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
OPENBLAS = {"internal_api": "openblas", "threading_layer": "pthreads"}


def default_stop_signals(_: object) -> bool:
    """In a worker: whether SIGTERM and SIGHUP end it (the sweep's own handlers are not inherited)."""
    import signal

    return all(signal.getsignal(s) == signal.SIG_DFL for s in (signal.SIGTERM, signal.SIGHUP))


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


FORKED_THEN_SPAWNED = """
import json, sys, threading, types
from pathlib import Path
sys.path.insert(0, {tests!r})
import test_worker_start as t
sys.modules[t.MARK] = types.ModuleType(t.MARK)
import signal
for s in (signal.SIGTERM, signal.SIGHUP):  # as nnrun sweep's stop handlers are installed before the fork
    signal.signal(s, lambda *_: None)
from nnrun.sweep import ProcessExecutor
out = {{"threads": threading.active_count()}}
with ProcessExecutor(workers=4) as executor:
    executor.prepare(2)
    out["workers"] = executor.workers
    out["started"] = len(executor._pool._processes) if executor._pool is not None else 0
    out["forked"] = executor.map(t.inherited, [0, 1])
    out["stop_signals"] = executor.map(t.default_stop_signals, [0, 1])
    out["forked_results"] = t.run_both(executor, Path({tmp!r}))
with ProcessExecutor(workers=2) as executor:
    out["spawned"] = executor.map(t.inherited, [0, 1])
    out["spawned_results"] = t.run_both(executor, Path({tmp!r}))
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers are forked only on Linux")
def test_on_linux_without_other_threads_the_workers_are_forked_at_prepare(tmp_path):
    """In a fresh interpreter (as `nnrun sweep` is): forked at prepare, as many as trials, same numbers."""
    script = FORKED_THEN_SPAWNED.format(tests=str(Path(__file__).parent), tmp=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["threads"] == 1 and out["workers"] == 2 and out["started"] == 2  # started at prepare, not at run
    assert out["forked"] == [True, True] and out["spawned"] == [False, False]
    assert out["stop_signals"] == [True, True]  # SIGTERM ends a worker, as it ends a spawned one
    assert out["forked_results"] == out["spawned_results"]
    assert "fork" not in done.stderr  # no warning about forking a multi-threaded process


@pytest.mark.parametrize("why", ["another thread", "not linux", "jax loaded", "openmp blas"])
def test_with_another_thread_or_off_linux_the_workers_are_spawned_when_needed(marked, monkeypatch, why):
    monkeypatch.setattr(threading, "active_count", lambda: 1)  # the test runner may keep threads of its own
    for name in executors_module.FORK_UNSAFE_MODULES:  # earlier tests may have loaded JAX
        monkeypatch.delitem(sys.modules, name, raising=False)
    import threadpoolctl  # and an OpenMP runtime (scikit-learn's): this process as `nnrun sweep` starts

    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [OPENBLAS])
    if sys.platform.startswith("linux"):
        assert executors_module.can_fork()  # as this test process is, once its own threads are set aside
    if why == "another thread":
        monkeypatch.setattr(threading, "active_count", lambda: 2)
    elif why == "not linux":
        monkeypatch.setattr(sys, "platform", "darwin")
    elif why == "jax loaded":
        monkeypatch.setitem(sys.modules, "jax", types.ModuleType("jax"))
    else:
        pools = [OPENBLAS, {"internal_api": "openmp", "threading_layer": None}]
        monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: pools)
    assert not executors_module.can_fork()
    with ProcessExecutor(workers=2) as executor:
        executor.prepare(2)
        assert executor._pool is None  # nothing started yet: spawned at the first task
        assert executor.map(inherited, [0, 1]) == [False, False]
