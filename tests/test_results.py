"""nnrun.results: a metric's direction from the engine's registry, trial rows, ranking and the best point."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nnrun import results
from nnrun.engine.metrics import METRICS, MeanMetricWrapper
from nnrun.errors import InvalidArgumentError
from nnrun.report import history_figure
from nnrun.report.sweep import bars_figure
from nnrun.runs.catalog import listing, read_run, read_sweep

# --- direction --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "mode"),
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("accuracy", "max"),
        ("val_acc", "max"),
        ("val_sparse_categorical_accuracy", "max"),
        ("mse", "min"),
        ("val_rmse", "min"),
        ("root_mean_squared_error", "min"),
        ("mape", "min"),
        ("binary_crossentropy", "min"),
        ("r2_score", "max"),  # "higher is better" was once guessed from the name: r2 ranked lowest first
        ("cosine_similarity", "max"),
        ("AUC", "max"),
        ("val_precision", "max"),
    ],
)
def test_direction_comes_from_the_engine_registry(metric, mode):
    assert results.direction(metric) == mode


def test_an_unknown_metric_is_an_error_not_a_guess():
    with pytest.raises(InvalidArgumentError, match=r"higher 'val_accuray' is better.*Did you mean 'val_accuracy'"):
        results.direction("val_accuray")
    with pytest.raises(InvalidArgumentError, match=r"Received: metric='f1_macro'"):
        results.direction("f1_macro")
    with pytest.raises(InvalidArgumentError, match=r"mode must be 'max' or 'min'. Received: mode='maximum'"):
        results.check_direction("maximum")


@pytest.fixture
def weird_error(monkeypatch):
    """A metric registered at test time, lower is better: registering it is the only edit nnrun needs."""
    for attr in ("_entries", "_canonical", "_names", "_spellings"):
        monkeypatch.setattr(METRICS, attr, type(getattr(METRICS, attr))(getattr(METRICS, attr)))

    class WeirdError(MeanMetricWrapper):
        direction = "min"
        default_name = "weird_error"

        def __init__(self, name: str | None = None, dtype=None) -> None:
            super().__init__(lambda y_true, y_pred: np.abs(y_true - y_pred), name=name, dtype=dtype)

    METRICS.add(WeirdError, "WeirdError", "weird_error")
    return "weird_error"


def test_a_metric_registered_once_is_ranked_right_everywhere(weird_error, tmp_path):
    assert results.direction("val_weird_error") == "min"

    # a sweep's points, its best point and its bars
    rows = [{"lr": lr, "final_val_weird_error": v} for lr, v in [(0.1, 0.5), (0.2, 0.1), (0.3, 0.9)]]
    assert [p.params["lr"] for p in results.rank(rows, "final_val_weird_error", "min", ["lr"])] == [0.2, 0.1, 0.3]
    assert results.best_point(rows, "final_val_weird_error", "min", ["lr"]).params == {"lr": 0.2}
    ax = bars_figure(rows, "final_val_weird_error", ["lr"], mode=results.direction("val_weird_error")).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.2", "0.1", "0.3"]

    # a run's best epoch (trial.summarize) and its plot
    from nnrun.trial import summarize

    history = {"loss": [1.0, 0.5, 0.7], "weird_error": [0.3, 0.1, 0.2], "val_weird_error": [0.4, 0.2, 0.3]}
    config = SimpleNamespace(seed=1, train=SimpleNamespace(validation_split=0.0))
    data = SimpleNamespace(x_train=np.zeros((4, 2)), x_test=None, source="test")
    best = summarize(history, None, config, data, n_params=3)["best"]
    assert best["val_weird_error"] == {"value": 0.2, "epoch": 2}
    ax = history_figure(history, "weird_error").axes[0]
    (marker,) = [c for c in ax.collections if c.get_gid() == "best"]
    assert marker.get_offsets().tolist() == [[2.0, 0.2]]

    # nnrun runs --sort: lowest first
    for name, value in [("a", 0.3), ("b", 0.1), ("c", 0.2)]:
        run = tmp_path / f"20260101-00000{ord(name) - 96}-{name}"
        run.mkdir()
        (run / "metrics.json").write_text(json.dumps({"name": name, "final": {"val_weird_error": value}}))
    table = listing([read_run(p) for p in sorted(tmp_path.iterdir())], sort="val_weird_error")
    assert [row["name"] for row in table.rows] == ["b", "c", "a"]


# --- rows -------------------------------------------------------------------------------------------


def test_a_trial_row_has_run_columns_only_once_it_has_a_run_folder():
    pending = results.trial_row("0002", {"lr": 0.1}, 1, 7, "pending")
    assert pending.to_json() == {"id": "0002", "lr": 0.1, "repeat": 1, "seed": 7, "status": "pending", "reason": None}
    metrics = {
        "final": {"loss": 0.5, "val_loss": math.nan, "learning_rate": 0.1},
        "best": {"loss": {"value": 0.4, "epoch": 2}},
        "test": {"loss": 0.6},
        "epochs_run": 3,
        "duration_seconds": 1.5,
    }
    row = results.trial_row("0001", {"lr": 0.1}, 0, 3, "completed", "done", folder="trials/0001", metrics=metrics)
    assert list(row.to_json()) == [
        "id", "lr", "repeat", "seed", "status", "reason", "epochs_run", "duration_seconds",
        "final_loss", "final_val_loss", "best_loss", "test_loss", "folder",
    ]  # fmt: skip
    assert row.value("loss") == 0.5 and row.value("val_loss") is None  # NaN is no value
    assert results.TrialRow.from_json(row.to_json(), ["lr"]) == row
    history = {"loss": [0.9, 0.8], "learning_rate": [0.1, 0.1], "epoch_time": [1.0, 1.0]}
    interrupted = results.trial_row("0003", {"lr": 0.2}, 0, 3, "interrupted", folder="x", history=history)
    assert interrupted.final == {"loss": 0.8}  # no metrics.json: the history's last epoch


# --- ranking ----------------------------------------------------------------------------------------


def test_rank_averages_repeats_and_puts_points_without_a_value_last():
    rows = [
        {"act": "relu", "final_acc": 0.8, "status": "completed"},
        {"act": "tanh", "final_acc": None, "status": "failed"},
        {"act": "relu", "final_acc": 0.9, "status": "completed"},
        {"act": "sigmoid", "final_acc": 0.85, "status": "completed"},
        {"act": "tanh", "final_acc": math.nan, "status": "diverged"},
    ]
    points = results.rank(rows, "final_acc", "max", ["act"])
    assert [p.params["act"] for p in points] == ["relu", "sigmoid", "tanh"]
    relu = points[0]
    assert relu.mean == pytest.approx(0.85) and relu.std == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert (relu.n, len(relu.rows), relu.statuses) == (2, 2, ["completed"])
    assert (points[2].mean, points[2].std, points[2].n, points[2].statuses) == (None, None, 0, ["diverged", "failed"])
    assert [p.params["act"] for p in results.rank(rows, "final_acc", "min", ["act"])] == ["sigmoid", "relu", "tanh"]
    assert results.best_point(rows[1:2], "final_acc", "max", ["act"]) is None


def test_ties_go_to_the_point_seen_first():
    rows = [{"u": 8, "final_loss": 0.5}, {"u": 4, "final_loss": 0.5}]
    assert [p.params["u"] for p in results.rank(rows, "final_loss", "min", ["u"])] == [8, 4]


def test_mean_std_of_finite_values():
    assert results.mean_std([1.0, None, "x", math.inf, 3.0]) == (2.0, pytest.approx(math.sqrt(2)), 2)
    assert results.mean_std([5]) == (5.0, None, 1)
    assert results.mean_std([]) == (None, None, 0)


def test_the_catalog_best_point_and_the_sweep_ranking_agree():
    """Three homes once, one now: the catalog's best point is the runner's first ranked point."""
    from nnrun.sweep.runner import rank

    for sweep_folder in sorted((Path(__file__).parent / "fixtures" / "v0").glob("sweep-*")):
        sweep = read_sweep(sweep_folder)
        assert sweep.summary and sweep.parameters
        ranked = rank(sweep.summary, sweep.metric, sweep.mode, sweep.parameters)
        best = sweep.best_point()
        assert {p: best[0].params[p] for p in sweep.parameters} == {p: ranked[0][p] for p in sweep.parameters}
