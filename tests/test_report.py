"""nnrun.report: figures from training histories, checked on the Figure objects (never on pixels)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from nnrun.errors import InvalidArgumentError
from nnrun.report import (
    history_figure,
    metric_names,
    overlay_figure,
    primary_metric,
    readable_name,
    save_figure,
)

# a classification run: validation loss is best at epoch 6 (0.39), validation accuracy at epoch 7 (0.872)
CLASSIFICATION = {
    "loss": [0.9, 0.6, 0.45, 0.38, 0.33, 0.30, 0.28, 0.27, 0.26, 0.25],
    "accuracy": [0.6, 0.75, 0.82, 0.86, 0.88, 0.9, 0.91, 0.915, 0.92, 0.925],
    "val_loss": [0.8, 0.58, 0.47, 0.42, 0.40, 0.39, 0.395, 0.40, 0.41, 0.42],
    "val_accuracy": [0.65, 0.77, 0.83, 0.85, 0.865, 0.87, 0.872, 0.87, 0.868, 0.866],
    "learning_rate": [1e-3] * 10,
}
REGRESSION = {"loss": [2.0, 1.0, 0.5], "mae": [1.2, 0.8, 0.5], "val_loss": [2.2, 1.1, 0.7], "val_mae": [1.3, 0.9, 0.6]}


def only_axes(fig: Figure):
    assert len(fig.axes) == 1
    return fig.axes[0]


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def texts_with_gid(ax, gid: str) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


def best_points(ax) -> list[tuple[float, float]]:
    return [tuple(p) for c in ax.collections if c.get_gid() == "best" for p in c.get_offsets()]


# --- names ------------------------------------------------------------------------------------------


def test_metric_names_strip_val_and_learning_rate_and_put_loss_first():
    history = {"accuracy": [1], "val_accuracy": [1], "learning_rate": [1], "val_loss": [1], "loss": [1]}
    assert metric_names(history) == ["loss", "accuracy"]
    assert metric_names(REGRESSION) == ["loss", "mae"]
    assert metric_names({"val_mse": [1], "lr": [1]}) == ["mse"]  # a metric seen only on validation counts


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (CLASSIFICATION, "accuracy"),
        ({"loss": [1], "mae": [1], "acc": [1]}, "acc"),
        ({"loss": [1], "mse": [1], "sparse_categorical_accuracy": [1]}, "sparse_categorical_accuracy"),
        (REGRESSION, "mae"),
        ({"loss": [1], "mse": [1], "mae": [1]}, "mse"),
        ({"loss": [1], "val_loss": [1], "learning_rate": [1]}, "loss"),
    ],
)
def test_primary_metric_prefers_accuracy_then_the_first_other_metric(history, expected):
    assert primary_metric(history) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("loss", "Loss"),
        ("acc", "Accuracy"),
        ("mse", "Mean squared error"),
        ("val_mae", "Validation mean absolute error"),
        ("val_accuracy", "Validation accuracy"),
        ("val_auc", "Validation AUC"),
        ("top_k_hits", "Top k hits"),
    ],
)
def test_readable_name(key, expected):
    assert readable_name(key) == expected


# --- history_figure ---------------------------------------------------------------------------------


def test_history_figure_draws_train_and_validation_with_labels_and_title():
    fig = history_figure(CLASSIFICATION, "loss", title="mnist-mlp — loss")
    ax = only_axes(fig)
    assert isinstance(fig, Figure)
    assert ax.get_title() == "mnist-mlp — loss"
    assert ax.get_xlabel() == "Epoch"
    assert ax.get_ylabel() == "Loss"
    assert legend_texts(ax) == ["train", "validation"]
    assert len(ax.lines) == 2
    train, val = ax.lines
    np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 11))
    np.testing.assert_allclose(val.get_ydata(), CLASSIFICATION["val_loss"])
    assert train.get_marker() not in (None, "None", "")  # few epochs: every point is marked
    assert list(ax.get_xticks()) == list(range(1, 11))
    width, height = fig.get_size_inches()
    assert 5.5 <= width <= 7.5 and 3.5 <= height <= 5
    assert 100 <= fig.dpi <= 150
    assert ax.xaxis._major_tick_kw.get("gridOn") or any(line.get_visible() for line in ax.get_xgridlines())


def test_history_figure_default_title_is_the_metric_name():
    ax = only_axes(history_figure(REGRESSION, "mae"))
    assert ax.get_title() == "Mean absolute error"
    assert ax.get_ylabel() == "Mean absolute error"


def test_best_validation_epoch_is_the_minimum_of_a_loss():
    ax = only_axes(history_figure(CLASSIFICATION, "loss"))
    assert best_points(ax) == [(6.0, 0.39)]
    (note,) = texts_with_gid(ax, "best-note")
    assert "0.39" in note and "epoch 6" in note and "validation" in note


def test_best_validation_epoch_is_the_maximum_of_an_accuracy():
    ax = only_axes(history_figure(CLASSIFICATION, "accuracy"))
    assert ax.get_ylabel() == "Accuracy"
    assert best_points(ax) == [(7.0, 0.872)]
    (note,) = texts_with_gid(ax, "best-note")
    assert "0.872" in note and "epoch 7" in note


@pytest.mark.parametrize(
    ("history", "metric"),
    [
        (CLASSIFICATION, "loss"),
        (CLASSIFICATION, "accuracy"),
        ({"loss": [3.0, 2.0, 1.0], "val_loss": [3.0, 2.0, 1.0]}, "loss"),  # best in the lower right corner
        ({"acc": [0.1, 0.5, 0.9], "val_acc": [0.1, 0.5, 0.9]}, "acc"),  # upper right
        ({"loss": [1.0, 2.0, 3.0], "val_loss": [1.0, 2.0, 3.0]}, "loss"),  # lower left
        ({"acc": [0.9, 0.5, 0.1], "val_acc": [0.9, 0.5, 0.1]}, "acc"),  # upper left
    ],
)
def test_best_note_stays_inside_the_axes(history, metric):
    fig = history_figure(history, metric)
    ax = only_axes(fig)
    fig.draw_without_rendering()  # lays the figure out; no display needed
    (note,) = (t for t in ax.texts if t.get_gid() == "best-note")
    box, axes_box = note.get_window_extent(), ax.get_window_extent()
    assert axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1
    assert axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1


def test_without_validation_the_train_curve_is_drawn_and_its_best_marked():
    ax = only_axes(history_figure({"loss": [3.0, 1.0, 2.0]}))
    assert len(ax.lines) == 1
    assert legend_texts(ax) == ["train"]
    assert best_points(ax) == [(2.0, 1.0)]
    assert "best train" in texts_with_gid(ax, "best-note")[0]


def test_a_finite_run_has_no_divergence_note():
    ax = only_axes(history_figure(CLASSIFICATION))
    assert texts_with_gid(ax, "diverged") == []


def test_non_finite_points_are_gaps_and_the_divergence_is_noted():
    history = {"loss": [1.0, 0.8, math.nan, math.nan], "val_loss": [1.1, 0.7, math.inf, None]}
    ax = only_axes(history_figure(history, "loss"))
    assert len(ax.lines) == 2
    train, val = ax.lines
    np.testing.assert_array_equal(np.isnan(train.get_ydata()), [False, False, True, True])
    np.testing.assert_array_equal(np.isnan(val.get_ydata()), [False, False, True, True])  # inf and None too
    assert best_points(ax) == [(2.0, 0.7)]
    assert texts_with_gid(ax, "diverged") == ["diverged at epoch 3"]
    assert list(ax.get_xticks()) == [1, 2, 3, 4]  # the whole run is on the axis


def test_divergence_is_the_first_non_finite_epoch_of_either_curve():
    history = {"loss": [1.0, 0.5, 0.4, math.nan], "val_loss": [1.0, math.inf, 0.9, 0.8]}
    ax = only_axes(history_figure(history))
    assert texts_with_gid(ax, "diverged") == ["diverged at epoch 2"]


def test_an_exploding_loss_is_drawn_on_a_log_axis():
    history = {"loss": [1.0, 0.8, 5.0, 1e3, math.nan], "val_loss": [1.1, 0.9, 7.0, math.inf, math.nan]}
    ax = only_axes(history_figure(history))
    assert ax.get_yscale() == "log"
    assert only_axes(history_figure(CLASSIFICATION)).get_yscale() == "linear"


def test_an_all_nan_run_draws_no_best_marker_but_says_it_diverged():
    ax = only_axes(history_figure({"loss": [math.nan, math.nan], "val_loss": [math.nan, math.nan]}))
    assert best_points(ax) == []
    assert texts_with_gid(ax, "diverged") == ["diverged at epoch 1"]


def test_a_one_epoch_run_has_one_tick_at_epoch_1():
    ax = only_axes(history_figure({"loss": [0.5], "val_loss": [0.6]}))
    assert list(ax.get_xticks()) == [1]
    assert [len(line.get_xdata()) for line in ax.lines] == [1, 1]
    assert best_points(ax) == [(1.0, 0.6)]


def test_a_run_stopped_before_its_first_epoch_gives_an_empty_plot():
    ax = only_axes(history_figure({"loss": [], "val_loss": []}))
    assert [len(line.get_xdata()) for line in ax.lines] == [0, 0]
    assert best_points(ax) == [] and texts_with_gid(ax, "diverged") == []
    assert list(ax.get_xticks()) == [1]


def test_numpy_arrays_are_accepted_as_histories():
    ax = only_axes(history_figure({"loss": np.array([1.0, 0.5]), "val_loss": np.array([1.2, 0.7])}))
    assert best_points(ax) == [(2.0, 0.7)]


def test_many_epochs_have_no_markers_and_round_ticks_from_1():
    history = {"loss": list(np.linspace(1, 0.1, 100)), "val_loss": list(np.linspace(1.1, 0.2, 100))}
    ax = only_axes(history_figure(history))
    assert all(line.get_marker() in (None, "None", "") for line in ax.lines)
    ticks = [int(t) for t in ax.get_xticks()]
    assert ticks[0] == 1 and ticks[-1] <= 100
    assert all(t == int(t) for t in ax.get_xticks())
    assert len(ticks) <= 12


def test_unknown_metric_lists_what_the_history_has():
    with pytest.raises(InvalidArgumentError, match=r"metric='acuracy'.*loss, accuracy.*Did you mean 'accuracy'"):
        history_figure(CLASSIFICATION, "acuracy")


def test_a_val_key_as_metric_says_which_name_to_pass():
    with pytest.raises(InvalidArgumentError, match=r"Pass metric='loss'"):
        history_figure(CLASSIFICATION, "val_loss")


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([0.5, 0.4], r"history must map metric names to per-epoch lists.*Received: history=list"),
        ({"loss": 0.5}, r"Received: history\['loss'\]=0.5"),
        ({"loss": "0.5"}, r"Received: history\['loss'\]='0.5'"),
        ({"loss": [[0.5, 0.4]]}, r"Received: history\['loss'\]=\[\[0.5, 0.4\]\]"),
        ({"loss": [0.5, "high"]}, r"history\['loss'\] must hold one number per epoch"),
    ],
)
def test_a_malformed_history_is_rejected_with_what_was_received(history, message):
    with pytest.raises(InvalidArgumentError, match=message):
        history_figure(history)


# --- overlay_figure ---------------------------------------------------------------------------------


def sweep(n: int, epochs: int = 8) -> list[tuple[str, dict]]:
    x = np.arange(1, epochs + 1)
    return [(f"lr={0.1 / (i + 1):.3g}", {"val_loss": list(1 / (x * (0.1 + 0.01 * i)))}) for i in range(n)]


def test_overlay_draws_one_labelled_line_per_run():
    runs = sweep(4)
    fig = overlay_figure(runs, "val_loss", title="sweep — validation loss")
    ax = only_axes(fig)
    assert ax.get_title() == "sweep — validation loss"
    assert ax.get_xlabel() == "Epoch"
    assert ax.get_ylabel() == "Validation loss"
    assert len(ax.lines) == 4
    assert [line.get_label() for line in ax.lines] == [label for label, _ in runs]
    assert legend_texts(ax) == [label for label, _ in runs]  # few runs: legend inside the axes
    assert len({line.get_color() for line in ax.lines}) == 4


def test_overlay_default_title_names_the_key_and_the_run_count():
    assert only_axes(overlay_figure(sweep(3), "val_loss")).get_title() == "Validation loss — 3 runs"


def test_overlay_of_up_to_10_runs_gives_each_its_colour_and_a_legend_below_long_labels():
    runs = [(f"activation=relu, kernel_initializer=initializer_{i}, lr=0.001", h) for i, (_, h) in enumerate(sweep(8))]
    fig = overlay_figure(runs, "val_loss")
    (ax,) = fig.axes
    assert ax.get_legend() is None and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [label for label, _ in runs]
    assert len({tuple(np.round(line.get_color(), 3)) for line in ax.lines}) == 8
    fig.draw_without_rendering()  # the legend below must not cover or squeeze the axes
    assert fig.legends[0].get_window_extent().y1 <= ax.get_window_extent().y0
    assert ax.get_position().width > 0.75 and ax.get_position().height > 0.4


def test_overlay_accepts_runs_of_different_lengths_and_marks_diverged_ones():
    runs = [("short", {"loss": [1.0, 0.5]}), ("long", {"loss": [1.0, 0.6, 0.4, 0.3, 0.2]})]
    runs.append(("nan", {"loss": [1.0, 0.9, 5.0, math.nan, math.nan]}))
    ax = only_axes(overlay_figure(runs, "loss"))
    assert [len(line.get_xdata()) for line in ax.lines] == [2, 5, 5]
    assert list(ax.get_xticks()) == [1, 2, 3, 4, 5]
    crosses = [tuple(p) for c in ax.collections if c.get_gid() == "diverged" for p in c.get_offsets()]
    assert crosses == [(3.0, 5.0)]  # the last point before the NaN
    assert texts_with_gid(ax, "diverged-note") == ["× 1 run diverged"]


def test_overlay_names_the_run_that_lacks_the_key():
    runs = [("a", {"val_loss": [1.0]}), ("b", {"loss": [1.0]})]
    with pytest.raises(InvalidArgumentError, match=r"Run 'b' \(histories\[1\]\) has no 'val_loss'.*It has: loss"):
        overlay_figure(runs, "val_loss")


@pytest.mark.parametrize(
    ("histories", "message"),
    [
        ([], r"non-empty list of \(label, history\) pairs"),
        ({"a": {"loss": [1.0]}}, r"non-empty list of \(label, history\) pairs"),
        ([{"loss": [1.0]}], r"histories\[0\] must be a \(label, history\) pair"),
        ([("a", [1.0])], r"histories\[0\] \('a'\) must map metric names"),
    ],
)
def test_overlay_rejects_malformed_input(histories, message):
    with pytest.raises(InvalidArgumentError, match=message):
        overlay_figure(histories, "loss")


# --- save_figure ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_figure() -> Figure:
    return history_figure({"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})


@pytest.mark.parametrize(
    ("name", "magic"),
    [("plot.png", b"\x89PNG\r\n\x1a\n"), ("plot.pdf", b"%PDF-"), ("plot.svg", b"<?xml"), ("PLOT.PNG", b"\x89PNG")],
)
def test_save_figure_writes_the_format_of_the_suffix(tmp_path, small_figure, name, magic):
    path = save_figure(small_figure, tmp_path / name)
    assert path == tmp_path / name
    data = path.read_bytes()
    assert data.startswith(magic)
    if name.endswith(".svg"):
        assert b"<svg" in data
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_save_figure_creates_the_folder_and_replaces_an_old_file(tmp_path, small_figure):
    path = tmp_path / "runs" / "r1" / "plots" / "loss.png"
    save_figure(small_figure, str(path))
    path.write_bytes(b"old")
    save_figure(small_figure, path)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert [p.name for p in path.parent.iterdir()] == ["loss.png"]


@pytest.mark.parametrize("name", ["plot.jpg", "plot"])
def test_save_figure_rejects_other_suffixes_naming_the_allowed_ones(tmp_path, small_figure, name):
    with pytest.raises(ValueError, match=r"the suffix must be one of \.png, \.svg, \.pdf") as info:
        save_figure(small_figure, tmp_path / "out" / name)
    assert isinstance(info.value, InvalidArgumentError)
    assert ("'.jpg'" if name.endswith(".jpg") else "no suffix") in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the folder


def test_a_failure_while_rendering_leaves_no_partial_file(tmp_path, small_figure, monkeypatch):
    def broken_savefig(self, fname, **kwargs):
        fname.write(b"\x89PNG half a file")
        raise RuntimeError("renderer crashed")

    old = tmp_path / "kept.png"
    old.write_bytes(b"previous figure")
    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(small_figure, tmp_path / "new.png")
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(small_figure, old)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.png"]
    assert old.read_bytes() == b"previous figure"  # the old file survives a failed overwrite


def test_importing_report_touches_no_global_matplotlib_state():
    code = (
        "import sys, matplotlib; before = matplotlib.rcParams.copy(); import nnrun.report; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
        "assert dict(matplotlib.rcParams.copy()) == dict(before), 'rcParams changed'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
