"""After training: the preprocessing recorded with the run, ``nnrun.load_run``, ``nnrun predict`` and
``nnrun evaluate``, on real run folders made by ``nnrun train`` and on the first release's folders
(``tests/fixtures/v0``, copied before anything writes into them). Effects are read back from the files."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnrun
from nnrun.cli import app
from nnrun.config import load_config
from nnrun.data.load import load_dataset
from nnrun.data.preprocess import standardization
from nnrun.errors import DataError
from nnrun.experiment import data_arguments, prepare
from nnrun.inference import RECOMPUTED_NOTE, load_run

FIXTURES = Path(__file__).parent / "fixtures" / "v0"
runner = CliRunner()

BLOBS = """\
name: blobs
seed: 3
data: {dataset: blobs, n_samples: 300, test_split: 0.2, standardize: true}
model:
  hidden: {activation: tanh}
  layers:
    - dense: 16
    - batchnorm: {}
    - dropout: 0.1
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: adam, learning_rate: 0.01}
  epochs: 3
  batch_size: 32
  validation_split: 0.2
"""

DIGITS = """\
name: digits
seed: 1
data: {dataset: mnist_sample, limit: 300}
model:
  layers:
    - dense: 8
    - dense: {units: 10, activation: softmax}
train:
  loss: categorical_crossentropy
  optimizer: adam
  epochs: 1
  batch_size: 64
"""

REGRESSION = """\
name: reg
seed: 2
data: {dataset: regression, n_samples: 200, n_features: 3, test_split: 0.25, standardize: true}
model:
  layers:
    - dense: 8
    - dense: 1
train:
  loss: mse
  optimizer: {name: adam, learning_rate: 0.01}
  epochs: 2
  batch_size: 32
"""


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def train(tmp: Path, name: str, text: str) -> Path:
    config = tmp / f"{name}.yaml"
    config.write_text(text)
    runs = tmp / "runs"
    before = set(runs.iterdir()) if runs.is_dir() else set()
    result = invoke("train", config, "--runs-dir", runs, "--quiet")
    assert result.exit_code == 0, result.output
    (folder,) = set(runs.iterdir()) - before
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("trained")
    return {name: train(tmp, name, text) for name, text in (("blobs", BLOBS), ("digits", DIGITS), ("reg", REGRESSION))}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


# -- what training records ------------------------------------------------------------------------------


def test_training_records_its_preprocessing_and_the_test_set_class_by_class(runs):
    folder = runs["blobs"]
    record = json.loads((folder / "preprocessing.json").read_text())
    assert record["steps"] == ["standardize"] and record["input_shape"] == [2]
    assert record["task"] == "classification" and record["classes"] == [0, 1, 2] and record["one_hot"] is False
    raw = load_dataset("blobs", n_samples=300, test_split=0.2)
    mean, std = standardization(raw.x_train)
    assert record["standardize"]["mean"] == mean.tolist() and record["standardize"]["std"] == std.tolist()

    matrix = np.loadtxt(folder / "confusion_matrix.csv", delimiter=",", skiprows=1, usecols=(1, 2, 3), dtype=int)
    assert matrix.shape == (3, 3) and matrix.sum() == 60
    per_class = read_csv(folder / "per_class.csv")
    assert [r["class"] for r in per_class] == ["0", "1", "2"]
    assert sum(int(r["support"]) for r in per_class) == 60
    assert np.trace(matrix) / 60 == pytest.approx(json.loads((folder / "metrics.json").read_text())["test"]["accuracy"])
    assert (folder / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG")


def test_image_runs_record_flattening_scaling_and_one_hot(runs):
    record = json.loads((runs["digits"] / "preprocessing.json").read_text())
    assert record["steps"] == ["flatten", "scale", "one_hot"]
    assert record["input_shape"] == [28, 28] and record["input_dtype"] == "uint8"
    assert record["scale"] == {"divisor": 255.0} and record["standardize"] is None


def test_a_regression_run_has_no_class_files(runs):
    folder = runs["reg"]
    assert json.loads((folder / "preprocessing.json").read_text())["task"] == "regression"
    assert not (folder / "confusion_matrix.csv").exists() and not (folder / "per_class.csv").exists()


# -- the Python API ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["blobs", "digits", "reg"])
def test_load_run_predicts_as_the_trained_model_and_evaluates_as_training_did(runs, name):
    run = nnrun.load_run(runs[name])
    assert run.notes == [] and run.config.name == name
    experiment = prepare(load_config(runs[name] / "config.yaml"))
    raw = load_dataset(**data_arguments(experiment.config.data))
    # the raw test inputs, prepared by the run's own preprocessing, are exactly what training tested on
    np.testing.assert_array_equal(run.prepare(raw.x_test), experiment.dataset.x_test)
    expected = run.model.predict(experiment.dataset.x_test, batch_size=256, verbose=0)
    np.testing.assert_array_equal(run.predict(raw.x_test), expected)
    evaluation = run.evaluate(raw.x_test, raw.y_test)
    assert evaluation.metrics == json.loads((runs[name] / "metrics.json").read_text())["test"]


def test_predict_classes_and_flattened_rows(runs):
    run = load_run(runs["digits"])
    x = load_dataset("mnist_sample").x_test[:20]
    classes = run.predict_classes(x)
    np.testing.assert_array_equal(classes, run.predict(x).argmax(axis=1))
    np.testing.assert_array_equal(run.predict(x.reshape(20, -1)), run.predict(x))  # rows of 784 pixels
    np.testing.assert_array_equal(run.predict(x[0]), run.predict(x[:1]))  # one sample
    with pytest.raises(DataError, match=r"predict_classes needs a classifier; run .* is a regression"):
        load_run(runs["reg"]).predict_classes(np.zeros((2, 3)))


def test_wrong_inputs_say_what_the_model_takes(runs):
    run = load_run(runs["blobs"])
    with pytest.raises(DataError, match=r"x has 3 features \(shape \(4, 3\)\); this run's model takes 2 features"):
        run.predict(np.zeros((4, 3)))
    with pytest.raises(DataError, match=r"label 7 is not one of this run's 3 classes"):
        run.evaluate(np.zeros((2, 2)), np.array([0, 7]))


# -- nnrun predict ---------------------------------------------------------------------------------------


def test_predict_writes_csv_npy_and_npz(runs, tmp_path):
    folder = runs["blobs"]
    result = invoke("predict", folder, "blobs", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "p.csv")
    assert len(rows) == 60 and list(rows[0]) == ["class", "true", "p_0", "p_1", "p_2"]
    run = load_run(folder)
    source = run.data_source("blobs")
    probabilities = run.predict(source.x)
    for row, p in zip(rows, probabilities):
        assert row["class"] == str(p.argmax())
        np.testing.assert_allclose([float(row[f"p_{i}"]) for i in range(3)], p, rtol=1e-6)

    assert invoke("predict", folder, "blobs", "--out", tmp_path / "p.npy").exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), probabilities)
    assert invoke("predict", folder, "blobs", "--out", tmp_path / "p.npz").exit_code == 0
    with np.load(tmp_path / "p.npz") as z:
        np.testing.assert_array_equal(z["outputs"], probabilities)
        np.testing.assert_array_equal(z["classes"], probabilities.argmax(axis=1))
        assert z["labels"].tolist() == ["0", "1", "2"]


def test_predict_prints_a_short_table_and_writes_nothing(runs):
    before = sorted(p.name for p in runs["blobs"].iterdir())
    result = invoke("predict", runs["blobs"], "blobs")
    assert result.exit_code == 0, result.output
    assert "p_0" in result.output and "50 more rows: --out FILE.csv writes all 60" in result.output
    assert sorted(p.name for p in runs["blobs"].iterdir()) == before


def test_predict_reads_csv_files_with_or_without_labels_and_npz_inputs(runs, tmp_path):
    run = load_run(runs["blobs"])
    x = np.array([[0.1, 0.2], [1.5, -0.3], [-1.0, 1.0]])
    (tmp_path / "new.csv").write_text("a,b\n" + "".join(f"{r[0]},{r[1]}\n" for r in x))
    (tmp_path / "labelled.csv").write_text("a,label,b\n" + "".join(f"{r[0]},1,{r[1]}\n" for r in x))
    np.savez(tmp_path / "x.npz", x=x)
    expected = run.predict(x)
    for name, header in (
        ("new.csv", ["class", "p_0", "p_1", "p_2"]),
        ("labelled.csv", ["class", "true", "p_0", "p_1", "p_2"]),
    ):
        result = invoke("predict", runs["blobs"], tmp_path / name, "--out", tmp_path / f"out-{name}")
        assert result.exit_code == 0, result.output
        rows = read_csv(tmp_path / f"out-{name}")
        assert list(rows[0]) == header
        np.testing.assert_allclose([[float(r[f"p_{i}"]) for i in range(3)] for r in rows], expected, rtol=1e-6)
    result = invoke("predict", runs["blobs"], tmp_path / "x.npz", "--out", tmp_path / "o.npy")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), expected)


def test_predict_regression_writes_values(runs, tmp_path):
    result = invoke("predict", runs["reg"], "regression", "--out", tmp_path / "r.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "r.csv")
    assert list(rows[0]) == ["prediction", "true"] and len(rows) == 50


def test_predict_csv_on_stdout(runs):
    result = invoke("predict", runs["blobs"], "blobs", "--out", "-")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "class,true,p_0,p_1,p_2" and len(lines) == 61


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["predict", "{blobs}", "mnsit"],
            r"DATA 'mnsit' is neither a file nor a known dataset\. Did you mean 'mnist'\?",
        ),
        (
            ["predict", "{blobs}", "{tmp}/bad.csv"],
            r"DATA .*bad\.csv has 3 features \(shape \(2, 3\)\); this run's model takes 2",
        ),
        (["predict", "{tmp}/nothing", "blobs"], r"RUN .*nothing: no such run folder"),
        (
            ["predict", "{tmp}/noweights", "blobs"],
            r"RUN .*noweights: the run has no weights\.npz \(status: failed, boom\)",
        ),
        (["predict", "{blobs}", "blobs", "--out", "{tmp}/p.txt"], r"--out .*p\.txt: unknown file type '\.txt'"),
        (
            ["evaluate", "{blobs}", "--data", "{tmp}/new.csv"],
            r"--data .*new\.csv: .*no 'label' column .*evaluating needs the labels",
        ),
        (["evaluate", "{blobs}", "--name", "a/b"], r"--name 'a/b': an evaluation name is a folder name"),
    ],
)
def test_bad_input_exits_2_naming_the_argument(runs, tmp_path, args, message):
    (tmp_path / "bad.csv").write_text("a,b,c\n1,2,3\n4,5,6\n")
    (tmp_path / "new.csv").write_text("a,b\n1,2\n")
    broken = tmp_path / "noweights"
    broken.mkdir()
    shutil.copy(runs["blobs"] / "config.yaml", broken / "config.yaml")
    (broken / "status.json").write_text(json.dumps({"status": "failed", "stop_reason": "boom"}))
    result = invoke(*(a.format(blobs=runs["blobs"], tmp=tmp_path) for a in args))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert re.search(message, result.output.replace("\n", " ")), result.output


# -- nnrun evaluate --------------------------------------------------------------------------------------


def test_evaluate_records_named_evaluations_and_never_overwrites(tmp_path, runs):
    folder = tmp_path / "run"
    shutil.copytree(runs["blobs"], folder)
    training = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    result = invoke("evaluate", folder)
    assert result.exit_code == 0, result.output
    test = folder / "evaluations" / "test"
    assert sorted(p.name for p in test.iterdir()) == [
        "confusion_matrix.csv", "confusion_matrix.png", "metrics.json", "per_class.csv",
    ]  # fmt: skip
    record = json.loads((test / "metrics.json").read_text())
    assert record["metrics"] == json.loads((folder / "metrics.json").read_text())["test"]
    assert record["samples"] == 60 and record["data"].startswith("the run's test set: 60 rows")
    assert (test / "per_class.csv").read_bytes() == (folder / "per_class.csv").read_bytes()

    assert invoke("evaluate", folder).exit_code == 0
    assert (folder / "evaluations" / "test-2" / "metrics.json").is_file()
    (tmp_path / "more.csv").write_text("a,b,label\n0.1,0.2,0\n1.5,-0.3,1\n")
    result = invoke("evaluate", folder, "--data", tmp_path / "more.csv", "--name", "more")
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "evaluations" / "more" / "metrics.json").read_text())["samples"] == 2
    again = invoke("evaluate", folder, "--data", tmp_path / "more.csv", "--name", "more")
    assert again.exit_code == 2 and "already holds an evaluation" in again.output and "--overwrite" in again.output
    assert invoke("evaluate", folder, "--name", "more", "--overwrite").exit_code == 0
    assert json.loads((folder / "evaluations" / "more" / "metrics.json").read_text())["samples"] == 60
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == training


def test_evaluate_a_regression_run(tmp_path, runs):
    folder = tmp_path / "reg"
    shutil.copytree(runs["reg"], folder)
    result = invoke("evaluate", folder)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (folder / "evaluations" / "test").iterdir())
    assert files == ["metrics.json"]
    metrics = json.loads((folder / "evaluations" / "test" / "metrics.json").read_text())["metrics"]
    assert set(metrics) == {"loss", "mae"}


# -- the first release's folders ---------------------------------------------------------------------------


@pytest.fixture
def v0(tmp_path) -> Path:
    copy = tmp_path / "v0"
    shutil.copytree(FIXTURES, copy)
    return copy


def test_v0_runs_recompute_their_preprocessing_and_evaluate_as_they_were_tested(v0):
    folder = v0 / "20261130-175055-small-mlp-completed"
    run = load_run(folder)
    assert run.notes == [RECOMPUTED_NOTE]
    assert (
        run.preprocessing.scale_divisor == 255
        and run.preprocessing.flatten
        and run.preprocessing.input_shape == (28, 28)
    )
    result = invoke("evaluate", folder)
    assert result.exit_code == 0, result.output
    assert "note: this run has no preprocessing.json" in result.output
    record = json.loads((folder / "evaluations" / "test" / "metrics.json").read_text())
    tested = json.loads((folder / "metrics.json").read_text())["test"]
    assert record["metrics"] == pytest.approx(tested, rel=1e-6)
    assert record["notes"] == [RECOMPUTED_NOTE]
    assert not (folder / "preprocessing.json").exists()  # an old folder is read, not rewritten


def test_v0_runs_predict(v0, tmp_path):
    folder = v0 / "20261130-175334-small-mlp-interrupted"
    result = invoke("predict", folder, "mnist_sample", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "p.csv")
    assert len(rows) == 1000 and list(rows[0])[:3] == ["class", "true", "p_0"]
    accuracy = np.mean([r["class"] == r["true"] for r in rows])
    assert accuracy == pytest.approx(json.loads((folder / "metrics.json").read_text())["test"]["accuracy"], abs=1e-6)


def test_v0_sweep_trials_predict_on_files_and_refuse_their_training_rows(v0, tmp_path):
    trial = v0 / "sweep-20261130-175057-moons-sweep" / "trials" / "0003-activation=relu-learning_rate=0.1"
    result = invoke("predict", trial, "moons")
    assert result.exit_code == 2
    assert "hold out no test set" in result.output
    (tmp_path / "points.csv").write_text("x0,x1\n0.0,0.5\n1.0,-0.4\n")
    result = invoke("predict", trial, tmp_path / "points.csv", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    rows = read_csv(tmp_path / "p.csv")
    assert list(rows[0]) == ["class", "p_0", "p_1"]  # one sigmoid unit: the probability of class 1 and its complement
    for row in rows:
        p0, p1 = float(row["p_0"]), float(row["p_1"])
        assert p0 + p1 == pytest.approx(1.0) and row["class"] == ("1" if p1 > 0.5 else "0")


def _write_idx(path: Path, array: np.ndarray) -> None:
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + dims + array.astype(np.uint8).tobytes())


def test_predict_and_evaluate_on_an_idx_folder_use_its_test_files(runs, tmp_path):
    data = load_dataset("mnist_sample")
    folder = tmp_path / "idx"
    folder.mkdir()
    _write_idx(folder / "train-images-idx3-ubyte", data.x_train[:4])
    _write_idx(folder / "train-labels-idx1-ubyte", data.y_train[:4])
    _write_idx(folder / "t10k-images-idx3-ubyte", data.x_test[:6])
    _write_idx(folder / "t10k-labels-idx1-ubyte", data.y_test[:6])
    result = invoke("predict", runs["digits"], folder, "--out", tmp_path / "p.npz")
    assert result.exit_code == 0, result.output
    run = load_run(runs["digits"])
    with np.load(tmp_path / "p.npz") as z:
        np.testing.assert_array_equal(z["outputs"], run.predict(data.x_test[:6]))
        np.testing.assert_array_equal(z["true"], data.y_test[:6])
