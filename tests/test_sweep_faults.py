"""A sweep folder under attack: a truncated or hand-edited manifest, a symlink planted in trials/, a full
disk. Real files, real commands; nothing is silently restarted, nothing outside the folder is touched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli import app

V0 = Path(__file__).parent / "fixtures" / "v0"
INTERRUPTED = "sweep-20261130-175349-moons-sweep-interrupted"
SWEEP = "sweep-20261130-175057-moons-sweep"
runner = CliRunner()


@pytest.fixture
def runs(tmp_path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    for name in (INTERRUPTED, SWEEP):
        shutil.copytree(V0 / name, root / name)
    return root


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        (lambda text: text[: len(text) // 2], "it is not valid JSON"),
        (lambda text: "[1, 2, 3]", "it holds a list, not a JSON object"),
        (lambda text: json.dumps({**json.loads(text), "trials": [{"id": "0001"}]}), "its trials (1) are not the 4 trials"),
    ],
    ids=["truncated", "a-list", "hand-edited"],
)
def test_a_damaged_manifest_stops_resume_with_exit_2_naming_the_file(runs, damage, why):
    manifest = runs / INTERRUPTED / "manifest.json"
    manifest.write_text(damage(manifest.read_text()))
    before = sorted(p.name for p in (runs / INTERRUPTED).rglob("*"))
    result = runner.invoke(app, ["sweep", "--resume", str(runs / INTERRUPTED)])
    assert result.exit_code == 2, result.output
    assert f"{manifest}: cannot resume the sweep in {INTERRUPTED}: {why}" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (runs / INTERRUPTED).rglob("*")) == before  # nothing changed


def test_rerunning_the_command_does_not_silently_start_over_past_a_damaged_manifest(runs, tmp_path):
    manifest = runs / SWEEP / "manifest.json"
    manifest.write_text(manifest.read_text()[:100])
    config = tmp_path / "moons_sweep.yaml"
    shutil.copy(V0 / "moons_sweep.yaml", config)
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "--executor", "serial"])
    assert result.exit_code == 2, result.output
    assert f"{manifest}: cannot resume the sweep in {SWEEP}: it is not valid JSON" in result.output
    assert "--new" in result.output
    assert sorted(p.name for p in runs.iterdir()) == sorted([INTERRUPTED, SWEEP])  # no new folder
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "--executor", "serial", "--new"])
    assert result.exit_code == 0, result.output


def test_a_symlink_in_trials_is_removed_never_followed(runs, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    link = runs / INTERRUPTED / "trials" / "0009-planted"
    link.symlink_to(outside, target_is_directory=True)
    result = runner.invoke(app, ["sweep", "--resume", str(runs / INTERRUPTED), "--executor", "serial", "-q"])
    assert result.exit_code == 0, result.output
    assert not link.exists() and not link.is_symlink()
    assert (outside / "keep.txt").read_text() == "mine"
    manifest = json.loads((runs / INTERRUPTED / "manifest.json").read_text())
    assert [t["status"] for t in manifest["trials"]] == ["completed"] * 4


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs a tmpfs in a private mount namespace (unshare -m, root)")
def test_a_full_disk_during_a_sweep_names_the_file_and_prints_the_resume_command(tmp_path):
    config = tmp_path / "big.yaml"
    text = (V0 / "moons_sweep.yaml").read_text().replace("- dense: 8", "- dense: 300\n    - dense: 300")
    config.write_text(text)
    mount = tmp_path / "disk"
    mount.mkdir()
    script = (
        f"mount -t tmpfs -o size=900k tmpfs {mount} && "
        f"{sys.executable} -m nnrun sweep {config} --runs-dir {mount}/runs --executor serial -q; "
        f"echo EXIT=$?; cat {mount}/runs/*/status.json"
    )
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    out, err = proc.stdout, proc.stderr
    assert "EXIT=1" in out, (out, err)
    assert "Traceback" not in err
    assert "No space left on device" in err and "resume with: nnrun sweep --resume " in err, err
    status = json.loads(out[out.rindex("EXIT=1") + 6 :])
    assert status["status"] == "failed" and "No space left on device" in status["stop_reason"]
