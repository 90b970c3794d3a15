"""sweep.trial_figures: which trials get their own PNGs (the best point's, every trial's, none), and the
confusion matrix read back from a run folder to draw them after the sweep."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.evaluation import ClassReport
from nnrun.runs.evaluations import class_files, read_class_report
from nnrun.sweep import plan_sweep

runner = CliRunner()
OWN = {"loss.png", "accuracy.png", "confusion_matrix.png"}

BASE = """\
name: figures-sweep
seed: 5
data: {{dataset: blobs, n_samples: 240, test_split: 0.25}}
model:
  hidden: {{activation: relu}}
  layers:
    - dense: 8
    - dense: {{units: 3, activation: softmax}}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {{name: adam, learning_rate: 0.02}}
  metrics: [accuracy]
  epochs: 2
  batch_size: 32
  validation_split: 0.25
sweep:
  parameters:
    model.hidden.activation: [relu, tanh]
    train.optimizer.learning_rate: [0.0001, 0.05]
  repeats: {repeats}
{extra}"""


def sweep(tmp_path: Path, extra: str = "", repeats: int = 1, workers: int = 1) -> tuple[Path, str]:
    tmp_path.mkdir(exist_ok=True)
    config = tmp_path / "sweep.yaml"
    config.write_text(BASE.format(extra=extra, repeats=repeats))
    runs = tmp_path / "runs"
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(runs), "-w", str(workers)])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in runs.iterdir() if p.name.startswith("sweep-")]
    return folder, result.output


def pngs(trial: Path) -> set[str]:
    return {p.name for p in trial.glob("*.png")}


def best_ids(folder: Path) -> set[str]:
    """The trials of the point with the best mean final validation accuracy, computed here from summary.json."""
    rows = json.loads((folder / "summary.json").read_text())
    points: dict[tuple, list[dict]] = {}
    for row in rows:
        points.setdefault((row["model.hidden.activation"], row["train.optimizer.learning_rate"]), []).append(row)
    best = max(points.values(), key=lambda rs: np.mean([r["final_val_accuracy"] for r in rs]))
    return {r["id"] for r in best}


@pytest.mark.parametrize("workers", [1, 2])
def test_by_default_only_the_best_points_trials_get_their_own_plots(tmp_path, workers):
    folder, output = sweep(tmp_path, workers=workers)
    manifest = json.loads((folder / "manifest.json").read_text())
    best = best_ids(folder)
    assert len(best) == 1
    for entry in manifest["trials"]:
        trial = folder / entry["folder"]
        assert (trial / "confusion_matrix.csv").is_file() and (trial / "per_class.csv").is_file()
        assert pngs(trial) == (OWN if entry["id"] in best else set()), entry["id"]
    (best_entry,) = [e for e in manifest["trials"] if e["id"] in best]
    assert f"Best trial's plots: {folder / best_entry['folder']}" in " ".join(output.split())
    assert any((folder / "figures").glob("curves_*.png"))  # the sweep's own figures, as before


def test_with_repeats_every_trial_of_the_best_point_gets_its_plots(tmp_path):
    folder, _ = sweep(tmp_path, repeats=2)
    manifest = json.loads((folder / "manifest.json").read_text())
    best = best_ids(folder)
    assert len(best) == 2
    with_plots = {e["id"] for e in manifest["trials"] if pngs(folder / e["folder"])}
    assert with_plots == best


def test_all_draws_every_trials_plots_and_none_draws_none(tmp_path):
    folder, output = sweep(tmp_path / "all", "  trial_figures: all\n")
    trials = [folder / e["folder"] for e in json.loads((folder / "manifest.json").read_text())["trials"]]
    assert len(trials) == 4 and all(pngs(t) == OWN for t in trials)
    assert "Best trial's plots" not in output  # every trial has them: nothing to point at

    folder, output = sweep(tmp_path / "none", "  trial_figures: none\n")
    trials = [folder / e["folder"] for e in json.loads((folder / "manifest.json").read_text())["trials"]]
    assert all(pngs(t) == set() for t in trials)
    assert any((folder / "figures").glob("curves_*.png")) and "Best trial's plots" not in output


def test_the_best_trials_plots_match_what_nnrun_train_would_draw(tmp_path):
    """The plots drawn after the sweep from the trial's folder are the ones the worker draws from its result."""
    best_folder, _ = sweep(tmp_path / "best")
    all_folder, _ = sweep(tmp_path / "all", "  trial_figures: all\n")
    (best,) = best_ids(best_folder)
    entry = next(e for e in json.loads((best_folder / "manifest.json").read_text())["trials"] if e["id"] == best)
    for name in OWN:
        assert (best_folder / entry["folder"] / name).read_bytes() == (all_folder / entry["folder"] / name).read_bytes()


def test_trial_figures_is_validated_and_not_part_of_the_fingerprint(tmp_path):
    config = tmp_path / "sweep.yaml"
    config.write_text(BASE.format(extra="  trial_figures: some\n", repeats=1))
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "sweep.trial_figures" in result.output and "'best', 'all' or 'none'" in result.output
    prints = set()
    for value in ("best", "all", "none"):
        config.write_text(BASE.format(extra=f"  trial_figures: {value}\n", repeats=1))
        prints.add(plan_sweep(config).fingerprint)
    assert len(prints) == 1  # what a sweep draws does not change what it computes: --resume finds it


def test_a_confusion_matrix_reads_back_as_written(tmp_path):
    report = ClassReport(np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]]), ["cat", "dog, big", "bird"])
    for name, data in class_files(report).items():
        (tmp_path / name).write_bytes(data)
    back = read_class_report(tmp_path)
    assert back is not None and back.labels == report.labels
    np.testing.assert_array_equal(back.matrix, report.matrix)


@pytest.mark.parametrize(
    "text", ["", "true \\ predicted,a,b\na,1\n", "true \\ predicted,a,b\na,1,x\nb,0,1\n", "x\n"]
)
def test_a_damaged_or_missing_confusion_matrix_reads_as_none(tmp_path, text):
    if text:
        (tmp_path / "confusion_matrix.csv").write_text(text)
    assert read_class_report(tmp_path) is None


def test_nnrun_plot_draws_a_trials_plots_later_confusion_matrix_included(tmp_path):
    folder, _ = sweep(tmp_path, "  trial_figures: none\n")
    entry = json.loads((folder / "manifest.json").read_text())["trials"][0]
    trial = folder / entry["folder"]
    assert pngs(trial) == set()
    result = runner.invoke(app, ["plot", str(trial)])
    assert result.exit_code == 0, result.output
    assert pngs(trial) == OWN
    assert "confusion_matrix.png" in result.output  # each file written is listed


def test_nnrun_plot_says_when_a_trials_confusion_matrix_cannot_be_read(tmp_path):
    folder, _ = sweep(tmp_path, "  trial_figures: none\n")
    trial = folder / json.loads((folder / "manifest.json").read_text())["trials"][0]["folder"]
    (trial / "confusion_matrix.csv").write_text("true \\ predicted,a,b\na,1,x\n")
    result = runner.invoke(app, ["plot", str(trial)])
    assert result.exit_code == 0, result.output
    assert "is not a confusion matrix as nnrun writes it" in " ".join(result.output.split())
    assert pngs(trial) == {"loss.png", "accuracy.png"}  # the curves are drawn all the same
