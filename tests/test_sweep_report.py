"""nnrun.report.sweep: the figures that compare a sweep's trials, checked on the Figure objects."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from nnrun.errors import InvalidArgumentError
from nnrun.report.sweep import (
    MAX_BARS,
    bars_figure,
    curve_metrics,
    file_safe,
    format_value,
    heatmap_figure,
    param_curves_figure,
    row_metric_name,
    short_names,
    sweep_figures,
)

ACT, INIT = "model.hidden.activation", "model.hidden.kernel_initializer"


def history(val_loss, loss=None, val_accuracy=None):
    h = {"loss": loss or [v + 0.1 if v is not None else None for v in val_loss], "val_loss": val_loss}
    if val_accuracy is not None:
        h["val_accuracy"] = val_accuracy
    return h


def main_axes(fig: Figure):
    return fig.axes[0]


def mean_lines(ax) -> dict[str, np.ndarray]:
    """The thick line of each value: the median over its trials."""
    return {
        line.get_label(): np.asarray(line.get_ydata(), dtype=float) for line in ax.lines if line.get_gid() == "median"
    }


def cell_texts(ax) -> dict[tuple[float, float], str]:
    return {tuple(t.get_position()): t.get_text() for t in ax.texts if t.get_gid() == "cell"}


# --- names ------------------------------------------------------------------------------------------


def test_short_names_are_the_shortest_unique_suffixes():
    assert short_names([ACT, INIT]) == {ACT: "activation", INIT: "kernel_initializer"}
    assert short_names(["train.optimizer.learning_rate"]) == {"train.optimizer.learning_rate": "lr"}
    names = short_names(["model.hidden.activation", "model.layers.1.dense.activation"])
    assert names == {
        "model.hidden.activation": "hidden.activation",
        "model.layers.1.dense.activation": "dense.activation",
    }
    names = short_names(["model.layers.0.dense.units", "model.layers.1.dense.units"])
    assert names == {
        "model.layers.0.dense.units": "layers.0.dense.units",
        "model.layers.1.dense.units": "layers.1.dense.units",
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.01, "0.01"), (1e-5, "1e-05"), (3, "3"), (True, "true"), (None, "null"), ("relu", "relu"),
     ({"name": "sgd", "momentum": 0.9}, "{name: sgd, momentum: 0.9}"), ([64, 32], "[64, 32]")],
)  # fmt: skip
def test_format_value_writes_values_as_yaml_does(value, text):
    assert format_value(value) == text


def test_file_safe_names_and_row_metric_names():
    assert file_safe("layers.0.dense.units") == "layers.0.dense.units"
    assert file_safe("a b/c:d") == "a-b-c-d"
    assert row_metric_name("final_val_accuracy") == "Final validation accuracy"
    assert row_metric_name("best_mae") == "Best mean absolute error"
    assert row_metric_name("val_loss") == "Validation loss"


# --- curves per parameter value ---------------------------------------------------------------------


def test_param_curves_draw_each_values_median_and_its_runs_thin():
    trials = [
        ({ACT: "relu", INIT: "zeros"}, history([1.0, 0.5, 0.3])),
        ({ACT: "relu", INIT: "he_normal"}, history([0.8, 0.3, 0.1])),
        ({ACT: "tanh", INIT: "zeros"}, history([1.2, 0.9, 0.7])),
    ]
    fig = param_curves_figure(trials, ACT, "val_loss")
    ax = main_axes(fig)
    lines = mean_lines(ax)
    assert list(lines) == ["relu (n=2)", "tanh"]  # the sweep's order; n when several trials share the value
    np.testing.assert_allclose(lines["relu (n=2)"], [0.9, 0.4, 0.2])
    np.testing.assert_allclose(lines["tanh"], [1.2, 0.9, 0.7])
    thin = [line for line in ax.lines if line.get_gid() == "run"]
    assert len(thin) == 2  # only relu has several trials: each drawn thin, as it ran
    assert sorted(tuple(line.get_ydata()) for line in thin) == [(0.8, 0.3, 0.1), (1.0, 0.5, 0.3)]
    assert ax.get_xlabel() == "Epoch" and ax.get_ylabel() == "Validation loss"
    assert ax.get_title() == "Validation loss by activation"
    assert ax.get_legend().get_title().get_text() == "activation (median; thin: each run)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["relu (n=2)", "tanh"]


def test_param_curves_skip_nan_and_average_over_the_trials_that_reached_each_epoch():
    trials = [
        ({ACT: "relu"}, history([1.0, None, 0.4, 0.2])),  # a null (NaN) at epoch 2
        ({ACT: "relu"}, history([0.6, 0.5])),  # stopped early after 2 epochs
        ({ACT: "sigmoid"}, history([2.0, math.nan])),  # diverged at epoch 2: its only trial
        ({ACT: "tanh"}, {}),  # failed before the first epoch: no history
    ]
    ax = main_axes(param_curves_figure(trials, ACT, "val_loss"))
    lines = mean_lines(ax)
    assert set(lines) == {"relu (n=2, 1 diverged)", "sigmoid (1 diverged)"}  # tanh has nothing to draw
    np.testing.assert_allclose(lines["relu (n=2, 1 diverged)"], [0.8, 0.5, 0.4, 0.2])
    sigmoid = lines["sigmoid (1 diverged)"]
    assert sigmoid[0] == 2.0 and np.isnan(sigmoid[1:]).all()
    assert list(ax.get_xticks()) == [1, 2, 3, 4]


def test_param_curves_sort_numeric_values_and_use_a_log_axis_for_wide_ranges():
    trials = [({"lr": v}, history([10.0 * v, v])) for v in (0.1, 0.001, 0.01)]
    ax = main_axes(param_curves_figure(trials, "lr", "val_loss", title="custom"))
    assert list(mean_lines(ax)) == ["0.001", "0.01", "0.1"]
    assert ax.get_yscale() == "log" and ax.get_title() == "custom"


def test_param_curves_errors_name_what_is_wrong():
    trials = [({ACT: "relu"}, history([1.0], val_accuracy=[0.5]))]
    with pytest.raises(
        InvalidArgumentError,
        match=r"No trial has 'val_acc'\. The histories have: loss, val_accuracy, val_loss\. Did you mean 'val_accuracy'",
    ):
        param_curves_figure(trials, ACT, "val_acc")
    with pytest.raises(
        InvalidArgumentError, match=r"trials\[0\] has no parameter 'model.hidden.activaton'.*Did you mean"
    ):
        param_curves_figure(trials, "model.hidden.activaton", "loss")
    with pytest.raises(InvalidArgumentError, match=r"non-empty list"):
        param_curves_figure([], ACT, "loss")
    with pytest.raises(InvalidArgumentError, match=r"trials\[0\] must be a \(params, history\) pair"):
        param_curves_figure([{ACT: "relu"}], ACT, "loss")


# --- heatmap ----------------------------------------------------------------------------------------


def grid_rows():
    """activation × initializer, two repeats; (sigmoid, he_normal) never ran; (tanh, zeros) diverged."""
    values = {
        ("relu", "zeros"): [0.5, 0.7],
        ("relu", "he_normal"): [0.9, 0.95],
        ("tanh", "zeros"): [None, math.nan],
        ("tanh", "he_normal"): [0.8, 0.8],
        ("sigmoid", "zeros"): [0.3, 0.3],
    }
    return [
        {ACT: a, INIT: i, "final_val_accuracy": v, "repeat": r}
        for (a, i), vs in values.items()
        for r, v in enumerate(vs)
    ]


def test_heatmap_shows_mean_and_std_per_cell_and_outlines_the_best():
    fig = heatmap_figure(grid_rows(), ACT, INIT, "final_val_accuracy")
    ax, colorbar_ax = fig.axes
    assert colorbar_ax.get_ylabel() == "Final validation accuracy (colour by rank)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["relu", "tanh", "sigmoid"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["zeros", "he_normal"]
    assert ax.get_xlabel() == "activation" and ax.get_ylabel() == "kernel_initializer"
    cells = cell_texts(ax)  # keyed by (x, y) = (activation index, initializer index)
    assert cells[(0, 0)] == "0.600\n±0.141"  # sample std of 0.5 and 0.7
    assert cells[(0, 1)] == "0.925\n±0.035"
    assert cells[(1, 1)] == "0.800\n±0.000"
    assert cells[(1, 0)] == "—"  # ran, but no finite value
    assert (2, 1) not in cells  # never ran: blank
    image = ax.images[0].get_array()
    assert image.mask[1, 2] and image.mask[0, 1] and not image.mask[1, 0]
    (best,) = [p for p in ax.patches if p.get_gid() == "best"]
    assert best.get_xy() == (-0.5, 0.5)  # relu / he_normal
    assert "mean ± std of 2 per cell" in ax.get_title()


def test_heatmap_min_mode_picks_the_lowest_and_rotates_long_labels():
    rows = [
        {"init": name, "units": u, "loss": u / 100 + k}
        for k, name in enumerate(["RandomUniform", "glorot_normal"])
        for u in (8, 64)
    ]
    fig = heatmap_figure(rows, "init", "units", "loss", mode="min", title="t")
    ax = fig.axes[0]
    (best,) = [p for p in ax.patches if p.get_gid() == "best"]
    assert best.get_xy() == (-0.5, -0.5)  # RandomUniform, 8 units: 0.08
    assert cell_texts(ax)[(0, 0)] == "0.080"  # one value per cell: no ±
    assert all(label.get_rotation() == 35 for label in ax.get_xticklabels())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["8", "64"]  # numbers ascending
    assert ax.get_title() == "t"


def test_heatmap_errors():
    with pytest.raises(InvalidArgumentError, match=r"No row has 'final_val_acc'.*Did you mean 'final_val_accuracy'"):
        heatmap_figure(grid_rows(), ACT, INIT, "final_val_acc")
    with pytest.raises(InvalidArgumentError, match=r"rows\[0\] has no parameter 'units'"):
        heatmap_figure(grid_rows(), ACT, "units", "final_val_accuracy")
    with pytest.raises(InvalidArgumentError, match=r"mode must be 'max' or 'min'. Received: mode='maximum'"):
        heatmap_figure(grid_rows(), ACT, INIT, "final_val_accuracy", mode="maximum")


# --- bars -------------------------------------------------------------------------------------------


def test_bars_are_sorted_best_first_with_std_error_bars():
    fig = bars_figure(grid_rows(), "final_val_accuracy", [ACT, INIT])
    ax = main_axes(fig)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["relu / he_normal", "tanh / he_normal", "relu / zeros", "sigmoid / zeros", "tanh / zeros"]
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    widths = [p.get_width() for p in bars.patches]
    np.testing.assert_allclose(widths, [0.925, 0.8, 0.6, 0.3, 0.0])
    segments = bars.errorbar.lines[2][0].get_segments()  # one horizontal error segment per bar
    half = [abs(s[1][0] - s[0][0]) / 2 for s in segments]
    np.testing.assert_allclose(half[:3], [np.std([0.9, 0.95], ddof=1), 0.0, np.std([0.5, 0.7], ddof=1)])
    assert bars.patches[0].get_gid() == "best" and bars.patches[1].get_gid() != "best"
    notes = [t.get_text().strip() for t in ax.texts if t.get_gid() == "value"]
    assert notes[0] == "0.925 ± 0.035  (n=2)"
    assert notes[-1] == "no value (2 failed or diverged)"
    assert ax.get_ylabel() == "activation / kernel_initializer"
    assert ax.get_xlabel() == "Final validation accuracy (higher is better)"
    assert ax.yaxis_inverted()  # best on top


def test_bars_min_mode_single_values_and_the_cap_on_points():
    rows = [{"lr": 10.0**-k, "final_loss": float(k)} for k in range(MAX_BARS + 5)]
    ax = main_axes(bars_figure(rows, "final_loss", ["lr"], mode="min"))
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == MAX_BARS and labels[0] == "1"
    assert f"the best {MAX_BARS} of {MAX_BARS + 5} points" in ax.get_title()
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert bars.errorbar is None  # one value per point: no error bars
    assert ax.get_xlabel() == "Final loss (lower is better)"
    with pytest.raises(InvalidArgumentError, match=r"group_by must be a list"):
        bars_figure(rows, "final_loss", "lr")


# --- what a sweep saves -----------------------------------------------------------------------------


def sweep_trials(repeats: int, params=(ACT, INIT), validation=True):
    trials = []
    for _ in range(repeats):
        for a in ("relu", "tanh"):
            for i in ("zeros", "RandomUniform"):
                values = {ACT: a, INIT: i}
                base = 0.2 if a == "relu" else 0.5
                h = {"loss": [1.0, base], "accuracy": [0.5, 1 - base]}
                if validation:
                    h.update(val_loss=[1.1, base + 0.05], val_accuracy=[0.4, 0.95 - base])
                metrics = {"final": {k: v[-1] for k, v in h.items()}}
                trials.append(({p: values[p] for p in params}, h, metrics))
    return trials


def test_sweep_figures_for_two_parameters_with_repeats():
    trials = sweep_trials(repeats=2)
    manifest = {"metric": "val_accuracy", "mode": "max", "parameters": [ACT, INIT], "repeats": 2}
    figures = sweep_figures(manifest, trials, "val_accuracy")
    assert sorted(figures) == sorted(
        [
            "curves_activation_val_loss.png",
            "curves_activation_val_accuracy.png",
            "curves_kernel_initializer_val_loss.png",
            "curves_kernel_initializer_val_accuracy.png",
            "heatmap_activation_kernel_initializer_val_accuracy.png",
            "bars_val_accuracy.png",
        ]
    )
    heatmap = figures["heatmap_activation_kernel_initializer_val_accuracy.png"].axes[0]
    assert cell_texts(heatmap)[(0, 0)] == "0.750\n±0.000"
    curves = figures["curves_activation_val_loss.png"]  # one panel per initializer: no mean over zeros and others
    assert [ax.get_title() for ax in curves.axes] == [
        "kernel_initializer = zeros",
        "kernel_initializer = RandomUniform",
    ]
    assert list(mean_lines(curves.axes[0])) == ["relu", "tanh"]
    assert [t.get_text() for t in curves.legends[0].get_texts()] == ["relu", "tanh"]


def test_sweep_figures_without_validation_without_repeats_and_for_regression():
    manifest = {"metric": "loss", "mode": "min", "parameters": [ACT, INIT], "trials": [{"repeat": 0}] * 4}
    figures = sweep_figures(manifest, sweep_trials(1, validation=False), "loss")
    assert sorted(figures) == [
        "curves_activation_accuracy.png",
        "curves_activation_loss.png",
        "curves_kernel_initializer_accuracy.png",
        "curves_kernel_initializer_loss.png",
        "heatmap_activation_kernel_initializer_loss.png",  # no bars: no repeats and two parameters
    ]
    (best,) = [
        p for p in figures["heatmap_activation_kernel_initializer_loss.png"].axes[0].patches if p.get_gid() == "best"
    ]
    assert best.get_xy()[0] == -0.5  # relu: the lower loss

    regression = [
        ({"lr": lr}, {"loss": [2.0, lr], "mae": [1.0, lr], "val_loss": [2.0, lr], "val_mae": [1.0, lr]}, {})
        for lr in (0.1, 0.2)
    ]
    figures = sweep_figures({"parameters": ["lr"]}, regression, "val_mae")
    assert sorted(figures) == ["bars_val_mae.png", "curves_lr_val_loss.png", "curves_lr_val_mae.png"]
    bars = figures["bars_val_mae.png"].axes[0]  # no metrics.json: the history's last values; min for errors
    assert [t.get_text() for t in bars.get_yticklabels()] == ["0.1", "0.2"]
    assert curve_metrics([{"loss": [1], "val_loss": [1]}]) == ["val_loss"]


def test_sweep_figures_with_nothing_to_compare():
    assert sweep_figures({"parameters": [ACT]}, [], "val_loss") == {}
    assert sweep_figures({"parameters": []}, sweep_trials(1), "val_loss") == {}


def test_a_sweeps_figures_are_planned_by_name_without_drawing(monkeypatch):
    import nnrun.report.sweep as sweep_report
    from nnrun.report.sweep import draw_sweep_figure, plan_sweep_figures

    trials = sweep_trials(repeats=2)
    rows = [{**p, **{f"final_{k}": v for k, v in m["final"].items()}} for p, _, m in trials]
    histories = [h for _, h, _ in trials]
    drawn = []
    for name in ("param_curves_figure", "heatmap_figure", "bars_figure"):
        original = getattr(sweep_report, name)
        monkeypatch.setattr(sweep_report, name, lambda *a, _f=original, **k: drawn.append(1) or _f(*a, **k))
    planned = plan_sweep_figures(rows, histories, "val_accuracy", [ACT, INIT], mode="max", repeated=True)
    assert drawn == []  # planning draws nothing
    manifest = {"metric": "val_accuracy", "mode": "max", "parameters": [ACT, INIT], "repeats": 2}
    assert [f.name for f in planned] == list(sweep_figures(manifest, trials, "val_accuracy"))
    bars = next(f for f in planned if f.kind == "bars")
    assert (bars.key, bars.params, bars.mode) == ("final_val_accuracy", (ACT, INIT), "max")
    assert isinstance(draw_sweep_figure(bars, rows, histories), Figure)
