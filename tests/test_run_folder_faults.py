"""A run folder ends consistent whatever happens: SIGTERM, SIGHUP, a second Ctrl-C at any moment, SIGKILL,
a full disk, an unusable --runs-dir, a power loss. Real ``nnrun train`` processes, real files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnrun.runs import store
from nnrun.runs.store import RunFolder, atomic_write, effective_status, process_identity

LONG = """\
name: long
seed: 3
data: {dataset: blobs, n_samples: 3000, test_split: 0.2}
model:
  hidden: {activation: tanh}
  layers:
    - dense: 16
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.01}
  metrics: [accuracy]
  epochs: 100000
  batch_size: 32
  validation_split: 0.2
"""
FILES = ("config.yaml", "history.json", "metrics.json", "summary.txt", "weights.npz", "loss.png", "log.txt")


def nnrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "nnrun", *args]


def start_training(tmp_path: Path, runs: Path, config_text: str = LONG) -> subprocess.Popen:
    """``nnrun train`` in a real process, returned once its first epoch has finished."""
    config = tmp_path / "long.yaml"
    config.write_text(config_text)
    proc = subprocess.Popen(
        [*nnrun("train", str(config), "--runs-dir", str(runs))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in proc.stdout:  # type: ignore[union-attr]
        if line.startswith("Epoch 1/"):
            return proc
    proc.kill()
    pytest.fail(f"training never printed its first epoch: {proc.stderr.read()}")  # type: ignore[union-attr]


def only_run(runs: Path) -> Path:
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder


def assert_consistent(run: Path) -> dict:
    """Every file is there; the history and metrics agree on the epochs; the status is final."""
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted", status
    for name in FILES:
        assert (run / name).exists(), name
    history = json.loads((run / "history.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    n = len(history["loss"])
    assert n == metrics["epochs_run"] == len(history["epoch_time"]) == len(history["val_loss"])
    assert not list(run.glob(".*.tmp")), "a temporary file was left behind"
    return status


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, signum):
    runs = tmp_path / "runs"
    proc = start_training(tmp_path, runs)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    name = signal.Signals(signum).name
    assert f"interrupted: stopped by {name} during epoch" in err
    status = assert_consistent(only_run(runs))
    assert status["stop_reason"].startswith(f"stopped by {name} during epoch")


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.02, 0.05, 0.1, 0.3, 0.6])
def test_a_second_signal_at_any_moment_leaves_a_consistent_folder(tmp_path, delay):
    """The second Ctrl-C may land in training (abort) or while the folder is written (deferred)."""
    runs = tmp_path / "runs"
    proc = start_training(tmp_path, runs)
    proc.send_signal(signal.SIGINT)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (130, -signal.SIGINT), err  # a signal after the exit code is set ends it as SIGINT
    assert "Traceback" not in err
    status = assert_consistent(only_run(runs))
    assert status["stop_reason"].startswith(("stopped by Ctrl-C", "aborted by Ctrl-C")), status


@pytest.mark.slow
def test_a_killed_run_reads_killed_and_a_live_one_running(tmp_path):
    runs = tmp_path / "runs"
    proc = start_training(tmp_path, runs)
    run = only_run(runs)
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "running" and status["pid"] == proc.pid and status["host"] == socket.gethostname()
    assert effective_status(status) == "running"
    proc.kill()
    proc.communicate(timeout=30)
    assert effective_status(json.loads((run / "status.json").read_text())) == "killed"


def test_a_run_on_another_host_reads_unknown_and_a_reused_pid_killed():
    me = process_identity(os.getpid())
    assert effective_status({"status": "running", **me}) == "running"
    assert effective_status({"status": "running", **me, "host": "elsewhere.example"}) == "unknown"
    if "pid_start" in me:  # Linux: the same pid with another start time is another process
        assert effective_status({"status": "running", **me, "pid_start": me["pid_start"] + 1}) == "killed"
    assert effective_status({"status": "completed", **me, "host": "elsewhere.example"}) == "completed"
    assert effective_status(None) == "unknown"


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True, timeout=10
    )
    return probe.returncode == 0


needs_tmpfs = pytest.mark.skipif(
    not _can_mount_tmpfs(), reason="needs a tmpfs in a private mount namespace (unshare -m, as root, on Linux)"
)


@pytest.mark.slow
@needs_tmpfs
def test_a_full_disk_names_the_file_and_marks_the_run_failed(tmp_path):
    """The runs folder is a 160 KiB tmpfs: the config and status fit, the weights and plots do not."""
    config = tmp_path / "small.yaml"
    config.write_text(LONG.replace("epochs: 100000", "epochs: 2").replace("- dense: 16", "- dense: 300\n    - dense: 300"))
    mount = tmp_path / "disk"
    mount.mkdir()
    script = (
        f"mount -t tmpfs -o size=160k tmpfs {mount} && "
        f"{sys.executable} -m nnrun train {config} --runs-dir {mount}/runs; "
        f"echo EXIT=$?; cat {mount}/runs/*/status.json"
    )
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    out, err = proc.stdout, proc.stderr
    assert "EXIT=1" in out, (out, err)
    assert "Traceback" not in err
    assert "No space left on device" in err and f"in {mount}/runs/" in err, err
    status = json.loads(out[out.index("{") :])
    assert status["status"] == "failed"
    assert "could not be written" in status["stop_reason"] and "No space left on device" in status["stop_reason"]


@pytest.mark.slow
@needs_tmpfs
def test_a_read_only_runs_dir_is_refused_before_anything_is_loaded(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(LONG.replace("epochs: 100000", "epochs: 1"))
    mount = tmp_path / "ro"
    mount.mkdir()
    script = f"mount -t tmpfs -o ro tmpfs {mount} && {sys.executable} -m nnrun train {config} --runs-dir {mount}"
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"--runs-dir {mount}: cannot create run folders there (Read-only file system)" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("layout", ["file", "under_file"])
def test_a_runs_dir_that_is_a_file_is_refused_before_the_data_is_loaded(tmp_path, layout):
    """The data path does not exist: the runs-dir error comes first, so nothing was loaded."""
    from typer.testing import CliRunner

    from nnrun.cli import app

    blocker = tmp_path / "runs-file"
    blocker.write_text("not a folder")
    runs_dir = blocker if layout == "file" else blocker / "runs"
    config = tmp_path / "c.yaml"
    config.write_text(LONG.replace("{dataset: blobs, n_samples: 3000, test_split: 0.2}", "{path: missing.csv}"))
    result = CliRunner().invoke(app, ["train", str(config), "--runs-dir", str(runs_dir)])
    assert result.exit_code == 2, result.output
    expected = "is a file" if layout == "file" else f"is under {blocker}, which is a file"
    assert f"--runs-dir {runs_dir} {expected}, not a folder" in result.output
    assert "missing.csv" not in result.output


def test_an_immutable_runs_dir_is_refused(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(runs)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available on this file system")
    try:
        with pytest.raises(Exception, match=r"--runs-dir .*runs: cannot create run folders there \(Operation not"):
            store.check_runs_dir(runs)
    finally:
        subprocess.run(["chattr", "-i", str(runs)], check=True)


def test_records_are_fsynced_file_then_folder(tmp_path, monkeypatch):
    """Durable writes: fsync of the file before the rename, then of its folder; bulk files only renamed."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        calls.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    def replace(a, b):
        calls.append("rename")
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    folder = RunFolder(tmp_path)
    folder.write_json("metrics.json", {"a": 1})
    assert calls == ["file", "rename", "dir"]
    calls.clear()
    folder.write_bytes("loss.png", b"png")
    assert calls == ["rename"]
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"a": 1}


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "status.json"
    target.write_text("old")

    def explode(f):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(Exception, match=r"could not write status.json in .*: No space left on device \(errno 28\)"):
        atomic_write(target, explode, durable=True)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]
