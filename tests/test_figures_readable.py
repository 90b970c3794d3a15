"""Figures and tables that read at a glance (issues 11 and 14): run notes on single-run plots, rank colours
on heatmaps and overlays of many runs, small multiples, legends that never squeeze the axes, and a
``nnrun runs`` table that fits 100 columns and says which runs ended at chance or were killed."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.report import history_figure, overlay_figure
from nnrun.report.notes import RunNotes, run_notes
from nnrun.report.sweep import heatmap_figure, param_curves_figure
from nnrun.results import format_value
from nnrun.results.chance import at_chance, chance_level, classes_of
from nnrun.runs.catalog import read_run, run_labels

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "v0"
ACT, INIT = "model.hidden.activation", "model.hidden.kernel_initializer"
TINY = """\
name: tiny
seed: 1
data: {dataset: blobs, n_samples: 120}
model:
  hidden: {activation: relu}
  layers:
    - dense: 4
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: sgd, learning_rate: 0.1}
  epochs: 2
  validation_split: 0.25
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def legend_texts(legend) -> list[str]:
    return [t.get_text() for t in legend.get_texts()]


def gids(ax) -> set[str]:
    return {a.get_gid() for a in [*ax.lines, *ax.collections, *ax.texts] if a.get_gid()}


# --- single-run plots -------------------------------------------------------------------------------


def test_run_notes_read_early_stopping_test_score_and_hyperparameters_from_plain_values():
    config = yaml.safe_load((FIXTURES / "20261130-175055-small-mlp-completed" / "config.yaml").read_text())
    metrics = {
        "stop_reason": "early stopping after epoch 6: val_loss stopped improving (best 0.31 at epoch 4) "
        "(best weights restored)",
        "test": {"loss": 0.35, "accuracy": 0.9},
    }
    notes = run_notes(metrics, config)
    assert (notes.stopped_epoch, notes.restored_epoch) == (6, 4)
    assert notes.test == {"loss": 0.35, "accuracy": 0.9} and notes.classes == 10
    assert notes.subtitle == "adam lr=0.01 · batch 64 · relu · he_normal · 16-10 · seed 7"
    assert run_notes({"stop_reason": "completed 3 of 3 epochs"}, config).stopped_epoch is None
    assert run_notes(None, None) == RunNotes()


def test_history_figure_marks_the_stop_the_weights_kept_and_the_test_score():
    history = {"loss": [1.0, 0.6, 0.5, 0.5, 0.5], "val_loss": [1.1, 0.7, 0.6, 0.65, 0.7]}
    notes = RunNotes(subtitle="sgd lr=0.1", stopped_epoch=5, restored_epoch=3, test={"loss": 0.62}, classes=3)
    fig = history_figure(history, "loss", title="run — loss", notes=notes)
    (ax,) = fig.axes
    assert {"early-stop", "restored", "test", "subtitle"} <= gids(ax)
    assert legend_texts(ax.get_legend()) == [
        "train",
        "validation",
        "early stop (epoch 5)",
        "weights kept (epoch 3)",
        "test 0.62",
    ]
    (star,) = [c for c in ax.collections if c.get_gid() == "test"]
    assert tuple(star.get_offsets()[0]) == (3, 0.62)  # the test score is at the epoch whose weights were tested
    assert ax.get_title() == "run — loss"


def test_a_flat_run_is_drawn_from_zero_with_the_chance_level():
    flat = {"loss": [2.309, 2.303, 2.300], "val_loss": [2.305, 2.302, 2.301]}  # zeros_init: noise, no learning
    ax = history_figure(flat, "loss", notes=RunNotes(classes=10, loss="sparse_categorical_crossentropy")).axes[0]
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] > 2.5  # the noise is a flat line, not a slope
    (chance,) = [line for line in ax.lines if line.get_gid() == "chance"]
    assert chance.get_ydata()[0] == pytest.approx(math.log(10))
    stuck = {"accuracy": [0.08, 0.11, 0.10], "val_accuracy": [0.065, 0.13, 0.13]}
    ax = history_figure(stuck, "accuracy", notes=RunNotes(classes=10)).axes[0]
    assert ax.get_ylim() == (0, 1.0) and "at-chance" in gids(ax)
    learning = {"accuracy": [0.5, 0.8, 0.9], "val_accuracy": [0.5, 0.7, 0.85]}
    ax = history_figure(learning, "accuracy", notes=RunNotes(classes=10)).axes[0]
    assert "at-chance" not in gids(ax) and "chance" not in gids(ax)  # far above chance: not drawn


def test_chance_levels():
    assert chance_level("val_accuracy", 10) == pytest.approx(0.1)
    assert chance_level("loss", 10, "sparse_categorical_crossentropy") == pytest.approx(math.log(10))
    assert chance_level("loss", 2, "binary_crossentropy") == pytest.approx(math.log(2))
    assert chance_level("mse", 10, "mse") is None and chance_level("accuracy", None) is None
    assert at_chance(0.12, 10) and not at_chance(0.13, 10) and not at_chance(None, 10)
    assert classes_of({}, {"n_classes": 4}) == 4
    assert classes_of({"train": {"loss": "binary_crossentropy"}}) == 2
    assert classes_of({"train": {"loss": "mse"}, "model": {"layers": [{"dense": 1}]}}) is None


# --- overlays -------------------------------------------------------------------------------------


def histories(n: int, epochs: int = 6) -> list[tuple[str, dict]]:
    rng = np.random.default_rng(0)
    return [
        (f"run {i}", {"val_loss": list(np.linspace(2.0, 0.2 + 0.05 * i, epochs) + 0.01 * rng.random(epochs))})
        for i in range(n)
    ]


def test_an_overlay_of_many_runs_colours_them_by_rank_and_names_only_the_best():
    runs = histories(24)
    runs[5] = ("run 5", {"val_loss": [2.0, 1.0, 0.5, 0.3, 0.1, 0.05]})  # the best by far
    fig = overlay_figure(runs, "val_loss")
    ax = fig.axes[0]
    assert len(ax.lines) == 24
    tab10 = {tuple(np.round(c, 3)) for c in matplotlib.colormaps["tab10"].colors}
    colours = {tuple(np.round(line.get_color()[:3], 3)) for line in ax.lines}
    assert len(colours) == 24 and not colours & tab10  # a colour map, not the 10-colour cycle
    assert legend_texts(fig.legends[0]) == ["#1 run 5", "#2 run 0", "#3 run 1"]  # lower is better for a loss
    assert [line.get_linewidth() for line in ax.lines if line.get_gid() == "best"] == [2.4] * 3
    assert any(a.get_gid() == "rank-colorbar" for a in fig.axes)
    fig.draw_without_rendering()
    assert ax.get_position().width > 0.6


@pytest.mark.parametrize("n", [3, 8, 40])
def test_long_labels_never_squeeze_the_axes(n):
    runs = [(f"{'optimizer.name=adam, ' * 8}seed={i}", h) for i, (_, h) in enumerate(histories(n))]
    fig = overlay_figure(runs, "val_loss")
    fig.draw_without_rendering()
    ax = fig.axes[0]
    assert ax.get_position().width > 0.6 and ax.get_position().height > 0.35
    for legend in [*fig.legends, *([ax.get_legend()] if ax.get_legend() else [])]:
        assert all(len(text) <= 64 for text in legend_texts(legend))  # cut with an ellipsis


# --- sweep figures --------------------------------------------------------------------------------


def test_heatmap_colours_tell_the_good_cells_apart_and_keep_their_values():
    values = {("relu", "zeros"): 0.13, ("relu", "he"): 0.936, ("tanh", "zeros"): 0.13, ("tanh", "he"): 0.925}
    values[("sigmoid", "zeros")], values[("sigmoid", "he")] = 0.13, 0.930
    rows = [{ACT: a, INIT: i, "final_val_accuracy": v} for (a, i), v in values.items()]
    fig = heatmap_figure(rows, ACT, INIT, "final_val_accuracy")
    ax = fig.axes[0]
    image = ax.images[0]
    colours = image.cmap(image.norm(np.array([0.925, 0.930, 0.936])))[:, :3]
    assert np.abs(np.diff(colours, axis=0)).sum(axis=1).min() > 0.15  # visibly different, not one yellow
    texts = {t.get_text() for t in ax.texts if t.get_gid() == "cell"}
    assert {"0.925", "0.930", "0.936", "0.130"} <= texts


def test_curves_are_small_multiples_whose_lines_are_real_runs():
    trials = []
    for a, scale in (("relu", 1.0), ("tanh", 0.5)):
        for init, shift in (("zeros", 2.3), ("he", 0.0)):
            trials.append(({ACT: a, INIT: init}, {"loss": [1], "val_loss": [shift + scale, shift + scale / 2]}))
    fig = param_curves_figure(trials, ACT, "val_loss", by=INIT)
    assert [ax.get_title() for ax in fig.axes] == ["kernel_initializer = zeros", "kernel_initializer = he"]
    runs = {tuple(h["val_loss"]) for _, h in trials}
    for ax in fig.axes:  # no mean across zeros and he: every line is one real run
        assert all(tuple(line.get_ydata()) in runs for line in ax.lines if line.get_gid() == "median")
    assert legend_texts(fig.legends[0]) == ["relu", "tanh"]


def test_random_search_values_are_rounded_for_display_and_kept_whole_in_files():
    assert format_value(0.0012345678901) == "0.001235"
    assert format_value(0.0012345678901, precise=True) == "0.0012345678901"
    assert format_value(0.01) == "0.01" and format_value(1e-5) == "1e-05"


# --- runs in the user's words ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def optimizer_runs(tmp_path_factory) -> Path:
    """Three real runs: the config as written, then --set the optimizer to adam, then to adagrad."""
    root = tmp_path_factory.mktemp("opt")
    config = root.parent / "opt.yaml"
    config.write_text(TINY)
    for sets in ([], ["train.optimizer.name=adam"], ["train.optimizer.name=adagrad"]):
        args = [a for s in sets for a in ("--set", s)]
        result = invoke("train", config, "--runs-dir", root, "-q", *args)
        assert result.exit_code == 0, result.output
    return root


def test_labels_say_what_the_user_changed_not_the_resolved_defaults(optimizer_runs):
    records = sorted((read_run(p) for p in optimizer_runs.iterdir()), key=lambda r: r.path.name)
    labels = run_labels(records)
    assert sorted(labels) == ["optimizer.name=adagrad", "optimizer.name=adam", "optimizer.name=sgd"]
    result = invoke("runs", optimizer_runs)
    assert result.exit_code == 0, result.output
    assert "beta_1" not in result.output and "amsgrad" not in result.output


def test_v0_folders_without_user_configs_are_labelled_without_another_optimizers_defaults():
    records = [read_run(p) for p in sorted(FIXTURES.glob("20261130-*"))]
    labels = run_labels(records)
    assert len(set(labels)) == 3 and all(len(label) <= 56 for label in labels)
    assert not any(word in label for label in labels for word in ("beta_1", "amsgrad", "nesterov", "momentum"))


# --- nnrun plot SWEEP --out FILE -------------------------------------------------------------------


def test_plot_a_sweep_to_one_file_writes_its_headline_figure_only(tmp_path):
    sweep = FIXTURES / "sweep-20261130-175057-moons-sweep"
    out = tmp_path / "out"
    result = invoke("plot", sweep, "--out", out / "headline.png")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["headline.png"]
    assert (out / "headline.png").read_bytes()[:4] == b"\x89PNG"
    result = invoke("plot", sweep, "--out", out / "curves.png", "--figure", "curves")
    assert result.exit_code == 0 and sorted(p.name for p in out.iterdir()) == ["curves.png", "headline.png"]
    result = invoke("plot", sweep, "--out", out / "x.png", "--figure", "heatmp")
    assert result.exit_code == 2 and "Did you mean" in result.output


# --- nnrun runs: 100 columns, --where, chance and killed ---------------------------------------------


def fake_run(root: Path, name: str, status: dict, val_accuracy: float, classes: int = 10) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    config = yaml.safe_load(TINY)
    config["model"]["layers"][-1]["dense"]["units"] = classes
    config["model"]["hidden"]["activation"] = "relu" if "relu" in name else "tanh"
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / "status.json").write_text(json.dumps({"started": "2026-01-01T00:00:00+00:00", **status}))
    final = {"loss": 2.3, "val_loss": 2.3, "accuracy": val_accuracy, "val_accuracy": val_accuracy}
    (folder / "metrics.json").write_text(json.dumps({"final": final}))
    (folder / "history.json").write_text(json.dumps({k: [v] for k, v in final.items()}))
    return folder


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def marked(tmp_path) -> Path:
    root = tmp_path / "runs"
    long = "an-experiment-with-a-very-long-name-that-says-everything-about-it"
    fake_run(root, f"20260101-000001-{long}-relu-good", {"status": "completed"}, 0.91)
    fake_run(root, f"20260101-000002-{long}-relu-stuck", {"status": "completed"}, 0.11)
    fake_run(root, f"20260101-000003-{long}-tanh-killed", {"status": "running", "pid": dead_pid(),
             "host": socket.gethostname()}, 0.5)  # fmt: skip
    return root


def test_runs_marks_chance_and_killed_runs_and_fits_100_columns(marked):
    result = invoke("runs", marked)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100
    headers = lines[0].split()
    assert len(headers) == len(set(headers))
    assert sum("completed (chance)" in line for line in lines) == 1
    assert sum(" killed " in line for line in lines) == 1
    assert "{" not in result.output  # no YAML in cells
    csv_lines = invoke("runs", marked, "--csv").output.splitlines()
    assert csv_lines[0].split(",")[5:7] == ["status", "at_chance"]
    assert sorted(line.split(",")[6] for line in csv_lines[1:]) == ["false", "false", "true"]


def test_runs_where_filters_and_names_unknown_keys(marked):
    def names(*args) -> list[str]:
        result = invoke("runs", marked, "--csv", *args)
        assert result.exit_code == 0, result.output
        return [line.split(",")[1].rsplit("-", 1)[-1] for line in result.output.splitlines()[1:]]

    assert names("--where", "status=completed") == ["stuck", "good"]
    assert names("--where", "activation=relu") == ["stuck", "good"]
    assert names("--where", "activation=relu", "--where", "status=killed") == []
    assert names("--where", "status=killed") == ["killed"]
    assert names("--sort", "val_accuracy") == ["good", "killed", "stuck"]
    assert names("--sort", "val_accuracy", "--reverse") == ["stuck", "killed", "good"]
    result = invoke("runs", marked, "--where", "activaton=relu")
    assert result.exit_code == 2 and "--where activaton: no listed run has a key" in result.output
    assert "Did you mean 'activation'?" in result.output
    result = invoke("runs", marked, "--where", "activation")
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.output
