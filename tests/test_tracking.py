"""Tracking: run and sweep folders logged to TensorBoard and MLflow, read back with the tools' own readers
(TensorBoard's EventAccumulator, MLflow's MlflowClient) and checked against history.json and config.yaml.

MLflow runs against a SQLite store in a temporary folder, and (slow) against a real ``mlflow server`` on
127.0.0.1; a closed port stands for a tracking server that is down.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
hparams_metadata = pytest.importorskip("tensorboard.plugins.hparams.metadata")
pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient  # noqa: E402

from nnrun.cli import app  # noqa: E402
from nnrun.errors import InvalidArgumentError  # noqa: E402
from nnrun.results import flatten_config  # noqa: E402
from nnrun.tracking import (  # noqa: E402
    MlflowSettings,
    TrackingSettings,
    read_tracking,
    settings_from_config,
    settings_from_flags,
    track_folders,
    track_run,
)

FIXTURES = Path(__file__).parent / "fixtures" / "v0"
V0_RUNS = (
    "20261130-175055-small-mlp-completed",
    "20261130-175119-small-mlp-diverged",
    "20261130-175334-small-mlp-interrupted",
)
V0_SWEEPS = ("sweep-20261130-175057-moons-sweep", "sweep-20261130-175349-moons-sweep-interrupted")
RUN_ARTIFACTS = {
    "config.yaml",
    "history.json",
    "metrics.json",
    "status.json",
    "summary.txt",
    "log.txt",
    "loss.png",
    "accuracy.png",
}
runner = CliRunner()

SMALL = """\
name: small
seed: 3
data: {dataset: blobs, n_samples: 300, test_split: 0.2}
model:
  hidden: {activation: tanh}
  layers:
    - dense: 16
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.01}
  epochs: 4
  batch_size: 32
  validation_split: 0.2
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """One SQLite store for the module (creating its tables takes seconds); artifacts beside it."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture
def mlflow_uri(store, monkeypatch) -> str:
    monkeypatch.chdir(store)  # MLflow puts a SQLite store's artifacts under ./mlruns
    return f"sqlite:///{store / 'mlruns.db'}"


@pytest.fixture
def v0(tmp_path) -> Path:
    """A copy of the folders the first release wrote (tracking writes into them; the fixtures stay as they are)."""
    target = tmp_path / "v0"
    target.mkdir()
    for name in (*V0_RUNS, *V0_SWEEPS):
        shutil.copytree(FIXTURES / name, target / name)
    return target


def train(config: Path, runs: Path, *flags) -> Path:
    result = invoke("train", config, "--runs-dir", runs, "--quiet", *flags)
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder


# -- reading back --------------------------------------------------------------------------------------


def events(folder: Path):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def assert_tensorboard_matches_history(logdir: Path, history: dict) -> None:
    """Every key of history.json, every epoch, under Keras's tags; nothing else in the files."""
    train, val = events(logdir / "train"), events(logdir / "validation")
    expected_train = {
        ("epoch_time" if k == "epoch_time" else f"epoch_{k}") for k in history if not k.startswith("val_")
    }
    assert set(train.Tags()["scalars"]) == expected_train
    assert set(val.Tags()["scalars"]) == {f"epoch_{k[4:]}" for k in history if k.startswith("val_")}
    for key, values in history.items():
        acc, tag = (
            (val, f"epoch_{key[4:]}")
            if key.startswith("val_")
            else (train, "epoch_time" if key == "epoch_time" else f"epoch_{key}")
        )
        points = acc.Scalars(tag)
        assert [p.step for p in points] == list(range(len(values))), key
        for point, value in zip(points, values):
            if value is None:  # NaN in history.json is null
                assert math.isnan(point.value), key
            else:
                assert point.value == pytest.approx(value, rel=1e-6), key


def assert_mlflow_matches_folder(client: MlflowClient, run_id: str, folder: Path, weights: bool = False) -> None:
    run = client.get_run(run_id)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    history = json.loads((folder / "history.json").read_text())
    status = json.loads((folder / "status.json").read_text())
    expected = {k: v if isinstance(v, str) else json.dumps(v) for k, v in flatten_config(config).items()}
    assert {k: v for k, v in run.data.params.items() if k in expected} == expected
    for key, values in history.items():
        points = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
        kept = [(epoch, v) for epoch, v in enumerate(values) if v is not None]  # a NaN epoch is left out
        assert [(m.step, m.value) for m in points] == [(e, pytest.approx(v, rel=1e-12)) for e, v in kept], key
    tags = run.data.tags
    assert tags["status"] == status["status"]
    assert tags["seed"] == str(config["seed"])
    assert tags.get("host") == status.get("host")
    assert tags["nnrun.upload"] == "complete"
    files = {a.path for a in client.list_artifacts(run_id)}
    skipped = {"tracking.json", "checkpoint.json", "checkpoint.npz"}  # not results: tracking's record, training state
    present = {p.name for p in folder.iterdir() if p.is_file() and p.name not in skipped}
    assert files == (present if weights else present - {"weights.npz"})
    expected_status = {"completed": "FINISHED", "diverged": "FAILED", "interrupted": "KILLED"}[status["status"]]
    assert run.info.status == expected_status


# -- TensorBoard -----------------------------------------------------------------------------------------


def test_train_with_tensorboard_writes_every_epoch_of_history(small, tmp_path):
    folder = train(small, tmp_path / "runs", "--tensorboard")
    history = json.loads((folder / "history.json").read_text())
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "epoch_time"}
    assert_tensorboard_matches_history(folder / "tensorboard", history)
    record = read_tracking(folder)["tensorboard"]
    assert record["status"] == "logged" and Path(record["logdir"]) == folder / "tensorboard"
    assert json.loads((folder / "status.json").read_text())["status"] == "completed"


def test_track_writes_tensorboard_files_for_the_v0_folders(v0):
    result = invoke("track", *(v0 / n for n in (*V0_RUNS, *V0_SWEEPS)), "--tensorboard")
    assert result.exit_code == 0, result.output
    for name in V0_RUNS:
        assert_tensorboard_matches_history(
            v0 / name / "tensorboard", json.loads((v0 / name / "history.json").read_text())
        )
    # a sweep: one folder per trial with a run folder, each an HParams session with the swept parameters
    for name, n_trials in zip(V0_SWEEPS, (4, 3)):
        sweep = v0 / name
        manifest = json.loads((sweep / "manifest.json").read_text())
        trials = [t for t in manifest["trials"] if t["folder"]]
        assert len(trials) == n_trials
        assert sorted(p.name for p in (sweep / "tensorboard").iterdir()) == sorted(
            Path(t["folder"]).name for t in trials
        )
        for trial in trials:
            session = sweep / "tensorboard" / Path(trial["folder"]).name
            history = json.loads((sweep / trial["folder"] / "history.json").read_text())
            assert_tensorboard_matches_history(session, history)
            content = events(session).PluginTagToContent("hparams")
            start = hparams_metadata.parse_session_start_info_plugin_data(
                content[hparams_metadata.SESSION_START_INFO_TAG]
            )
            values = {k: v.string_value or v.number_value for k, v in start.hparams.items()}
            assert values == trial["params"]
            end = hparams_metadata.parse_session_end_info_plugin_data(content[hparams_metadata.SESSION_END_INFO_TAG])
            assert end.status == (1 if trial["status"] == "completed" else 0)  # STATUS_SUCCESS, else STATUS_UNKNOWN
    assert read_tracking(v0 / V0_SWEEPS[0])["tensorboard"]["status"] == "logged"


def test_track_tensorboard_into_a_folder_of_its_own(v0, tmp_path):
    run = v0 / V0_RUNS[0]
    result = invoke("track", run, "--tensorboard-dir", tmp_path / "tb")
    assert result.exit_code == 0, result.output
    assert_tensorboard_matches_history(tmp_path / "tb" / run.name, json.loads((run / "history.json").read_text()))
    assert not (run / "tensorboard").exists()
    again = invoke("track", run, "--tensorboard-dir", tmp_path / "tb")  # replaces the earlier export
    assert again.exit_code == 0, again.output
    assert len(list((tmp_path / "tb" / run.name / "train").iterdir())) == 1


# -- MLflow, SQLite store --------------------------------------------------------------------------------


def test_train_with_mlflow_logs_params_metrics_tags_and_artifacts(small, tmp_path, mlflow_uri):
    folder = train(small, tmp_path / "runs", "--mlflow", mlflow_uri)
    record = read_tracking(folder)["mlflow"]
    assert record["status"] == "logged" and record["experiment"] == "small"
    assert_mlflow_matches_folder(MlflowClient(mlflow_uri), record["run_id"], folder)
    test = json.loads((folder / "metrics.json").read_text())["test"]
    logged = MlflowClient(mlflow_uri).get_run(record["run_id"]).data.metrics
    assert {k: logged[f"test_{k}"] for k in test} == pytest.approx(test)


def test_track_uploads_each_folder_once(v0, mlflow_uri):
    run = v0 / V0_RUNS[0]
    first = invoke("track", run, "--mlflow", mlflow_uri, "--experiment", "once")
    assert first.exit_code == 0, first.output
    run_id = read_tracking(run)["mlflow"]["run_id"]
    second = invoke("track", run, "--mlflow", mlflow_uri, "--experiment", "once")
    assert second.exit_code == 0 and "already in" in second.output
    client = MlflowClient(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("once").experiment_id])
    assert [r.info.run_id for r in runs] == [run_id]


def test_track_v0_runs_and_sweeps_to_mlflow(v0, mlflow_uri):
    result = invoke("track", *(v0 / n for n in (*V0_RUNS, *V0_SWEEPS)), "--mlflow", mlflow_uri, "--experiment", "v0")
    assert result.exit_code == 0, result.output
    client = MlflowClient(mlflow_uri)
    for name in V0_RUNS:
        assert_mlflow_matches_folder(client, read_tracking(v0 / name)["mlflow"]["run_id"], v0 / name)
    for name in V0_SWEEPS:
        sweep = v0 / name
        record = read_tracking(sweep)["mlflow"]
        manifest = json.loads((sweep / "manifest.json").read_text())
        parent = client.get_run(record["run_id"])
        assert parent.data.params["sweep.parameters.model.hidden.activation"] == '["tanh", "relu"]'
        assert parent.data.tags["metric"] == "val_accuracy"
        assert {a.path for a in client.list_artifacts(parent.info.run_id)} >= {"manifest.json", "sweep.yaml", "figures"}
        children = client.search_runs(
            [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
        )
        trials = {t["id"]: t for t in manifest["trials"] if t["folder"]}
        assert {c.info.run_id for c in children} == set(record["trials"].values())
        assert set(record["trials"]) == set(trials)
        for trial_id, run_id in record["trials"].items():
            trial = trials[trial_id]
            assert_mlflow_matches_folder(client, run_id, sweep / trial["folder"])
            params = client.get_run(run_id).data.params
            assert params["trial"] == trial_id
            assert {k: params[k] for k in trial["params"]} == {k: str(v) for k, v in trial["params"].items()}
        finals = [
            json.loads((sweep / t["folder"] / "metrics.json").read_text())["final"]["val_accuracy"]
            for t in trials.values()
        ]
        assert parent.data.metrics["best_val_accuracy"] == pytest.approx(max(finals))


def test_weights_are_uploaded_only_when_asked(v0, mlflow_uri):
    run = v0 / V0_RUNS[0]
    settings = TrackingSettings(mlflow=MlflowSettings(mlflow_uri, experiment="weights", log_weights=True))
    outcome = track_run(run, settings)
    assert outcome.failed == []
    assert_mlflow_matches_folder(MlflowClient(mlflow_uri), outcome.results["mlflow"]["run_id"], run, weights=True)


# -- failures never lose a run ----------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the socket is: nothing listens there


def test_server_down_training_completes_and_the_failure_is_recorded(small, tmp_path, mlflow_uri):
    down = f"http://127.0.0.1:{closed_port()}"
    result = runner.invoke(
        app, ["train", str(small), "--runs-dir", str(tmp_path / "runs"), "--quiet", "--mlflow", down]
    )
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert json.loads((folder / "status.json").read_text())["status"] == "completed"
    assert {p.name for p in folder.iterdir()} >= RUN_ARTIFACTS | {"weights.npz", "tracking.json"}
    record = read_tracking(folder)["mlflow"]
    assert record["status"] == "failed" and record["tracking_uri"] == down
    assert "Connection" in record["error"] or "connect" in record["error"]
    assert f"nnrun track {folder} --mlflow" in result.output
    # uploaded later, from the folder
    later = invoke("track", folder, "--mlflow", mlflow_uri)
    assert later.exit_code == 0, later.output
    assert read_tracking(folder)["mlflow"]["status"] == "logged"
    assert_mlflow_matches_folder(MlflowClient(mlflow_uri), read_tracking(folder)["mlflow"]["run_id"], folder)


def test_a_server_that_never_answers_costs_one_timeout(v0):
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        uri = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings = TrackingSettings(mlflow=MlflowSettings(uri, timeout=1))
        outcome = track_folders([v0 / V0_RUNS[0], v0 / V0_SWEEPS[0]], settings)
    assert [o.failed for o in outcome] == [["mlflow"], ["mlflow"]]
    assert (
        "Timeout" in read_tracking(v0 / V0_RUNS[0])["mlflow"]["error"]
        or "timed out" in read_tracking(v0 / V0_RUNS[0])["mlflow"]["error"]
    )


def test_track_exits_1_when_a_backend_failed(v0):
    result = invoke("track", v0 / V0_RUNS[0], "--mlflow", f"http://127.0.0.1:{closed_port()}")
    assert result.exit_code == 1
    assert "mlflow failed for" in result.output


# -- arguments ---------------------------------------------------------------------------------------------


def test_track_refuses_what_is_not_a_run_or_sweep_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("track", tmp_path / "empty", "--tensorboard")
    assert result.exit_code == 2
    assert "is not a run folder or a sweep folder" in result.output
    with pytest.raises(InvalidArgumentError, match=r"does not exist"):
        track_folders([tmp_path / "missing"], settings_from_flags(tensorboard=True))


def test_track_needs_a_backend(v0):
    result = invoke("track", v0 / V0_RUNS[0])
    assert result.exit_code == 2
    assert "pass --tensorboard, --tensorboard-dir DIR or --mlflow URI" in result.output


def test_experiment_needs_mlflow():
    with pytest.raises(InvalidArgumentError, match=r"--experiment x needs --mlflow URI"):
        settings_from_flags(experiment="x")


def test_settings_from_a_config_section():
    settings = settings_from_config(
        {"tensorboard": True, "mlflow": {"tracking_uri": "sqlite:///m.db", "experiment": "e"}}
    )
    assert settings == TrackingSettings(tensorboard=True, mlflow=MlflowSettings("sqlite:///m.db", experiment="e"))
    assert settings_from_config(None) == TrackingSettings()
    with pytest.raises(InvalidArgumentError, match=r"timeout must be a whole number of seconds >= 1\. Received: 0"):
        MlflowSettings("sqlite:///m.db", timeout=0)


def test_credentials_are_not_recorded(v0):
    uri = f"http://user:secret@127.0.0.1:{closed_port()}"
    track_run(v0 / V0_RUNS[0], TrackingSettings(mlflow=MlflowSettings(uri, timeout=1)))
    assert "secret" not in (v0 / V0_RUNS[0] / "tracking.json").read_text()


def test_without_mlflow_the_error_names_the_pip_command(v0, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    result = invoke("track", v0 / V0_RUNS[0], "--mlflow", "sqlite:///x.db")
    assert result.exit_code == 1
    assert "pip install 'nnrun[mlflow]'" in result.output


# -- a real tracking server ---------------------------------------------------------------------------------


@pytest.fixture
def mlflow_server(tmp_path):
    """``mlflow server`` on a free port of 127.0.0.1, in its own process group (stopped with its workers)."""
    port = closed_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--workers", "1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start on {uri} (exit code {process.poll()})")
            time.sleep(0.5)
        yield uri
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="stops the server through its process group (POSIX)")
def test_a_real_mlflow_server(v0, mlflow_server, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    sweep = v0 / V0_SWEEPS[0]
    result = invoke("track", sweep, v0 / V0_RUNS[0], "--mlflow", mlflow_server, "--experiment", "served")
    assert result.exit_code == 0, result.output
    client = MlflowClient(mlflow_server)
    record = read_tracking(sweep)["mlflow"]
    manifest = json.loads((sweep / "manifest.json").read_text())
    for trial in manifest["trials"]:
        assert_mlflow_matches_folder(client, record["trials"][trial["id"]], sweep / trial["folder"])
    assert_mlflow_matches_folder(client, read_tracking(v0 / V0_RUNS[0])["mlflow"]["run_id"], v0 / V0_RUNS[0])
    downloaded = Path(client.download_artifacts(record["run_id"], "summary.csv", str(tmp_path)))
    assert downloaded.read_bytes() == (sweep / "summary.csv").read_bytes()
