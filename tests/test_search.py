"""Search methods (grid, random, tpe, cmaes), ranges in configs and on the command line, the fingerprint of old
sweeps, and Optuna as an optional extra."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.config.sweep import Distribution, SweepConfig
from nnrun.errors import ConfigError, InvalidArgumentError
from nnrun.sweep import SerialExecutor, open_folder, plan_sweep, run_sweep
from nnrun.sweep.plan import corner_points
from nnrun.sweep.spec import expand, fingerprint, parse_param
from nnrun.sweep.study import load_study

runner = CliRunner()

BASE = """\
name: search
seed: 3
data: {dataset: blobs, n_samples: 240}
model:
  hidden: {activation: relu}
  layers:
    - dense: 8
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.02}
  metrics: [accuracy]
  epochs: 2
  batch_size: 32
  validation_split: 0.25
sweep:
  method: tpe
  trials: 5
  parameters:
    model.hidden.activation: [relu, tanh]
    train.optimizer.learning_rate: {low: 0.001, high: 0.1, log: true}
    model.layers.0.dense: {low: 4, high: 16, step: 4, type: int}
"""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "search.yaml"
    path.write_text(BASE)
    return path


# -- ranges --------------------------------------------------------------------------------------------


def test_ranges_in_the_new_and_the_first_forms():
    log = Distribution(low=1e-4, high=1.0, log=True)
    assert log.is_log and not log.is_int
    stepped = Distribution(low=16, high=512, step=16, type="int")
    assert stepped.is_int and not stepped.is_log
    old = Distribution(distribution="log_uniform", low=1e-4, high=1e-1)
    assert old.is_log
    spec = SweepConfig(method="random", trials=200, seed=1, parameters={"lr": log.model_dump(), "u": stepped.model_dump()})
    draws = expand(spec, 0)
    lrs, units = [t.params["lr"] for t in draws], [t.params["u"] for t in draws]
    assert min(lrs) >= 1e-4 and max(lrs) <= 1.0 and min(lrs) < 1e-3 and max(lrs) > 1e-1  # spread over decades
    assert all(isinstance(u, int) and u % 16 == 0 and 16 <= u <= 512 for u in units)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"low": 0, "high": 1, "log": True}, r"log-scaled range \(log: true\) needs low > 0"),
        ({"low": 1e-3, "high": 1, "log": True, "step": 0.1}, "step and log: true do not go together"),
        ({"low": 1.5, "high": 8, "type": "int"}, r"type: int needs whole numbers. Received: low=1.5"),
        ({"low": 2, "high": 1}, "a range needs low < high"),
        ({"values": [1, 2]}, "a list of values is written as a plain list"),
        ({"distribution": "uniform", "low": 0, "high": 1, "log": True}, "give either distribution: uniform"),
    ],
)
def test_range_errors(values, message):
    with pytest.raises(ValueError, match=message):
        SweepConfig.model_validate({"method": "random", "trials": 2, "parameters": {"a": values}})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"method": "tpe", "parameters": {"a": [1, 2]}}, "method: tpe needs trials: N"),
        ({"method": "cmaes", "trials": 3, "parameters": {"a": [1, 2]}}, "method: cmaes searches numeric ranges"),
        ({"method": "tpe", "trials": 3, "repeats": 2, "parameters": {"a": [1]}}, "repeats applies to method: grid"),
        (
            {"parameters": {"a": [1]}, "pruner": {"name": "median", "n_warmup_step": 2}},
            "'n_warmup_step' is not a parameter of the median pruner.*Did you mean 'n_warmup_steps'",
        ),
        ({"parameters": {"a": [1]}, "pruner": {"name": "asha"}}, "median.*successive_halving.*hyperband"),
    ],
)
def test_method_and_pruner_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        SweepConfig.model_validate(spec)


def test_param_option_takes_ranges():
    assert parse_param("train.optimizer.learning_rate=loguniform(1e-4,1)") == (
        "train.optimizer.learning_rate",
        {"low": 1e-4, "high": 1, "log": True},
    )
    assert parse_param("a=uniform(0, 0.5)") == ("a", {"low": 0, "high": 0.5})
    assert parse_param("units=int(16,512,16)") == ("units", {"low": 16, "high": 512, "type": "int", "step": 16})
    assert parse_param("units=logint(8,1024)") == ("units", {"low": 8, "high": 1024, "log": True, "type": "int"})
    assert parse_param("a=1,2") == ("a", [1, 2])  # lists unchanged
    with pytest.raises(ConfigError, match=r"--param a: a range is loguniform\(LOW,HIGH\).*Received: 'a=uniform\(0\)'"):
        parse_param("a=uniform(0)")
    with pytest.raises(ConfigError, match="with numbers"):
        parse_param("a=uniform(x,1)")


# -- the fingerprint keeps sweeps of the first release resumable ----------------------------------------


def test_fingerprint_of_a_first_release_sweep_is_unchanged():
    raw = {
        "method": "random",
        "trials": 4,
        "parameters": {"lr": {"distribution": "log_uniform", "low": 1e-4, "high": 1e-1}, "act": ["relu", "tanh"]},
    }
    spec = SweepConfig.model_validate(raw)
    base = {"config": {"name": "x"}}
    # what the first release hashed: its keys only, its range fields only
    v0_sweep = {
        "method": "random",
        "parameters": {
            "lr": {"distribution": "log_uniform", "values": None, "low": 1e-4, "high": 1e-1},
            "act": ["relu", "tanh"],
        },
        "trials": 4,
        "repeats": 1,
        "metric": None,
        "mode": "auto",
        "seed": 0,
    }
    blob = json.dumps({"base": base, "sweep": v0_sweep}, sort_keys=True, default=str)
    assert fingerprint(base, spec) == hashlib.sha256(blob.encode()).hexdigest()[:16]
    pruned = SweepConfig.model_validate({**raw, "pruner": {"name": "median"}})
    assert fingerprint(base, pruned) != fingerprint(base, spec)  # a key set away from its default counts
    logged = SweepConfig.model_validate({**raw, "parameters": {"lr": {"low": 1e-4, "high": 1e-1, "log": True}}})
    assert fingerprint(base, logged) != fingerprint(base, spec)


# -- tpe --------------------------------------------------------------------------------------------------


def test_a_search_is_checked_at_its_corners_before_it_runs(config):
    plan = plan_sweep(config)
    assert plan.trials == [] and plan.size == 5
    corners = [t.params for t in corner_points(plan.spec, 3)]
    assert {"model.hidden.activation": "tanh", "train.optimizer.learning_rate": 0.001, "model.layers.0.dense": 4} in (
        corners
    )
    assert any(p["train.optimizer.learning_rate"] == 0.1 for p in corners)
    bad = config.read_text().replace("{low: 4, high: 16, step: 4, type: int}", "{low: -4, high: 16, type: int}")
    config.write_text(bad)
    with pytest.raises(ConfigError, match=r"sweep\.parameters\.model\.layers\.0\.dense.*\(value -4\)"):
        plan_sweep(config)


def test_tpe_sweep_runs_its_budget_and_the_study_matches_the_folder(config, tmp_path):
    plan = plan_sweep(config)
    folder, resumed = open_folder(plan, tmp_path / "runs")
    assert not resumed
    with SerialExecutor() as executor:
        outcome = run_sweep(plan, folder, executor)
    rows = outcome.rows
    assert [r["id"] for r in rows] == ["0001", "0002", "0003", "0004", "0005"]
    assert all(r["status"] == "completed" and r["epochs_run"] == 2 for r in rows)
    for r in rows:
        assert 0.001 <= r["train.optimizer.learning_rate"] <= 0.1
        assert r["model.layers.0.dense"] in (4, 8, 12, 16)
        ran = yaml.safe_load((outcome.folder / r["folder"] / "config.yaml").read_text())
        assert ran["model"]["layers"][0]["dense"]["units"] == r["model.layers.0.dense"]  # the point the study chose
        assert ran["train"]["optimizer"]["learning_rate"] == r["train.optimizer.learning_rate"]
    study = load_study(outcome.folder / "study.db")
    trials = {t.user_attrs["nnrun_id"]: t for t in study.trials}
    assert sorted(trials) == [r["id"] for r in rows]
    for r in rows:
        assert trials[r["id"]].value == pytest.approx(r["final_val_accuracy"])
        assert trials[r["id"]].params["train.optimizer.learning_rate"] == r["train.optimizer.learning_rate"]
    # running it again resumes the finished sweep: nothing more is asked of the study
    plan = plan_sweep(config)
    folder, resumed = open_folder(plan, tmp_path / "runs")
    assert resumed
    with SerialExecutor() as executor:
        again = run_sweep(plan, folder, executor)
    assert again.ran == 0 and len(load_study(outcome.folder / "study.db").trials) == 5


def test_param_ranges_on_the_command_line_and_the_dry_run(config):
    config.write_text(BASE.split("sweep:")[0] + "sweep:\n  method: random\n  trials: 3\n  parameters: {}\n")
    result = runner.invoke(
        app, ["sweep", str(config), "--param", "train.optimizer.learning_rate=loguniform(1e-4,1)", "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "3 trials, ranked by val_accuracy" in result.output
    lrs = [float(line.split("learning_rate=")[1].split()[0]) for line in result.output.splitlines() if "0" in line[:8]]
    assert len(lrs) == 3 and all(1e-4 <= lr <= 1 for lr in lrs)
    config.write_text(BASE)
    result = runner.invoke(app, ["sweep", str(config), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "5 trials chosen by tpe" in result.output and "train.optimizer.learning_rate: {'low': 0.001" in result.output


# -- Optuna is optional -----------------------------------------------------------------------------------


@pytest.fixture
def no_optuna(monkeypatch):
    for name in list(sys.modules):
        if name == "optuna" or name.startswith("optuna."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError


def test_tpe_without_optuna_exits_2_naming_the_extra(config, tmp_path, no_optuna):
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "sweep.method: tpe needs Optuna" in result.output and "pip install 'nnrun[optuna]'" in result.output
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    with pytest.raises(InvalidArgumentError, match=r"sweep.pruner \(median\) needs Optuna"):
        _plan_with_pruner(config)


def _plan_with_pruner(config: Path):
    config.write_text(
        BASE.split("sweep:")[0] + "sweep:\n  parameters:\n    model.hidden.activation: [relu]\n  pruner: {name: median}\n"
    )
    return plan_sweep(config)


def test_grid_and_random_never_need_optuna(config, tmp_path, no_optuna):
    config.write_text(
        BASE.split("sweep:")[0]
        + "sweep:\n  method: random\n  trials: 2\n  parameters:\n    train.optimizer.learning_rate: "
        "{low: 0.001, high: 0.1, log: true}\n"
    )
    result = runner.invoke(app, ["sweep", str(config), "--runs-dir", str(tmp_path / "runs"), "-w", "1", "-q"])
    assert result.exit_code == 0, result.output
    (sweep,) = (tmp_path / "runs").iterdir()
    assert not (sweep / "study.db").exists()


def test_cmaes_without_the_cmaes_package_says_how_to_install(config, monkeypatch):
    pytest.importorskip("optuna")
    monkeypatch.setitem(sys.modules, "cmaes", None)
    config.write_text(
        BASE.replace("method: tpe", "method: cmaes").replace("    model.hidden.activation: [relu, tanh]\n", "")
    )
    with pytest.raises(InvalidArgumentError, match=r"method: cmaes needs the cmaes package.*nnrun\[optuna\]"):
        plan_sweep(config)


# -- figures ----------------------------------------------------------------------------------------------


def test_search_figures_for_a_continuous_parameter():
    from nnrun.report.sweep import draw_sweep_figure, plan_sweep_figures

    rows, histories = [], []
    for i in range(12):
        lr = 10 ** (-4 + 4 * i / 11)  # 1e-4 .. 1: twelve distinct values over four decades
        status = "pruned" if i % 4 == 3 else "completed"
        epochs = 1 if status == "pruned" else 3
        curve = [0.5 + 0.03 * i * (e + 1) / 3 for e in range(epochs)]
        rows.append(
            {
                "id": f"{i + 1:04d}",
                "act": ["relu", "tanh"][i % 2],
                "lr": lr,
                "status": status,
                "final_val_accuracy": curve[-1],
                "epochs_run": epochs,
            }
        )
        histories.append({"loss": [1.0] * epochs, "val_loss": [1.0] * epochs, "val_accuracy": curve})
    planned = {f.name: f for f in plan_sweep_figures(rows, histories, "val_accuracy", ["act", "lr"], "max")}
    assert not any(name.startswith("heatmap_") or name.startswith("curves_lr") for name in planned)  # continuous
    assert {"trials_val_accuracy.png", "val_accuracy_vs_lr.png", "history_val_accuracy.png"} <= set(planned)
    scatter = draw_sweep_figure(planned["val_accuracy_vs_lr.png"], rows, histories).axes[0]
    assert scatter.get_xscale() == "log"
    trials = draw_sweep_figure(planned["trials_val_accuracy.png"], rows, histories).axes[0]
    pruned_lines = [line for line in trials.get_lines() if (line.get_gid() or "").endswith("-pruned")]
    assert len(pruned_lines) == 3 and all(len(line.get_xdata()) == 1 for line in pruned_lines)  # they end early
    assert all(line.get_color() == "#b0b0b0" for line in pruned_lines)  # greyed
    history = draw_sweep_figure(planned["history_val_accuracy.png"], rows, histories).axes[0]
    (best,) = [line for line in history.get_lines() if line.get_gid() == "best"]
    assert list(best.get_ydata()) == sorted(best.get_ydata())  # best so far never gets worse
    if "importance_val_accuracy.png" in planned:  # Optuna and scikit-learn installed
        bars = draw_sweep_figure(planned["importance_val_accuracy.png"], rows, histories).axes[0]
        assert {t.get_text() for t in bars.get_yticklabels()} == {"act", "lr"}


def test_a_stopped_search_is_interrupted_and_resuming_spends_the_rest_of_its_budget(config, tmp_path):
    plan = plan_sweep(config)
    folder, _ = open_folder(plan, tmp_path / "runs")
    with SerialExecutor() as executor:  # Ctrl-C once two trials are recorded
        outcome = run_sweep(plan, folder, executor, should_stop=lambda: sum(t.done for t in folder.manifest.trials) >= 2)
    assert outcome.interrupted and [r["id"] for r in outcome.rows] == ["0001", "0002"]
    assert json.loads((outcome.folder / "status.json").read_text())["status"] == "interrupted"
    plan = plan_sweep(config)
    folder, resumed = open_folder(plan, tmp_path / "runs")
    assert resumed
    with SerialExecutor() as executor:
        again = run_sweep(plan, folder, executor)
    assert not again.interrupted and again.ran == 3 and again.skipped == 2
    assert [r["id"] for r in again.rows] == ["0001", "0002", "0003", "0004", "0005"]
    study = load_study(again.folder / "study.db")
    assert sorted(t.user_attrs["nnrun_id"] for t in study.trials) == ["0001", "0002", "0003", "0004", "0005"]


def test_the_shipped_tpe_config_runs(tmp_path):
    config = Path(__file__).parent.parent / "configs" / "sweep_tpe.yaml"
    runs = tmp_path / "runs"
    args = ["sweep", str(config), "--set", "train.epochs=3", "--set", "sweep.trials=7", "--set",
            "sweep.pruner.n_startup_trials=2", "--runs-dir", str(runs), "-w", "1", "-q"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "7 trials chosen by tpe, ranked by val_accuracy (max), pruned by median" in result.output
    (sweep,) = runs.iterdir()
    summary = json.loads((sweep / "summary.json").read_text())
    assert len(summary) == 7 and {r["status"] for r in summary} <= {"completed", "pruned"}
    assert all(0.003 <= r["train.optimizer.learning_rate"] <= 1.0 for r in summary)
    assert all(r["epochs_run"] == 3 for r in summary if r["status"] == "completed")
    assert all(r["epochs_run"] < 3 for r in summary if r["status"] == "pruned")
    assert (sweep / "study.db").is_file() and len(load_study(sweep / "study.db").trials) == 7
    assert (sweep / "figures" / "val_accuracy_vs_lr.png").is_file()
