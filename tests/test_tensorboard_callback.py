"""The TensorBoard callback: event files read back with TensorBoard's own EventAccumulator, checked against
the History of the same fit (layout and tags as Keras's callback writes them)."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

from nnrun.engine.callbacks.tensorboard import MissingDependencyError, TensorBoard  # noqa: E402
from nnrun.errors import InvalidArgumentError  # noqa: E402
from nnrun.layers import Dense  # noqa: E402
from nnrun.models import Sequential  # noqa: E402
from nnrun.optimizers import SGD  # noqa: E402


def read(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def assert_series(acc, tag, steps, values):
    """The tag's steps exactly, its values to float32 precision (event files store float32)."""
    events = acc.Scalars(tag)
    assert [e.step for e in events] == list(steps), tag
    assert [e.value for e in events] == pytest.approx(values, rel=1e-6), tag


def fit(tmp_path, epochs=3, **kwargs):
    rng = np.random.default_rng(0)
    x = rng.random((48, 2), dtype=np.float32)
    y = (x.sum(1) > 1).astype("float32")
    model = Sequential([Dense(3, input_shape=(2,), activation="relu"), Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    callback = TensorBoard(tmp_path / "logs", **kwargs)
    history = model.fit(
        x, y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=0, callbacks=[callback], seed=0
    )
    return model, history.history


def test_epoch_scalars_as_keras_lays_them_out(tmp_path):
    _, history = fit(tmp_path)
    train, val = read(tmp_path / "logs" / "train"), read(tmp_path / "logs" / "validation")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert set(val.Tags()["scalars"]) == {
        "epoch_loss",
        "epoch_accuracy",
        "evaluation_loss_vs_iterations",
        "evaluation_accuracy_vs_iterations",
    }
    for name in ("loss", "accuracy"):
        assert_series(train, f"epoch_{name}", [0, 1, 2], history[name])
        assert_series(val, f"epoch_{name}", [0, 1, 2], history[f"val_{name}"])
        # after each validation pass, at the optimizer's iteration count (36 training rows: 3 batches of 16 per epoch)
        assert_series(val, f"evaluation_{name}_vs_iterations", [3, 6, 9], history[f"val_{name}"])
    assert_series(train, "epoch_learning_rate", [0, 1, 2], [0.001] * 3)
    assert not train.Tags()["histograms"]


def test_model_json_for_the_graph_tab(tmp_path):
    model, _ = fit(tmp_path, epochs=1)
    train = read(tmp_path / "logs" / "train")
    assert train.Tags()["tensors"] == ["keras"]
    (event,) = train.Tensors("keras")
    assert json.loads(event.tensor_proto.string_val[0]) == json.loads(model.to_json())
    assert train.SummaryMetadata("keras").plugin_data.plugin_name == "graph_keras_model"


def test_no_graph_when_write_graph_is_false(tmp_path):
    fit(tmp_path, epochs=1, write_graph=False)
    assert read(tmp_path / "logs" / "train").Tags()["tensors"] == []


def test_weight_histograms_every_histogram_freq_epochs(tmp_path):
    model, _ = fit(tmp_path, epochs=3, histogram_freq=2)
    train = read(tmp_path / "logs" / "train")
    paths = [w.path for layer in model.layers for w in layer.weights]
    assert sorted(train.Tags()["histograms"]) == sorted(f"{p}/histogram" for p in paths)
    kernel = train.Histograms(f"{paths[0]}/histogram")
    assert [e.step for e in kernel] == [0, 2]
    final = model.layers[0].weights[0].value
    assert kernel[-1].histogram_value.num == final.size
    assert kernel[-1].histogram_value.min == pytest.approx(float(final.min()))
    assert kernel[-1].histogram_value.max == pytest.approx(float(final.max()))


def test_batch_scalars_every_update_freq_batches(tmp_path):
    fit(tmp_path, epochs=2, update_freq=3, write_steps_per_second=True)
    train = read(tmp_path / "logs" / "train")
    assert [step for step, _ in scalars(train, "batch_loss")] == [3, 6]
    assert [step for step, _ in scalars(train, "batch_steps_per_second")] == [3, 6]
    assert all(v > 0 for _, v in scalars(train, "epoch_steps_per_second"))


def test_no_batch_scalars_by_default(tmp_path):
    fit(tmp_path, epochs=1)
    assert not any(tag.startswith("batch_") for tag in read(tmp_path / "logs" / "train").Tags()["scalars"])


def test_nan_loss_is_written_as_nan(tmp_path):
    x = np.full((8, 1), 1e3, "float32")
    model = Sequential([Dense(1, input_shape=(1,))])
    model.compile(SGD(learning_rate=1e30), "mse")
    history = model.fit(x, x, epochs=1, batch_size=2, verbose=0, callbacks=[TensorBoard(tmp_path)])
    assert not math.isfinite(history.history["loss"][0])
    ((_, value),) = scalars(read(tmp_path / "train"), "epoch_loss")
    assert not math.isfinite(value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"histogram_freq": -1}, r"histogram_freq must be an integer >= 0 .*Received: histogram_freq=-1"),
        ({"update_freq": "step"}, r"update_freq must be 'epoch', 'batch' or a positive integer.*'step'"),
        ({"update_freq": 0}, r"update_freq=0"),
        ({"write_images": True}, r"write_images is not supported.*write_images=True"),
        ({"profile_batch": 5}, r"profile_batch is not supported.*profile_batch=5"),
        ({"embeddings_freq": 1}, r"embeddings_freq is not supported"),
    ],
)
def test_arguments_are_checked(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        TensorBoard(tmp_path, **kwargs)


def test_get_config_rebuilds_the_callback(tmp_path):
    callback = TensorBoard(str(tmp_path), histogram_freq=2, update_freq="batch")
    assert callback.update_freq == 1
    assert TensorBoard(**callback.get_config()).get_config() == callback.get_config()


def test_without_tensorboardx_the_error_names_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # what an uninstalled package looks like to import
    with pytest.raises(MissingDependencyError, match=r"pip install 'nnrun\[tensorboard\]'"):
        TensorBoard(tmp_path)


def test_keras_import_paths():
    import nnrun as keras
    from nnrun.callbacks import TensorBoard as FromCallbacks

    assert FromCallbacks is TensorBoard and keras.callbacks.TensorBoard is TensorBoard
