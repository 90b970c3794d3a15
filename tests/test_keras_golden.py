"""Conformance with real Keras: replay every fixture in tests/golden/keras/ (see tests/golden/README.md).

Each fixture holds a small model with fixed weights, its data, compile and fit arguments, and what
Keras 3 (JAX backend) produced: histories, batch logs, weights after fit, predict and evaluate. Keras
itself is not needed here. Agreement is to float32 rounding accumulated over a few epochs: rtol 1e-5,
atol 1e-6 (Keras itself moves by up to 1.5e-6 between its jit-compiled and eager modes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nnrun import callbacks as callbacks_module
from nnrun import layers as layers_module
from nnrun import losses, metrics, optimizers, regularizers
from nnrun.models import Model, Sequential

FIXTURES = Path(__file__).parent / "golden" / "keras"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json") if not p.stem.startswith(("summary_", "values_")))
SUMMARIES = sorted(p.stem for p in FIXTURES.glob("summary_*.json"))
RTOL, ATOL = 1e-5, 1e-6


def load(case: str) -> dict:
    return json.loads((FIXTURES / f"{case}.json").read_text())


def build(spec: dict, sequential: bool = False) -> Model:
    """The fixture's model, as Sequential (when asked) or as a functional graph."""
    if sequential:
        model = Sequential(name="sequential")
        model.add(layers_module.Input(shape=tuple(spec["inputs"][0]["shape"])))
        for layer in spec["layers"]:
            model.add(getattr(layers_module, layer["class_name"])(name=layer["name"], **layer["config"]))
        return model
    tensors = {i["name"]: layers_module.Input(shape=tuple(i["shape"]), name=i["name"]) for i in spec["inputs"]}
    for layer in spec["layers"]:
        obj = getattr(layers_module, layer["class_name"])(name=layer["name"], **layer["config"])
        inbound = [tensors[n] for n in layer["inbound"]]
        tensors[layer["name"]] = obj(inbound if obj.multi_input else inbound[0])
    return Model([tensors[i["name"]] for i in spec["inputs"]], tensors[spec["outputs"][0]], name="functional")


def arrays(value, n_inputs: int):
    if n_inputs > 1:
        return [np.asarray(v, "float32") for v in value]
    return np.asarray(value, "float32")


def close(got, want, what: str) -> None:
    np.testing.assert_allclose(np.asarray(got, dtype="float64"), np.asarray(want, dtype="float64"), rtol=RTOL,
                               atol=ATOL, err_msg=what)


def compile_args(spec: dict) -> dict:
    loss = spec["loss"]
    return {
        "loss": losses.get(loss) if isinstance(loss, dict) else loss,
        "optimizer": optimizers.get(spec["optimizer"]),
        "metrics": [metrics.deserialize(m) if isinstance(m, dict) else m for m in spec.get("metrics", [])],
    }


class BatchLogs(callbacks_module.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epochs = getattr(self, "epochs", [])
        self.epochs.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.epochs[-1].append(dict(logs))


def test_there_are_fixtures():
    assert len(CASES) >= 60 and len(SUMMARIES) >= 4


@pytest.mark.parametrize("case", CASES)
def test_matches_keras(case):
    fx = load(case)
    n_inputs = len(fx["model"]["inputs"])
    model = build(fx["model"])
    model.set_weights([np.asarray(w, "float32") for w in fx["initial_weights"]])
    assert [v.path for v in model.weights] == fx["weight_names"]
    model.compile(**compile_args(fx["compile"]))
    x, y = arrays(fx["x"], n_inputs), np.asarray(fx["y"], "float32")
    results, fit = fx["results"], fx["fit"]
    batch_size = fit["batch_size"]

    close(model.predict(x, verbose=0), results["initial_predict"], "initial predict")
    evaluated = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    assert set(evaluated) == set(results["initial_evaluate"])
    for key, value in results["initial_evaluate"].items():
        close(evaluated[key], value, f"initial evaluate {key}")

    kwargs = {"batch_size": batch_size, "epochs": fit["epochs"], "shuffle": fit.get("shuffle", True), "verbose": 0}
    if "validation_split" in fit:
        kwargs["validation_split"] = fit["validation_split"]
    if "validation_data" in fit:
        vd = fit["validation_data"]
        kwargs["validation_data"] = (arrays(vd["x"], n_inputs), np.asarray(vd["y"], "float32"))
    if "sample_weight" in fit:
        kwargs["sample_weight"] = np.asarray(fit["sample_weight"], "float32")
    cbs = [getattr(callbacks_module, c["class_name"])(**c["config"]) for c in fit.get("callbacks", [])]
    recorder = BatchLogs()
    history = model.fit(x, y, callbacks=[recorder, *cbs], **kwargs)

    assert list(history.history) == list(results["history"])
    for key, values in results["history"].items():
        close(history.history[key], values, f"history {key}")
    assert len(recorder.epochs) == len(results["batch_logs"])
    for epoch, (got_epoch, want_epoch) in enumerate(zip(recorder.epochs, results["batch_logs"], strict=True)):
        assert len(got_epoch) == len(want_epoch)
        for got, want in zip(got_epoch, want_epoch, strict=True):
            for key, value in want.items():
                close(got[key], value, f"epoch {epoch} batch log {key}")
    for i, (got, want) in enumerate(zip(model.get_weights(), results["weights_after_fit"], strict=True)):
        close(got, want, f"weight {fx['weight_names'][i]} after fit")
    close(model.predict(x, verbose=0), results["predict"], "predict after fit")
    evaluated = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
    for key, value in results["evaluate"].items():
        close(evaluated[key], value, f"evaluate {key} after fit")
    for cb, want in zip(cbs, results.get("callbacks", []), strict=True):
        for key, value in want.items():
            if key == "final_learning_rate":
                close(model.optimizer.learning_rate, value, "learning rate after ReduceLROnPlateau")
            elif key != "class_name":
                close(getattr(cb, key), value, f"{want['class_name']}.{key}")


@pytest.mark.parametrize("case", SUMMARIES)
def test_summary_matches_keras(case, monkeypatch):
    fx = load(case)
    monkeypatch.setenv("COLUMNS", str(fx.get("columns", 80)))
    spec = fx["model"]
    sequential = len(spec["inputs"]) == 1
    model = build(spec, sequential=sequential)
    if "after fit" in fx["description"] or "_after_fit" in case:
        # as recorded: compile(optimizer=Adam(), loss='binary_crossentropy'), then fit on 12 rows
        model.compile(optimizer="adam", loss="binary_crossentropy")
        x = np.zeros((12, *spec["inputs"][0]["shape"]), "float32")
        model.fit(x, np.zeros((12, 1), "float32"), epochs=1, batch_size=4, verbose=0)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert "".join(lines) == fx["text"]


# -- values without a model: losses, metrics, regularizers, learning-rate schedules (values_*.json) ----------


def _array(value, dtype="float32"):
    return None if value is None else np.asarray(value, dtype)


def test_loss_values_match_keras():
    for entry in load("values_losses")["entries"]:
        spec = entry["loss"]
        what = f"{spec['class_name']}({spec['config']})"
        y, p, w = np.asarray(entry["y_true"]), _array(entry["y_pred"]), _array(entry["sample_weight"])
        loss = losses.deserialize(spec)
        close(loss(y, p), entry["value"], f"{what} value")
        close(loss(y, p, sample_weight=w), entry["value_sample_weight"], f"{what} with sample weights")
        if "value_scalar_weight" in entry:
            close(loss(y, p, sample_weight=2.5), entry["value_scalar_weight"], f"{what} with a scalar weight")
        if "per_sample" in entry:
            none = losses.deserialize({**spec, "config": {**spec["config"], "reduction": None}})
            close(none(y, p), entry["per_sample"], f"{what} reduction=None")


def test_metric_values_match_keras():
    for entry in load("values_metrics")["entries"]:
        spec = entry["metric"]
        what = f"{spec['class_name']}({spec['config']})"
        metric = metrics.deserialize(spec) if spec["class_name"] != "Mean" else metrics.Mean()
        for (y, p, w), want in zip(entry["batches"], entry["results"], strict=True):
            if y is None:  # a reduction metric over values
                metric.update_state(_array(p), sample_weight=_array(w))
            else:
                metric.update_state(_array(y), _array(p), sample_weight=_array(w))
            if want is not None:
                close(metric.result(), want, f"{what} result")
        if "after_reset" in entry:
            metric.reset_state()
            y, p, _ = entry["batches"][1]
            metric.update_state(_array(y), _array(p))
            close(metric.result(), entry["after_reset"], f"{what} after reset_state")


def test_regularizer_values_match_keras():
    for entry in load("values_regularizers")["entries"]:
        spec = entry["regularizer"]
        reg = regularizers.deserialize(spec)
        close(reg(_array(entry["x"])), entry["value"], f"{spec['class_name']}({spec['config']})")
        # Keras keeps l1 and factor as float32 tensors: its config says 0.009999999776482582 for 0.01
        config, want = reg.get_config(), entry["config"]
        assert config.keys() == want.keys()
        for key, value in want.items():
            assert config[key] == (pytest.approx(value, rel=1e-7) if isinstance(value, float) else value)


def test_schedule_values_match_keras():
    schedules = pytest.importorskip("nnrun.engine.optimizers.schedules", reason="learning-rate schedules not built")
    for entry in load("values_schedules")["entries"]:
        spec = entry["schedule"]
        schedule = getattr(schedules, spec["class_name"])(**spec["config"])
        got = [schedule(step) for step in range(len(entry["values"]))]
        close(got, entry["values"], f"{spec['class_name']}({spec['config']})")
