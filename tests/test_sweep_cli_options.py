"""nnrun sweep's options: each reaches the executor or is refused (exit 2) before anything is created."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.sweep.executors import SerialExecutor

runner = CliRunner()

BASE = """\
name: opts
seed: 1
data: {dataset: blobs, n_samples: 90}
model:
  layers:
    - dense: 4
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  epochs: 1
  batch_size: 32
sweep:
  parameters:
    model.hidden.activation: [relu, tanh]
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "opts.yaml"
    path.write_text(BASE)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "serial", "--address", "x:1"], "--address does not apply to --executor serial"),
        (["--executor", "process", "--cpus-per-trial", "2"], "--cpus-per-trial does not apply to --executor process"),
        (["--cpus-per-trial", "2"], "--cpus-per-trial does not apply to --executor process"),
        (["--executor", "serial", "-w", "2"], "--workers does not apply to --executor serial"),
        (["--executor", "ray", "--workers", "4"], "--workers does not apply to --executor ray"),
        (["--executor", "thread"], "Unknown executor: --executor='thread'. Expected one of: serial, process, ray"),
    ],
)
def test_an_option_that_does_not_apply_exits_2_and_creates_nothing(config, tmp_path, args, message):
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not runs.exists()


@pytest.mark.parametrize("flag", ["--set", "--param"])
def test_resume_refuses_set_and_param_and_says_why(tmp_path, flag):
    folder = tmp_path / "runs" / "sweep-1"
    folder.mkdir(parents=True)
    value = "train.epochs=5" if flag == "--set" else "train.epochs=5,6"
    result = runner.invoke(app, ["sweep", "--resume", str(folder), flag, value])
    assert result.exit_code == 2, result.output
    assert f"{flag} does not apply to --resume" in result.output
    assert "runs its remaining trials with the config and sweep it started with" in result.output
    assert list(folder.iterdir()) == []


def test_resume_and_new_exclude_each_other(config, tmp_path):
    result = runner.invoke(app, ["sweep", str(config), "--resume", str(tmp_path), "--new"])
    assert result.exit_code == 2
    assert "--new starts a new sweep, --resume continues one" in result.output


class Recording(SerialExecutor):
    """A serial executor that records how it was made, started and closed."""

    made: list[dict] = []

    def __init__(self, **options):
        self.options, self.calls = options, []
        Recording.made.append(self)

    def start(self):
        self.calls.append("start")

    def close(self):
        self.calls.append("close")


def test_ray_options_reach_the_executor_which_is_started_and_closed(config, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    import nnrun.sweep.ray_executor as ray_executor

    Recording.made.clear()
    monkeypatch.setattr(ray_executor, "RayExecutor", Recording)
    result = runner.invoke(
        app,
        [
            "sweep",
            str(config),
            "--runs-dir",
            str(tmp_path / "runs"),
            "--executor",
            "ray",
            "--address",
            "10.1.2.3:6380",
            "--cpus-per-trial",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    (executor,) = Recording.made
    assert executor.options == {"address": "10.1.2.3:6380", "cpus_per_trial": 3}
    assert executor.calls == ["start", "close"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_where_no_cluster_answers_exits_2_naming_it(config, tmp_path):
    pytest.importorskip("ray")
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    runs = tmp_path / "runs"
    result = runner.invoke(
        app, ["sweep", str(config), "--executor", "ray", "--address", address, "--runs-dir", str(runs)]
    )
    assert result.exit_code == 2, result.output
    assert f"--address {address}: no Ray cluster answers there" in result.output
    assert not runs.exists()


def test_a_malformed_address_exits_2(config, tmp_path):
    pytest.importorskip("ray")
    result = runner.invoke(app, ["sweep", str(config), "--executor", "ray", "--address", "headnode"])
    assert result.exit_code == 2
    assert "--address must be a running Ray cluster: HOST:PORT" in result.output
    assert "Received: --address 'headnode'" in result.output
