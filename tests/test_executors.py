"""Executors: the registry and its options, the context-manager contract, typed events, where trials ran,
no more workers than trials, and pool workers that end with their parent (real processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nnrun.errors import InvalidArgumentError
from nnrun.sweep import ProcessExecutor, SerialExecutor, TrialTask, make_executor, open_folder, plan_sweep, run_sweep
from nnrun.sweep.events import BatchProgress, EpochEnded, Placement, TrialFinished, TrialStarted
from nnrun.sweep.executors import EXECUTORS

BASE = """\
name: tiny
seed: 3
data: {dataset: blobs, n_samples: 120}
model:
  layers:
    - dense: 4
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.02}
  epochs: 2
  batch_size: 32
sweep:
  parameters:
    model.hidden.activation: [relu, tanh, sigmoid]
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(BASE)
    return path


def tasks_of(config: Path) -> list[TrialTask]:
    plan = plan_sweep(config)
    return [TrialTask(t.id, plan.experiment(t.id).config) for t in plan.trials]


# -- the registry --------------------------------------------------------------------------------------------


def test_the_registry_names_every_executor_and_suggests_the_closest():
    assert list(EXECUTORS) == ["serial", "process", "ray"]
    with pytest.raises(InvalidArgumentError, match=r"Unknown executor: --executor='proces'.*Did you mean 'process'"):
        make_executor("proces")


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("serial", {"address": "127.0.0.1:6379"}, r"--address does not apply to --executor serial; .*--executor ray"),
        ("process", {"cpus_per_trial": 2}, r"--cpus-per-trial does not apply to --executor process"),
        ("serial", {"workers": 2}, r"--workers does not apply to --executor serial; it applies to --executor process"),
        ("ray", {"workers": 2}, r"--workers does not apply to --executor ray\b.*Received: --executor ray --workers 2"),
    ],
)
def test_an_option_the_executor_does_not_take_is_an_error(kind, options, message):
    with pytest.raises(InvalidArgumentError, match=message):
        make_executor(kind, **options)


def test_make_executor_creates_but_starts_nothing():
    executor = make_executor("process", workers=3)
    assert isinstance(executor, ProcessExecutor) and executor.workers == 3
    assert executor._pool is None
    assert isinstance(make_executor("process", workers=1), SerialExecutor)


# -- the contract ----------------------------------------------------------------------------------------------


def test_serial_executor_sends_typed_events_and_says_where_each_trial_ran(config):
    events = []
    with SerialExecutor() as executor:
        results = dict(executor.run(tasks_of(config), events.append, lambda: False))
    assert list(results) == ["0001", "0002", "0003"]
    starts = [e for e in events if isinstance(e, TrialStarted)]
    assert [e.trial_id for e in starts] == ["0001", "0002", "0003"]
    assert all(e.where == Placement(socket.gethostname(), os.getpid(), None) for e in starts)
    epochs = [(e.trial_id, e.epoch, e.epochs) for e in events if isinstance(e, EpochEnded)]
    assert epochs[:2] == [("0001", 1, 2), ("0001", 2, 2)]
    assert all(isinstance(e, (TrialStarted, EpochEnded, BatchProgress)) for e in events)
    for result in results.values():
        assert result.ran_on == {"hostname": socket.gethostname(), "pid": os.getpid(), "node_id": None}
        assert result.metrics["ran_on"] == result.ran_on


def test_where_a_trial_ran_reaches_its_metrics_json(config, tmp_path):
    plan = plan_sweep(config)
    folder, _ = open_folder(plan, tmp_path / "runs")
    finished = []

    class Observer:
        def on_sweep_begin(self, folder, total, pending, workers):
            assert (total, pending, workers) == (3, 3, 1)

        def on_event(self, event):
            if isinstance(event, TrialFinished):
                finished.append(event)

    with SerialExecutor() as executor:
        outcome = run_sweep(plan, folder, executor, Observer())
    assert [e.trial_id for e in finished] == ["0001", "0002", "0003"]
    assert all(e.result.status == "completed" and isinstance(e.value, float) for e in finished)
    for row in outcome.rows:
        metrics = json.loads((outcome.folder / row["folder"] / "metrics.json").read_text())
        assert metrics["ran_on"] == {"hostname": socket.gethostname(), "pid": os.getpid(), "node_id": None}


def test_a_pool_starts_no_more_workers_than_trials_and_closes_on_exit(config):
    events = []
    with ProcessExecutor(workers=64) as executor:
        results = dict(executor.run(tasks_of(config), events.append, lambda: False))
        assert executor.workers == 3
        pool = executor._pool
        assert pool is not None and len(pool._processes) <= 3
        pids = {e.where.pid for e in events if isinstance(e, TrialStarted)}
        assert 1 <= len(pids) <= 3 and os.getpid() not in pids
        assert {r.ran_on["pid"] for r in results.values()} == pids
    assert executor._pool is None
    assert [r.status for r in results.values()] == ["completed"] * 3


# -- workers end with their parent -----------------------------------------------------------------------------

PARENT = """\
import sys, time
from pathlib import Path
from nnrun.sweep import ProcessExecutor, TrialTask, plan_sweep
from nnrun.sweep.events import TrialStarted


def on_event(event):
    if isinstance(event, TrialStarted):
        print(event.where.pid, flush=True)

if __name__ == "__main__":
    plan = plan_sweep(Path(sys.argv[1]), overrides=["train.epochs=100000"])
    tasks = [TrialTask(t.id, plan.experiment(t.id).config) for t in plan.trials][:2]
    for _ in ProcessExecutor(workers=2).run(tasks, on_event, lambda: False):
        pass
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its exit status waits to be collected


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see whether a process lives")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_pool_workers_end_when_only_their_parent_is_killed(config, tmp_path, signum):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(PARENT))
    parent = subprocess.Popen(
        [sys.executable, str(script), str(config)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    workers: list[int] = []
    try:
        workers += [int(parent.stdout.readline()) for _ in range(2)]  # both trials are training
        assert all(alive(pid) for pid in workers)
        os.kill(parent.pid, signum)  # the parent only, not its process group
        parent.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers), f"workers {workers} outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        for pid in workers:  # only if the test failed: leave nothing running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
