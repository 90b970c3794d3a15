"""Sweep specs that used to give silently wrong or runaway results: a swept seed, repeated values, and
grids too large to expand."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.config.sweep import SweepConfig
from nnrun.errors import ConfigError
from nnrun.sweep.plan import plan_sweep
from nnrun.sweep.spec import count_trials, expand

BASE = """\
name: tiny
seed: 11
data: {dataset: blobs, n_samples: 120}
model:
  layers:
    - dense: 4
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
  epochs: 1
  batch_size: 32
  validation_split: 0.25
"""


@pytest.fixture
def base(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(BASE)
    return path


def test_a_swept_seed_is_the_trials_seed_and_repeats_count_from_it(base):
    plan = plan_sweep(base, params=["seed=3,40", "train.batch_size=16,32"])
    assert [(t.params["seed"], t.seed) for t in plan.trials] == [(3, 3), (3, 3), (40, 40), (40, 40)]
    assert [plan.experiment(t.id).config.seed for t in plan.trials] == [3, 3, 40, 40]
    spec = SweepConfig(parameters={"seed": [3, 40]}, repeats=2)
    assert [t.seed for t in expand(spec, base_seed=11)] == [3, 4, 40, 41]
    spec = SweepConfig(parameters={"train.epochs": [1, 2]}, repeats=2)
    assert [t.seed for t in expand(spec, base_seed=11)] == [11, 12, 11, 12]


def test_the_swept_seed_reaches_the_run_folders_and_the_summary(base, tmp_path):
    result = CliRunner().invoke(
        app, ["sweep", str(base), "--param", "seed=3,4", "--runs-dir", str(tmp_path / "runs"), "--executor", "serial"]
    )
    assert result.exit_code == 0, result.output
    (sweep,) = (tmp_path / "runs").iterdir()
    summary = json.loads((sweep / "summary.json").read_text())
    rows = summary["trials"] if isinstance(summary, dict) else summary
    assert [row["seed"] for row in rows] == [3, 4]
    seeds = sorted(json.loads(p.read_text())["seed"] for p in sweep.glob("trials/*/metrics.json"))
    assert seeds == [3, 4]


def test_values_listed_twice_run_once_with_a_warning(base, tmp_path):
    plan = plan_sweep(base, params=["train.batch_size=8,8,16,8"])
    assert [t.params["train.batch_size"] for t in plan.trials] == [8, 16]
    assert plan.warnings == [
        "sweep.parameters.train.batch_size: the value 8 is listed more than once; the sweep runs 2 distinct "
        "values, not 4"
    ]
    result = CliRunner().invoke(app, ["sweep", str(base), "--param", "train.batch_size=8,8,8", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 trials" in result.output
    assert "warning: sweep.parameters.train.batch_size: the value 8 is listed more than once" in result.output


def test_a_million_point_grid_is_refused_before_it_is_expanded(base, tmp_path):
    values = ",".join(str(i) for i in range(1, 1001))
    start = time.perf_counter()
    result = CliRunner().invoke(
        app,
        ["sweep", str(base), "--param", f"train.batch_size={values}", "--param", f"train.epochs={values}", "--dry-run"],
    )
    assert time.perf_counter() - start < 30  # a guard against expanding it, not a timing test
    assert result.exit_code == 2, result.output
    assert (
        "sweep.parameters: the grid has 1,000,000 trials (1000 × 1000); the limit is 10,000. "
        "Sweep fewer values, or raise sweep.max_trials." in result.output
    )
    assert not (tmp_path / "runs").exists()


def test_the_limit_is_configurable_and_counts_repeats(base, tmp_path):
    spec = SweepConfig(parameters={"a": [1, 2, 3], "b": [1, 2]}, repeats=3, max_trials=17)
    assert count_trials(spec) == 18
    with pytest.raises(ConfigError, match=r"the grid has 18 trials \(3 × 2 × 3 repeats\); the limit is 17"):
        expand(spec, 0)
    spec = SweepConfig(method="random", parameters={"a": [1, 2]}, trials=50, max_trials=49)
    with pytest.raises(ConfigError, match=r"sweep.trials: the sweep has 50 trials; the limit is 49"):
        expand(spec, 0)
    base.write_text(BASE + "sweep:\n  max_trials: 3\n  parameters:\n    train.batch_size: [8, 16, 32, 64]\n")
    with pytest.raises(ConfigError, match=r"sweep.parameters \(line \d+\): the grid has 4 trials \(4\); the limit is 3"):
        plan_sweep(base)
