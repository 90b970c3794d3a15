"""nnrun sweep --executor ray: on a real local Ray instance (num_cpus=2, started once for the tests that use it)
and on a real two-node cluster started with ``ray start``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.sweep import ProcessExecutor, TrialTask, open_folder, plan_sweep, run_sweep
from nnrun.sweep.events import EpochEnded, TrialStarted

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent
EXERCISE = ROOT / "configs" / "sweep_activation_initializer.yaml"
QUICK = ["train.epochs=2", "data.limit=400"]
runner = CliRunner()


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


# -- a real two-node cluster (first in this module, before the local instance starts) -----------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayNode:
    """``ray start --block`` in its own session and temp dir; ``stop()`` ends its processes and only those."""

    def __init__(self, args: list[str], temp_dir: Path, env: dict[str, str]) -> None:
        self.temp_dir, self.log = temp_dir, temp_dir.with_suffix(".log")
        ray_cli = Path(sys.executable).with_name("ray")
        common = ["--num-cpus", "1", "--node-ip-address", "127.0.0.1", "--disable-usage-stats", "--block"]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [str(ray_cli), "start", *args, "--temp-dir", str(temp_dir), *common],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its daemons share this process group, which no other test uses
            )

    def wait_started(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "Ray runtime started" not in self.log.read_text():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM to this node's process group (what ``ray start --block`` handles), SIGKILL if it lingers, then
        any process left that names this node's own temp dir. Never ``ray stop``: it kills every Ray process."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                if str(self.temp_dir).encode() in cmdline.read_bytes():
                    os.kill(int(cmdline.parent.name), signal.SIGKILL)


@pytest.fixture
def two_node_cluster(monkeypatch):
    """A head node and a second node, each with one CPU, on this machine; yields (address, env)."""
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # nodes and driver share the token in ~/.ray/auth_token
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray_cli = str(Path(sys.executable).with_name("ray"))
    subprocess.run([ray_cli, "get-auth-token", "--generate"], check=True, capture_output=True, timeout=60)
    env = dict(os.environ)
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="nnray"))  # short: Ray's socket paths must fit in 107 bytes
    head_ports = ["--ray-client-server-port", str(free_port()), "--dashboard-port", str(free_port())]
    nodes = [RayNode(["--head", "--port", str(port), "--include-dashboard=false", *head_ports], root / "h", env)]
    try:
        nodes[0].wait_started()
        nodes.append(RayNode(["--address", f"127.0.0.1:{port}"], root / "n", env))
        nodes[1].wait_started()
        yield f"127.0.0.1:{port}", env
    finally:
        for node in reversed(nodes):
            node.stop()
        shutil.rmtree(root, ignore_errors=True)


CLUSTER_NODES = """\
import json, sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(json.dumps(sorted(n["NodeID"] for n in ray.nodes() if n["Alive"])))
"""


def test_a_sweep_joins_a_two_node_cluster_and_records_where_each_trial_ran(two_node_cluster, tmp_path):
    address, env = two_node_cluster
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "nnrun", "sweep", str(EXERCISE), "--executor", "ray", "--address", address]
    cmd += ["--runs-dir", str(runs), "--set", "train.epochs=3", "--set", "data.limit=1500", "-q"]
    cmd += ["--param", "model.hidden.kernel_initializer=zeros,he_normal"]  # 6 trials, on 2 one-CPU nodes
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=400, env=env)
    assert done.returncode == 0, done.stderr
    nodes = subprocess.run(
        [sys.executable, "-c", CLUSTER_NODES, address], capture_output=True, text=True, timeout=120, env=env
    )
    cluster = set(json.loads(nodes.stdout))
    assert len(cluster) == 2, nodes.stderr  # the sweep added no node (it started no Ray instance of its own)
    (sweep,) = list(runs.iterdir())
    rows = json.loads((sweep / "summary.json").read_text())
    assert len(rows) == 6 and all(r["status"] == "completed" for r in rows)
    ran_on = [json.loads((sweep / r["folder"] / "metrics.json").read_text())["ran_on"] for r in rows]
    assert {r["node_id"] for r in ran_on} == cluster  # both nodes ran trials, and only they did
    assert {r["hostname"] for r in ran_on} == {socket.gethostname()}
    assert "2 workers" in (sweep / "log.txt").read_text()


@pytest.mark.usefixtures("local_ray")
def test_ray_gives_the_same_metrics_as_the_process_pool():
    from nnrun.sweep.ray_executor import RayExecutor

    plan = plan_sweep(EXERCISE, overrides=QUICK)
    tasks = [TrialTask(t.id, plan.experiment(t.id).config) for t in plan.trials]
    ray_executor = RayExecutor()
    ray_executor.start()
    assert ray_executor.workers == 2
    events = []
    on_ray = dict(ray_executor.run(tasks, events.append, lambda: False))
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
        assert set(result.plots) == set(on_pool[trial_id].plots) >= {"loss.png", "accuracy.png"}
        assert result.ran_on["node_id"] == ray.get_runtime_context().get_node_id()  # one node: the driver's
        assert result.metrics["ran_on"] == result.ran_on
    assert {type(e) for e in events} >= {TrialStarted, EpochEnded}


@pytest.mark.usefixtures("local_ray")
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
    for row in rows:  # the driver shares the data with how they were prepared: predict needs it
        recorded = json.loads((sweep / row["folder"] / "preprocessing.json").read_text())
        assert recorded["n_classes"] == 10 and "flatten" in recorded["steps"]


class KillOnFirstStart:
    """An observer that SIGKILLs the worker process that starts ``trial_id``, the first time only."""

    def __init__(self, trial_id: str):
        self.trial_id, self.starts = trial_id, 0

    def on_sweep_begin(self, *args): ...

    def on_event(self, event):
        if isinstance(event, TrialStarted) and event.trial_id == self.trial_id:
            self.starts += 1
            if self.starts == 1:
                os.kill(event.where.pid, signal.SIGKILL)


@pytest.mark.usefixtures("local_ray")
@pytest.mark.parametrize(("max_retries", "expected"), [(2, "completed"), (0, "failed")])
def test_a_killed_worker_is_retried_or_recorded_as_failed(tmp_path, max_retries, expected):
    from nnrun.sweep.ray_executor import RayExecutor

    long_enough = ["train.epochs=150", "data.limit=2000"]  # the kill must land while the trial still runs
    plan = plan_sweep(EXERCISE, overrides=long_enough, params=["model.hidden.kernel_initializer=zeros,he_normal"])
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
