"""``nnrun plot`` and ``nnrun runs``, and the catalog they read run and sweep folders with.

Run folders are made by ``nnrun train`` on a tiny synthetic config; sweep folders are written here,
following the sweep folder layout (sweep.yaml, manifest.json, trials/<id>-.../ run folders).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import nnrun.cli.plot as plot_cli
from nnrun.cli import app
from nnrun.config import load_config
from nnrun.experiment import prepare
from nnrun.runs.catalog import (
    RunRecord,
    SweepRecord,
    differing_params,
    is_sweep,
    read_run,
    read_sweep,
    run_label,
    run_labels,
    scan,
)

runner = CliRunner()
ACT, INIT, LR = "model.hidden.activation", "model.hidden.kernel_initializer", "train.optimizer.learning_rate"

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


def invoke(*args, env: dict | None = None):
    return runner.invoke(app, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    """Three real runs of the tiny config: relu / lr 0.1, tanh / lr 0.1, relu / lr 0.01 (oldest first)."""
    root = tmp_path_factory.mktemp("runs")
    config = root.parent / "tiny.yaml"
    config.write_text(TINY)
    for activation, lr in (("relu", 0.1), ("tanh", 0.1), ("relu", 0.01)):
        result = invoke(
            "train", config, "--runs-dir", root, "-q", "--set", f"{ACT}={activation}", "--set", f"{LR}={lr}"
        )
        assert result.exit_code == 0, result.output
    return root


def run_folders(root: Path) -> list[Path]:
    """The run folders, oldest first (the order they were trained in)."""
    return [r.path for r in reversed(scan(root)) if isinstance(r, RunRecord)]


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def resolved(*sets: str) -> dict:
    """The tiny config as a run folder holds it: every default filled in, the hidden defaults in each layer."""
    return prepare(load_config(text=TINY, overrides=list(sets))).config.to_yaml_dict()


def make_sweep(root: Path, name: str = "grid") -> Path:
    """A finished 2 × 2 sweep with 2 repeats: 7 trials ran (one diverged), 1 still pending."""
    folder = root / f"sweep-20260102-030405-{name}"
    base = yaml.safe_load(TINY)
    spec = {ACT: ["relu", "tanh"], INIT: ["zeros", "glorot_uniform"]}
    (folder / "figures").mkdir(parents=True)
    (folder / "sweep.yaml").write_text(
        yaml.safe_dump({"name": name, "config": base, "sweep": {"method": "grid", "parameters": spec, "repeats": 2}})
    )
    trials = []
    n = 0
    for repeat in range(2):
        for activation in spec[ACT]:
            for init in spec[INIT]:
                n += 1
                trial_id = f"{n:04d}"
                params = {ACT: activation, INIT: init}
                entry = {"id": trial_id, "params": params, "repeat": repeat, "seed": 100 + n, "status": "completed"}
                if n == 8:
                    trials.append({**entry, "status": "pending", "folder": None, "reason": None})
                    continue
                good = (0.9 if activation == "relu" else 0.7) - (0.3 if init == "zeros" else 0.0) + 0.02 * repeat
                history = {
                    "loss": [1.0, 1 - good],
                    "accuracy": [0.5, good],
                    "val_loss": [1.1, 1.05 - good],
                    "val_accuracy": [0.45, good - 0.05],
                }
                status = "completed"
                if n == 3:  # diverged in epoch 2
                    history = {k: [v[0], None] for k, v in history.items()}
                    status = "diverged"
                run = folder / "trials" / f"{trial_id}-activation={activation}-kernel_initializer={init}"
                config = resolved(f"{ACT}={activation}", f"{INIT}={init}", f"seed={100 + n}")
                (run.parent).mkdir(parents=True, exist_ok=True)
                run.mkdir()
                (run / "config.yaml").write_text(yaml.safe_dump(config))
                write_json(run / "history.json", history)
                final = {k: v[-1] for k, v in history.items()}
                write_json(run / "metrics.json", {"name": name, "final": final, "status": status, "epochs_run": 2})
                write_json(run / "status.json", {"status": status, "started": f"2026-01-02T03:04:{n:02d}+00:00"})
                trials.append({**entry, "status": status, "folder": str(run.relative_to(folder)), "reason": None})
    manifest = {
        "name": name,
        "metric": "val_accuracy",
        "mode": "max",
        "parameters": [ACT, INIT],
        "repeats": 2,
        "trials": trials,
    }
    write_json(folder / "manifest.json", manifest)
    write_json(folder / "status.json", {"status": "completed", "started": "2026-01-02T03:04:05+00:00"})
    return folder


# --- every command has help -------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plot", "runs"])
def test_commands_have_help(command):
    top = invoke("--help")
    assert top.exit_code == 0 and command in top.output
    result = invoke(command, "--help")
    assert result.exit_code == 0 and f"Usage: nnrun {command}" in result.output


# --- the catalog ------------------------------------------------------------------------------------


def test_read_run_reads_back_what_train_wrote(runs_dir):
    first = run_folders(runs_dir)[0]
    record = read_run(first)
    metrics = json.loads((first / "metrics.json").read_text())
    assert record.name == "tiny-hidden.activation=relu,optimizer.learning_rate=0.1"  # the overrides as typed
    assert record.status == "completed" and record.stop_reason == "completed 2 of 2 epochs"
    assert record.config["model"]["hidden"]["activation"] == "relu"
    assert record.history["val_loss"] == json.loads((first / "history.json").read_text())["val_loss"]
    assert record.final == metrics["final"] and record.started is not None
    assert not is_sweep(first)


def test_read_run_tolerates_an_incomplete_folder(tmp_path):
    folder = tmp_path / "20260101-000000-killed"
    folder.mkdir()
    (folder / "config.yaml").write_text("name: killed\n")
    (folder / "metrics.json").write_text('{"final": {"loss"')  # cut off mid-write
    record = read_run(folder)
    assert (record.name, record.status, record.history, record.metrics, record.final) == (
        "killed",
        "unknown",
        {},
        {},
        {},
    )
    assert record.started is not None and record.started.year == 2026  # from the folder name
    write_json(folder / "status.json", {"status": "running", "started": "2026-01-01T00:00:00+00:00"})
    write_json(folder / "history.json", {"loss": [0.5, None], "val_loss": [0.6, 0.4]})
    record = read_run(folder)
    assert record.status == "running" and record.final == {"loss": None, "val_loss": 0.4}


def test_read_sweep_and_scan(runs_dir, tmp_path):
    sweep = read_sweep(make_sweep(tmp_path))
    assert isinstance(sweep, SweepRecord) and sweep.name == "grid" and sweep.status == "completed"
    assert sweep.parameters == [ACT, INIT] and (sweep.metric, sweep.mode) == ("val_accuracy", "max")
    assert len(sweep.trials) == 8 and len(sweep.runs) == 7
    assert sweep.trials[7].status == "pending" and sweep.trials[7].run is None
    assert sweep.trials[2].run.status == "diverged"
    assert sweep.config["name"] == "tiny"
    best = sweep.best_point()
    assert [t.params for t in best] == [{ACT: "relu", INIT: "glorot_uniform"}] * 2
    assert sweep.summary == []  # this sweep wrote no summary.json

    records = scan(runs_dir)
    assert [r.kind for r in records] == ["run"] * 3
    assert [r.started for r in records] == sorted((r.started for r in records), reverse=True)  # newest first
    both = tmp_path / "both"
    make_sweep(both)
    (both / "not-a-run").mkdir()
    (both / ".hidden").mkdir()
    assert [r.kind for r in scan(both)] == ["sweep"]  # its trials are inside it, not listed on their own


def test_differing_params_flatten_layers_and_collapse_the_hidden_defaults():
    a = {
        "name": "a",
        "seed": 1,
        "model": {"hidden": {"activation": "relu"}, "layers": [{"dense": {"units": 8, "activation": "relu"}}]},
        "train": {"metrics": ["accuracy"]},
    }
    b = {
        "name": "b",
        "seed": 1,
        "model": {"hidden": {"activation": "tanh"}, "layers": [{"dense": {"units": 8, "activation": "tanh"}}]},
        "train": {"metrics": ["accuracy"]},
    }
    assert differing_params([a, b]) == [ACT]  # the layer's copy of the hidden activation is left out; name ignored
    c = {
        **b,
        "model": {
            "hidden": {"activation": "tanh"},
            "layers": [{"dense": {"units": 16, "activation": "sigmoid"}}, {"dense": {"units": 3}}],
        },
    }
    assert differing_params([a, c]) == [
        ACT,
        "model.layers.0.dense.units",
        "model.layers.0.dense.activation",  # set apart from the hidden default: kept
        "model.layers.1.dense.units",  # only c has a second layer
    ]
    d = {**a, "train": {"metrics": ["accuracy", "mae"]}}
    assert differing_params([a, d]) == ["train.metrics"]  # a list of names is one value
    assert differing_params([a, dict(a)]) == []


def test_run_label_and_labels(runs_dir):
    config = {"model": {"hidden": {"activation": "relu"}}, "train": {"optimizer": {"learning_rate": 0.01}}}
    assert run_label(config, [ACT, LR]) == "activation=relu, lr=0.01"
    records = [read_run(p) for p in run_folders(runs_dir)]
    assert run_labels(records) == ["activation=relu, lr=0.1", "activation=tanh, lr=0.1", "activation=relu, lr=0.01"]
    assert run_labels(records[:1] * 2) == [records[0].path.name] * 2  # nothing tells them apart: folder names


# --- nnrun plot -------------------------------------------------------------------------------------


@pytest.fixture
def drawn(monkeypatch) -> dict[Path, object]:
    """The figures ``nnrun plot`` saves, by path (it still saves them)."""
    saved: dict[Path, object] = {}
    real = plot_cli.save_figure

    def spy(figure, path):
        saved[Path(path)] = figure
        return real(figure, path)

    monkeypatch.setattr(plot_cli, "save_figure", spy)
    return saved


def test_plot_one_run_redraws_its_plots_in_its_folder(runs_dir, drawn):
    run = run_folders(runs_dir)[0]
    (run / "loss.png").unlink()
    result = invoke("plot", run)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [str(run / "loss.png"), str(run / "accuracy.png")]
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert drawn[run / "accuracy.png"].axes[0].get_title() == f"{read_run(run).name} — accuracy"


def test_plot_one_metric_to_another_file(runs_dir, tmp_path, drawn):
    run = run_folders(runs_dir)[1]
    result = invoke("plot", run, "--metric", "val_accuracy", "--out", tmp_path / "acc.svg")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / "acc.svg")
    assert "<svg" in (tmp_path / "acc.svg").read_text()
    labels = [t.get_text() for t in drawn[tmp_path / "acc.svg"].axes[0].get_legend().get_texts()]
    assert labels == ["train", "validation"]
    result = invoke("plot", run, "--out", tmp_path / "folder")
    assert result.exit_code == 0 and (tmp_path / "folder" / "loss.png").exists()
    result = invoke("plot", run, "--out", tmp_path / "both.png")
    assert result.exit_code == 2
    assert "--out " in result.output and "has 2 plots (loss, accuracy). Pass --metric" in result.output


def test_plot_several_runs_overlays_them_with_a_legend_of_what_differs(runs_dir, tmp_path, monkeypatch, drawn):
    monkeypatch.chdir(tmp_path)
    runs = run_folders(runs_dir)
    result = invoke("plot", *runs)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "comparison-val_loss.png" and (tmp_path / "comparison-val_loss.png").exists()
    ax = drawn[Path("comparison-val_loss.png")].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "activation=relu, lr=0.1",
        "activation=tanh, lr=0.1",
        "activation=relu, lr=0.01",
    ]
    assert ax.get_ylabel() == "Validation loss"
    result = invoke("plot", *runs[:2], "--metric", "accuracy", "--out", tmp_path / "cmp.pdf")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cmp.pdf").read_bytes()[:4] == b"%PDF"
    legend = [t.get_text() for t in drawn[tmp_path / "cmp.pdf"].axes[0].get_legend().get_texts()]
    assert legend == ["activation=relu", "activation=tanh"]


def test_plot_a_sweep_redraws_its_figures(tmp_path, drawn):
    sweep = make_sweep(tmp_path)
    result = invoke("plot", sweep)
    assert result.exit_code == 0, result.output
    names = sorted(Path(line).name for line in result.output.splitlines())
    assert names == [
        "bars_val_accuracy.png",
        "curves_activation_val_accuracy.png",
        "curves_activation_val_loss.png",
        "curves_kernel_initializer_val_accuracy.png",
        "curves_kernel_initializer_val_loss.png",
        "heatmap_activation_kernel_initializer_val_accuracy.png",
    ]
    assert all((sweep / "figures" / name).exists() for name in names)
    bars = drawn[sweep / "figures" / "bars_val_accuracy.png"].axes[0]
    assert bars.get_yticklabels()[0].get_text() == "relu / glorot_uniform"
    result = invoke("plot", sweep, "--metric", "val_loss", "--out", tmp_path / "elsewhere")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "heatmap_activation_kernel_initializer_val_loss.png").exists()
    bars = drawn[tmp_path / "elsewhere" / "bars_val_loss.png"].axes[0]
    assert bars.get_xlabel() == "Final validation loss (lower is better)"


def test_plot_errors_name_the_path_or_the_metric(runs_dir, tmp_path):
    missing = tmp_path / "nowhere"
    result = invoke("plot", missing)
    assert result.exit_code == 2 and f"no such run or sweep folder: {missing}" in result.output
    result = invoke("plot", tmp_path)
    assert result.exit_code == 2 and f"{tmp_path} is not a run folder or a sweep folder" in result.output
    run = run_folders(runs_dir)[0]
    result = invoke("plot", run, "--metric", "val_acuracy")
    assert result.exit_code == 2
    assert "--metric val_acuracy: " in result.output and "Did you mean 'val_accuracy'?" in result.output
    assert "Available: accuracy, loss, val_accuracy, val_loss, learning_rate." in result.output
    result = invoke("plot", *run_folders(runs_dir)[:2], "--metric", "val_acc")
    assert result.exit_code == 2 and "Did you mean 'val_accuracy'?" in result.output
    sweep = make_sweep(tmp_path / "s")
    result = invoke("plot", sweep, run)
    assert result.exit_code == 2 and "pass one sweep folder on its own" in result.output
    result = invoke("plot", sweep, "--out", tmp_path / "one.png", "--figure", "heatmp")
    assert result.exit_code == 2 and "--figure heatmp: the sweep has no such figure" in result.output
    assert "Did you mean 'heatmap'?" in result.output and not (tmp_path / "one.png").exists()
    result = invoke("plot", run, "--figure", "heatmap")
    assert result.exit_code == 2 and "only a sweep folder has named figures" in result.output
    empty = tmp_path / "20260101-000000-empty"
    empty.mkdir()
    write_json(empty / "status.json", {"status": "failed"})
    result = invoke("plot", empty)
    assert result.exit_code == 2 and f"{empty} has no history to plot yet (status: failed)" in result.output
    assert "Traceback" not in result.output


# --- nnrun runs -------------------------------------------------------------------------------------


@pytest.fixture
def mixed(runs_dir, tmp_path) -> Path:
    """The three real runs, a sweep, and a run killed before its first epoch."""
    root = tmp_path / "mixed"
    root.mkdir()
    for run in run_folders(runs_dir):
        (root / run.name).symlink_to(run)
    make_sweep(root)
    killed = root / "20260101-000000-tiny"
    killed.mkdir()
    (killed / "config.yaml").write_text(yaml.safe_dump(resolved("seed=9")))
    write_json(killed / "status.json", {"status": "running", "started": "2026-01-01T00:00:00+00:00"})
    return root


def csv_rows(output: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output)))


def test_runs_csv_lists_runs_and_sweeps_newest_first(mixed):
    result = invoke("runs", mixed, "--csv")
    assert result.exit_code == 0, result.output
    rows = csv_rows(result.output)
    header = result.output.splitlines()[0].split(",")
    assert header[:7] == ["name", "folder", "started", "kind", "trials", "status", "at_chance"]
    assert header[-4:] == ["loss", "val_loss", "accuracy", "val_accuracy"]
    assert {"seed", ACT, LR} <= set(header) and INIT not in header  # the best point's initializer is the default
    assert [(r["kind"], r["status"]) for r in rows] == [("run", "completed")] * 3 + [
        ("sweep", "completed"),
        ("run", "running"),
    ]
    newest = rows[0]
    metrics = json.loads((Path(newest["folder"]) / "metrics.json").read_text())
    assert float(newest["val_loss"]) == metrics["final"]["val_loss"]  # full precision
    assert (newest[ACT], newest[LR]) == ("relu", "0.01")
    sweep = rows[3]
    assert sweep["trials"] == "8" and sweep["name"] == "grid"
    assert (sweep[ACT], sweep["seed"]) == ("relu", "102")  # its best point (relu, glorot_uniform), first repeat
    assert float(sweep["val_accuracy"]) == pytest.approx((0.85 + 0.87) / 2)  # averaged over the 2 repeats
    killed = rows[4]
    assert killed["val_loss"] == "" and killed["seed"] == "9"


def test_runs_sort_by_a_metric_best_first(mixed):
    rows = csv_rows(invoke("runs", mixed, "--csv", "--sort", "val_loss").output)
    values = [float(r["val_loss"]) for r in rows if r["val_loss"]]
    assert values == sorted(values) and rows[-1]["status"] == "running"  # no value: last
    rows = csv_rows(invoke("runs", mixed, "--csv", "--sort", "val_accuracy").output)
    values = [float(r["val_accuracy"]) for r in rows if r["val_accuracy"]]
    assert values == sorted(values, reverse=True)
    result = invoke("runs", mixed, "--sort", "val_acuracy")
    assert result.exit_code == 2
    assert "--sort val_acuracy: no listed run has a final 'val_acuracy'" in result.output
    assert "Did you mean 'val_accuracy'?" in result.output


def test_runs_table_is_plain_in_a_pipe(mixed):
    result = invoke("runs", mixed, "--wide")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["name", "started", "kind", "status"]
    assert {"activation", "lr", "seed", "loss", "val_accuracy"} <= set(lines[0].split())
    assert "sweep (8 trials)" in result.output and "a sweep shows its best point" in result.output
    assert "\x1b[" not in result.output and "…" not in result.output  # no colour, nothing cut
    assert all(line == line.rstrip() for line in lines)
    running = next(line for line in lines if " running " in line)
    assert running.rstrip().endswith("-")  # no metrics yet


def test_runs_lists_a_sweeps_trials(tmp_path):
    sweep = make_sweep(tmp_path)
    rows = csv_rows(invoke("runs", sweep, "--csv").output)
    assert len(rows) == 7  # the pending trial has no run folder
    assert [(r[ACT], r[INIT]) for r in rows[:2]] == [("relu", "zeros"), ("relu", "glorot_uniform")]  # manifest order
    assert [r["status"] for r in rows].count("diverged") == 1
    rows = csv_rows(invoke("runs", sweep, "--csv", "--sort", "val_accuracy").output)
    assert (rows[0][ACT], rows[0][INIT], rows[0]["seed"]) == ("relu", "glorot_uniform", "106")  # repeat 1 did best


def test_runs_dir_defaults_like_train(runs_dir, tmp_path, monkeypatch):
    result = invoke("runs", "--csv", env={"NNRUN_RUNS_DIR": str(runs_dir)})
    assert result.exit_code == 0 and len(csv_rows(result.output)) == 3
    assert len(csv_rows(invoke("runs", "--csv", "--runs-dir", runs_dir).output)) == 3
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNRUN_RUNS_DIR", raising=False)
    result = invoke("runs")
    assert result.exit_code == 2 and "runs folder runs does not exist" in result.output
    (tmp_path / "runs").mkdir()
    result = invoke("runs")
    assert result.exit_code == 0 and result.output.strip() == "No runs or sweeps in runs."
    assert invoke("runs", "--csv").output.startswith("name,folder,started,kind,trials,status,at_chance\n")


def test_runs_table_in_a_narrow_terminal_cuts_names_not_numbers(mixed):
    from rich.console import Console

    from nnrun.cli.runs import rich_table
    from nnrun.runs.catalog import list_folder, listing

    table = listing(list_folder(mixed))
    console = Console(width=100, force_terminal=True, color_system=None, record=True, file=io.StringIO())
    console.print(rich_table(table, terminal=True, width=100))
    text = console.export_text()
    finals = [row["final"]["val_loss"] for row in table.rows if row["final"]["val_loss"] is not None]
    assert finals and all(f"{value:.4f}" in text for value in finals)
    assert "completed" in text and "sweep (8)" in text
    assert max(len(line) for line in text.splitlines()) <= 100
