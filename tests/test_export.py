"""``nnrun export``: a run's model as a Keras 3 ``.keras`` file (loaded by real Keras), an ONNX graph (checked and
run by onnxruntime) and nnrun's ``.npz`` weights, each with the run's preprocessing beside it; every
activation and layer the ONNX writer knows, against the engine's own predictions."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.engine import layers
from nnrun.engine.activations import ACTIVATIONS
from nnrun.engine.export_onnx import model_to_onnx
from nnrun.engine.models import Model, Sequential
from nnrun.errors import InvalidArgumentError
from nnrun.inference import load_run
from nnrun.models import model_from_json

FIXTURES = Path(__file__).parent / "fixtures" / "v0"
runner = CliRunner()

DIGITS = """\
name: digits
seed: 5
data: {dataset: mnist_sample, limit: 300}
model:
  hidden: {activation: elu}
  layers:
    - dense: 16
    - batchnorm: {}
    - dropout: 0.3
    - dense: 8
    - batchnorm: {center: false}
    - dense: {units: 10, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: adam
  epochs: 2
  batch_size: 64
"""


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    (tmp / "digits.yaml").write_text(DIGITS)
    result = invoke("train", tmp / "digits.yaml", "--runs-dir", tmp / "runs", "--quiet")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp / "runs").iterdir()
    return folder


@pytest.fixture(scope="module")
def digits():
    from nnrun.data.load import load_dataset

    return load_dataset("mnist_sample").x_test[:200]


@pytest.fixture(scope="module")
def onnxruntime():
    pytest.importorskip("onnx", reason="the onnx package is not installed (pip install 'nnrun[onnx]')")
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: the graph cannot be run")


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError:
        pytest.skip("real Keras is not installed (the .keras check needs keras with a backend, e.g. jax)")
    if keras.backend.backend() != "jax":
        pytest.skip(f"the check runs on Keras's JAX backend; this process uses {keras.backend.backend()}")
    return keras


def run_onnx(ort, path_or_bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


# -- onnx ----------------------------------------------------------------------------------------------------


def test_onnx_export_runs_in_onnxruntime_and_predicts_as_nnrun(run_folder, digits, tmp_path, onnxruntime):
    import onnx

    out = tmp_path / "digits.onnx"
    result = invoke("export", run_folder, "--format", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    proto = onnx.load(out)
    onnx.checker.check_model(proto, full_check=True)
    ops = [n.op_type for n in proto.graph.node]
    assert "BatchNormalization" not in ops and "Dropout" not in ops  # folded / left out for inference
    assert ops.count("Gemm") == 3 and "Flatten" not in ops  # the run flattens in its preprocessing

    run = load_run(run_folder)
    expected = run.predict(digits)
    got = run_onnx(onnxruntime, str(out), run.prepare(digits))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

    beside = json.loads(Path(f"{out}.preprocessing.json").read_text())
    embedded = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(embedded["nnrun.preprocessing"]) == beside
    assert beside["steps"] == ["flatten", "scale"] and beside["scale"] == {"divisor": 255.0}
    assert beside["run"] == run_folder.name and beside["classes"] == list(range(10))


def _activation_names() -> list[str]:
    from nnrun.engine import activations

    return sorted({activations.get(n).name for n in ACTIVATIONS.names()})


@pytest.mark.parametrize("activation", _activation_names())
def test_every_activation_exports_to_onnx(activation, onnxruntime):
    rng = np.random.default_rng(0)
    model = Sequential(
        [
            layers.Input(shape=(3, 4)),
            layers.Dense(5, activation=activation, kernel_initializer="glorot_normal"),  # a 3-D input: MatMul + Add
            layers.Flatten(),
            layers.Dense(6, activation=activation),
            layers.BatchNormalization(),
            layers.Activation(activation),
            layers.Dense(3),
            layers.Softmax(),
        ]
    )
    bn = next(layer for layer in model.layers if isinstance(layer, layers.BatchNormalization))
    bn.moving_mean.value[...] = rng.normal(size=6)
    bn.moving_variance.value[...] = rng.uniform(0.5, 2.0, size=6)
    bn.gamma.value[...] = rng.normal(size=6)
    x = rng.normal(size=(16, 3, 4)).astype(np.float32) * 2
    proto = model_to_onnx(model, {"k": "v"})
    got = run_onnx(onnxruntime, proto.SerializeToString(), x)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_unsupported_layers_and_missing_onnx_are_named(monkeypatch):
    i = layers.Input(shape=(2,))
    functional = Model(i, layers.Dense(1)(i))
    pytest.importorskip("onnx")
    with pytest.raises(InvalidArgumentError, match=r"ONNX export takes Sequential models; .* is a (Model|Functional)"):
        model_to_onnx(functional)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(InvalidArgumentError, match=r"needs the onnx package: pip install 'nnrun\[onnx\]'"):
        model_to_onnx(Sequential([layers.Input(shape=(2,)), layers.Dense(1)]))


def test_cli_without_onnx_says_how_to_install_it(run_folder, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    result = invoke("export", run_folder, "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert result.exit_code == 2
    assert "pip install 'nnrun[onnx]'" in result.output
    assert not (tmp_path / "m.onnx").exists()


# -- keras -----------------------------------------------------------------------------------------------


def test_keras_export_loads_in_real_keras_and_predicts_the_same(run_folder, digits, tmp_path, keras):
    out = tmp_path / "digits.keras"
    result = invoke("export", run_folder, "--format", "keras", "--out", out)
    assert result.exit_code == 0, result.output
    run = load_run(run_folder)
    loaded = keras.saving.load_model(out)
    got = np.asarray(loaded.predict(run.prepare(digits), verbose=0))
    np.testing.assert_allclose(got, run.predict(digits), rtol=1e-5, atol=1e-6)
    beside = json.loads(Path(f"{out}.preprocessing.json").read_text())
    assert beside["input_shape"] == [28, 28] and beside["steps"] == ["flatten", "scale"]


# -- npz ------------------------------------------------------------------------------------------------------


def test_npz_export_rebuilds_with_model_from_json(run_folder, digits, tmp_path):
    out = tmp_path / "digits.npz"
    result = invoke("export", run_folder, "--format", "npz", "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "digits.model.json", "digits.npz", "digits.npz.preprocessing.json",
    ]  # fmt: skip
    model = model_from_json((tmp_path / "digits.model.json").read_text())
    model.load_weights(str(out))
    run = load_run(run_folder)
    np.testing.assert_array_equal(model.predict(run.prepare(digits), batch_size=256, verbose=0), run.predict(digits))


def test_v0_runs_export_with_a_note(tmp_path, onnxruntime):
    folder = tmp_path / "run"
    shutil.copytree(FIXTURES / "20261130-175055-small-mlp-completed", folder)
    result = invoke("export", folder, "--format", "onnx", "--out", tmp_path / "old.onnx")
    assert result.exit_code == 0, result.output
    assert "note: this run has no preprocessing.json" in result.output
    assert json.loads((tmp_path / "old.onnx.preprocessing.json").read_text())["notes"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "tflite", "--out", "m.tflite"], r"--format 'tflite': expected one of keras, onnx, npz"),
        (["--format", "keras", "--out", "m.h5"], r"--out .*m\.h5: a keras export is a '\.keras' file"),
    ],
)
def test_export_refuses_bad_arguments(run_folder, tmp_path, args, message):
    result = invoke("export", run_folder, *[a if not a.startswith("m.") else str(tmp_path / a) for a in args])
    assert result.exit_code == 2
    assert re.search(message, result.output), result.output
