"""Record what real Keras 3 does, as golden JSON fixtures for nnrun's test-suite.

Every case builds a small model with explicitly set weights (deterministic formulas, never Keras's
random initializers), compiles it, fits it on fixed data with ``shuffle=False`` and records the
predictions, evaluations, history, per-batch logs and weights. The test-suite reads the JSON files
without Keras installed; only this tool needs Keras. Usage (see tests/golden/README.md):

    KERAS_BACKEND=jax <keras-venv>/bin/python tools/make_keras_golden.py [--out tests/golden/keras]
        [--cases PATTERN ...] [--check-reference path/to/keras-semantics.md]

``--check-reference`` re-runs the reference experiment of section 9 of the semantics file for every
optimizer printed there and compares the numbers (exit status 1 on a mismatch).
"""

import argparse
import fnmatch
import io
import json
import math
import os
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path

import jax
import keras
import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "keras"
SUMMARY_COLUMNS = (80, 200)  # terminal widths the summary fixtures are recorded at

# ---------------------------------------------------------------------------------------------
# Deterministic data and weights
# ---------------------------------------------------------------------------------------------


def grid(shape, mult=7, mod=11, shift=5.0, scale=5.0):
    """float32 array of ``((i * mult) % mod - shift) / scale`` for i = 0, 1, ... in row-major order."""
    i = np.arange(math.prod(shape))
    return (((i * mult) % mod - shift) / scale).reshape(shape).astype("float32")


def binary_labels(x):
    """(n, 1) float32 0/1 labels from a fixed linear rule on the features."""
    w = grid((x.shape[-1], 1), mult=5, mod=7, shift=3, scale=3)
    return (x @ w + 0.1 > 0).astype("float32")


def class_labels(x, classes=3):
    """(n,) int32 class labels: argmax of a fixed linear map of the features."""
    m = grid((x.shape[-1], classes), mult=5, mod=7, shift=3, scale=2)
    return np.argmax(x @ m, axis=1).astype("int32")


def regression_targets(x, outputs=2):
    """(n, outputs) float32 targets: a fixed linear map plus a small fixed offset pattern."""
    a = grid((x.shape[-1], outputs), mult=3, mod=7, shift=3, scale=2)
    return (x @ a + grid((len(x), outputs), mult=3, mod=5, shift=2, scale=10)).astype("float32")


def fixed_weight(name, shape, index):
    """Deterministic value for the ``index``-th weight of a model, chosen by the weight's role."""
    i = np.arange(math.prod(shape)).reshape(shape)
    if name == "kernel":  # (fan_in, units)
        values = ((i * 7 + 3 * index) % 11 - 5) / (5 * math.sqrt(shape[0]))
    elif name == "bias":
        values = ((i + index) % 5 - 2) / 20
    elif name == "gamma":
        values = 1 + (i % 3 - 1) / 10
    elif name == "beta":
        values = ((i + 1) % 3 - 1) / 20
    elif name == "moving_mean":
        values = (i % 4 - 1.5) / 10
    elif name == "moving_variance":
        values = 1 + (i % 3) / 4
    else:
        raise ValueError(f"No fixed-weight formula for a weight named {name!r}")
    return values.astype("float32")


def fixed_weights(model):
    """Weights for every variable of ``model``, in ``model.get_weights()`` order."""
    return [fixed_weight(v.name, tuple(v.shape), j) for j, v in enumerate(model.weights)]


# ---------------------------------------------------------------------------------------------
# Model specs: the JSON "model" layout, and the Keras model built from it
# ---------------------------------------------------------------------------------------------


def layer(name, class_name, inbound=None, **config):
    """One entry of model["layers"]; ``config`` holds only constructor arguments (Keras names)."""
    return {"name": name, "class_name": class_name, "config": config, "inbound": inbound}


def chain(input_shape, *layers):
    """Spec of a single-input stack: each layer is fed by the one before it."""
    previous = "input_a"
    for entry in layers:
        entry["inbound"] = [previous]
        previous = entry["name"]
    return {"inputs": [{"name": "input_a", "shape": list(input_shape)}],
            "layers": list(layers), "outputs": [previous]}


def graph(inputs, *layers):
    """Spec of a functional graph; ``inputs`` maps input names to shapes, the last layer is the output."""
    return {"inputs": [{"name": n, "shape": list(s)} for n, s in inputs.items()],
            "layers": list(layers), "outputs": [layers[-1]["name"]]}


def dense(name, units, activation=None, **config):
    if activation is not None:
        config["activation"] = activation
    return layer(name, "Dense", units=units, **config)


def is_chain(spec):
    names = [spec["inputs"][0]["name"]] + [entry["name"] for entry in spec["layers"]]
    return len(spec["inputs"]) == 1 and all(
        entry["inbound"] == [names[k]] for k, entry in enumerate(spec["layers"]))


def build_model(spec):
    """A keras.Sequential for a single-input chain, else a functional keras.Model."""
    inputs = [keras.Input(shape=tuple(i["shape"]), name=i["name"]) for i in spec["inputs"]]
    layers = [getattr(keras.layers, e["class_name"])(name=e["name"], **e["config"])
              for e in spec["layers"]]
    if is_chain(spec):
        return keras.Sequential([inputs[0], *layers])
    tensors = {i["name"]: t for i, t in zip(spec["inputs"], inputs)}
    for entry, keras_layer in zip(spec["layers"], layers):
        args = [tensors[n] for n in entry["inbound"]]
        tensors[entry["name"]] = keras_layer(args if len(args) > 1 else args[0])
    outputs = [tensors[n] for n in spec["outputs"]]
    return keras.Model(inputs=inputs, outputs=outputs if len(outputs) > 1 else outputs[0])


def build_object(module, spec):
    """A string passes through; {"class_name", "config"} becomes ``module.<class_name>(**config)``."""
    if isinstance(spec, str):
        return spec
    return getattr(module, spec["class_name"])(**spec["config"])


def obj(class_name, **config):
    return {"class_name": class_name, "config": config}


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------


def f32(value):
    """Numbers as JSON-ready Python values: floats via float32 (exact round-trip), ints unchanged."""
    if isinstance(value, dict):
        return {str(k): f32(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [f32(v) for v in value]
    array = np.asarray(value)
    if array.dtype.kind in "iub":
        return array.tolist()
    array = array.astype("float32")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"Non-finite value recorded: {array}")
    return array.tolist()


class Recorder(keras.callbacks.Callback):
    """Keeps the logs of every on_train_batch_end (grouped per epoch) and, optionally, the weights."""

    def __init__(self, weights_per_step=False):
        super().__init__()
        self.batch_logs = []
        self.weights = [] if weights_per_step else None

    def on_epoch_begin(self, epoch, logs=None):
        self.batch_logs.append([])

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs[-1].append({k: float(np.float32(v)) for k, v in (logs or {}).items()})
        if self.weights is not None:
            self.weights.append(f32(self.model.get_weights()))


def callback_state(callback):
    """The attributes of a Keras callback worth checking after fit."""
    if isinstance(callback, keras.callbacks.EarlyStopping):
        return {"class_name": "EarlyStopping", "stopped_epoch": int(callback.stopped_epoch),
                "best_epoch": int(callback.best_epoch), "best": float(np.float32(callback.best))}
    if isinstance(callback, keras.callbacks.ReduceLROnPlateau):
        lr = callback.model.optimizer.learning_rate
        return {"class_name": "ReduceLROnPlateau", "final_learning_rate": float(np.float32(lr))}
    raise ValueError(f"No state recorder for {type(callback).__name__}")


def fit_json(fit_spec):
    """The fit arguments as JSON: arrays through f32, hyperparameters exactly as passed."""
    arrays = ("sample_weight", "validation_data")
    return {k: f32(v) if k in arrays else v for k, v in fit_spec.items()}


_selection = ["*"]  # fnmatch patterns of the cases to record, set by main()


def selected(case):
    return any(fnmatch.fnmatch(case, pattern) for pattern in _selection)


def header(case, description):
    return {"case": case, "description": description, "keras_version": keras.__version__,
            "backend": keras.backend.backend(), "backend_version": jax.__version__}


def record_case(case, description, spec, compile_spec, fit_spec, x, y, weights=None,
                weights_per_step=False):
    """Build, set weights, compile, predict/evaluate, fit, predict/evaluate; return the JSON dict.

    ``fit_spec`` holds the keyword arguments of fit (batch_size, epochs, validation_split,
    validation_data as {"x", "y"}, sample_weight, callbacks as [{"class_name", "config"}]);
    shuffle=False is always used. evaluate/predict use the fit batch size and no sample weights.
    """
    if not selected(case):
        return None
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = build_model(spec)
    model.set_weights(weights if weights is not None else fixed_weights(model))
    initial_weights = f32(model.get_weights())
    model.compile(optimizer=build_object(keras.optimizers, compile_spec["optimizer"]),
                  loss=build_object(keras.losses, compile_spec["loss"]),
                  metrics=[build_object(keras.metrics, m) for m in compile_spec.get("metrics") or []])
    batch_size = fit_spec["batch_size"]
    fit_spec = {**fit_spec, "shuffle": False}
    initial_predict = model.predict(x, batch_size=batch_size, verbose=0)
    initial_evaluate = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)

    recorder = Recorder(weights_per_step)
    callbacks = [build_object(keras.callbacks, c) for c in fit_spec.get("callbacks", [])]
    kwargs = {k: v for k, v in fit_spec.items() if k not in ("callbacks", "validation_data")}
    if "validation_data" in fit_spec:
        kwargs["validation_data"] = (fit_spec["validation_data"]["x"],
                                     fit_spec["validation_data"]["y"])
    history = model.fit(x, y, verbose=0, callbacks=[recorder, *callbacks], **kwargs)

    results = {
        "initial_predict": f32(initial_predict),
        "initial_evaluate": f32(initial_evaluate),
        "history": f32(history.history),
        "batch_logs": recorder.batch_logs,
        "weights_after_fit": f32(model.get_weights()),
        "predict": f32(model.predict(x, batch_size=batch_size, verbose=0)),
        "evaluate": f32(model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)),
    }
    if callbacks:
        results["callbacks"] = [callback_state(c) for c in callbacks]
    if weights_per_step:
        results["weights_per_step"] = recorder.weights
    return {
        **header(case, description),
        "model": spec,
        "weight_names": [v.path.removeprefix(f"{model.name}/") for v in model.weights],
        "initial_weights": initial_weights,
        "compile": compile_spec,
        "fit": fit_json(fit_spec),
        "x": f32(x),
        "y": f32(y),
        "results": results,
    }


def capture_summary(model, columns):
    """``model.summary()`` text with the terminal width set to ``columns`` (COLUMNS env var)."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    lines = []
    try:
        with redirect_stdout(io.StringIO()):
            model.summary(print_fn=lines.append)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return "".join(lines)


def record_summary(case, description, spec, columns, fit=None):
    """Summary fixture; ``fit`` = (x, y, optimizer spec) compiles and fits first (bce, 1 epoch)."""
    if not selected(case):
        return None
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = build_model(spec)
    model.set_weights(fixed_weights(model))
    how = (f"model.summary(print_fn=lines.append) with environment COLUMNS={columns}, not a tty; "
           f"text = ''.join(lines)")
    if fit is not None:
        x, y, optimizer = fit
        model.compile(optimizer=build_object(keras.optimizers, optimizer),
                      loss="binary_crossentropy")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        how += (f"; after compile(optimizer=keras.optimizers.{optimizer_label(optimizer)}, "
                f"loss='binary_crossentropy') and fit(x, y, batch_size=4, epochs=1) on {len(x)} rows")
    return {**header(case, description), "model": spec, "columns": columns,
            "how": how, "text": capture_summary(model, columns)}


# ---------------------------------------------------------------------------------------------
# Case families
# ---------------------------------------------------------------------------------------------

REF9_X = grid((8, 3))
REF9_Y = np.array([0, 1, 1, 0, 1, 0, 0, 1], "float32").reshape(8, 1)


def ref9_spec():
    return chain((3,), dense("dense", 4, "relu"), dense("dense_1", 1, "sigmoid"))


def ref9_weights():
    return [grid((3, 4), mult=7, mod=12, shift=5.5, scale=10),
            (np.arange(4) * 0.1 - 0.15).astype("float32"),
            ((np.arange(4).reshape(4, 1) - 1.5) / 5).astype("float32"),
            np.array([0.05], "float32")]


def binary_compile(optimizer, loss="binary_crossentropy", metrics=("accuracy",)):
    return {"loss": loss, "optimizer": optimizer, "metrics": list(metrics)}


# The optimizers printed in section 9 of the semantics file, with their heading there.
REF9_OPTIMIZERS = {
    "sgd_nesterov": obj("SGD", learning_rate=0.1, momentum=0.9, nesterov=True),
    "rmsprop": obj("RMSprop"),
    "adagrad": obj("Adagrad"),
    "adadelta": obj("Adadelta", learning_rate=1.0),
    "adam": obj("Adam"),
    "adamax": obj("Adamax"),
    "nadam": obj("Nadam"),
}


def reference_cases():
    """Section 9 of the semantics file: the reference experiment, one case per optimizer."""
    for key, optimizer in REF9_OPTIMIZERS.items():
        yield record_case(
            f"ref9_{key}", f"Section 9 reference experiment with {optimizer_label(optimizer)}",
            ref9_spec(), binary_compile(optimizer), {"batch_size": 4, "epochs": 3},
            REF9_X, REF9_Y, weights=ref9_weights(), weights_per_step=True)


OPTIMIZER_CASES = {
    "sgd": obj("SGD", learning_rate=0.5),
    "sgd_momentum": obj("SGD", learning_rate=0.2, momentum=0.9),
    "sgd_nesterov": obj("SGD", learning_rate=0.2, momentum=0.9, nesterov=True),
    "rmsprop": obj("RMSprop", learning_rate=0.01),
    "rmsprop_centered_momentum": obj("RMSprop", learning_rate=0.01, rho=0.8, momentum=0.5,
                                     centered=True),
    "adagrad": obj("Adagrad", learning_rate=0.2),
    "adadelta": obj("Adadelta", learning_rate=1.0),
    "adam": obj("Adam", learning_rate=0.02),
    "adam_amsgrad": obj("Adam", learning_rate=0.02, beta_2=0.9, amsgrad=True),
    "adamax": obj("Adamax", learning_rate=0.02),
    "nadam": obj("Nadam", learning_rate=0.02),
    "adamw": obj("AdamW", learning_rate=0.02, weight_decay=0.1),
    "sgd_clipnorm": obj("SGD", learning_rate=0.5, clipnorm=0.05),
    "adam_clipvalue": obj("Adam", learning_rate=0.02, clipvalue=0.01),
    "rmsprop_global_clipnorm": obj("RMSprop", learning_rate=0.01, global_clipnorm=0.05),
    "sgd_weight_decay": obj("SGD", learning_rate=0.5, weight_decay=0.1),
    "adam_weight_decay": obj("Adam", learning_rate=0.02, weight_decay=0.1),
}


def optimizer_label(optimizer):
    args = ", ".join(f"{k}={v!r}" for k, v in optimizer["config"].items())
    return f"{optimizer['class_name']}({args})"


def optimizer_cases():
    """Every optimizer (and clipping / weight decay) on the section 9 model and data, 4 epochs."""
    for key, optimizer in OPTIMIZER_CASES.items():
        yield record_case(
            f"optimizer_{key}", f"{optimizer_label(optimizer)} on the section 9 model, 8 steps",
            ref9_spec(), binary_compile(optimizer), {"batch_size": 4, "epochs": 4},
            REF9_X, REF9_Y, weights=ref9_weights())


LOSS_X = grid((12, 3))
SGD_LOSS = obj("SGD", learning_rate=0.5)


def classifier_spec(units, activation):
    return chain((3,), dense("dense", 4, "tanh"), dense("dense_1", units, activation))


def loss_cases():
    """Every loss with its output activation and label format; 12 rows, batch 4, SGD(0.5)."""
    y_bin = binary_labels(LOSS_X)
    y_int = class_labels(LOSS_X)
    y_onehot = np.eye(3, dtype="float32")[y_int]
    y_reg = regression_targets(LOSS_X)
    fit = {"batch_size": 4, "epochs": 3}
    cases = [
        ("bce", "binary_crossentropy, sigmoid output, (n,1) labels", 1, "sigmoid",
         "binary_crossentropy", ["accuracy"], y_bin),
        ("bce_from_logits", "BinaryCrossentropy(from_logits=True), linear output", 1, None,
         obj("BinaryCrossentropy", from_logits=True), ["accuracy"], y_bin),
        ("bce_label_smoothing", "BinaryCrossentropy(label_smoothing=0.2), sigmoid output", 1,
         "sigmoid", obj("BinaryCrossentropy", label_smoothing=0.2), ["accuracy"], y_bin),
        ("cce", "categorical_crossentropy, softmax output, one-hot labels", 3, "softmax",
         "categorical_crossentropy", ["accuracy"], y_onehot),
        ("cce_label_smoothing", "CategoricalCrossentropy(label_smoothing=0.2), softmax", 3,
         "softmax", obj("CategoricalCrossentropy", label_smoothing=0.2), ["accuracy"], y_onehot),
        ("cce_from_logits", "CategoricalCrossentropy(from_logits=True), linear output", 3, None,
         obj("CategoricalCrossentropy", from_logits=True), ["accuracy"], y_onehot),
        ("sparse_cce", "sparse_categorical_crossentropy, softmax, int labels of shape (n,)", 3,
         "softmax", "sparse_categorical_crossentropy", ["accuracy"], y_int),
        ("sparse_cce_column", "sparse_categorical_crossentropy, softmax, int labels (n,1)", 3,
         "softmax", "sparse_categorical_crossentropy", ["accuracy"], y_int.reshape(-1, 1)),
        ("sparse_cce_from_logits", "SparseCategoricalCrossentropy(from_logits=True), linear", 3,
         None, obj("SparseCategoricalCrossentropy", from_logits=True), ["accuracy"], y_int),
        ("mse", "mse on a 2-unit linear output, metrics mse and mae", 2, None, "mse",
         ["mse", "mae"], y_reg),
        ("mae", "mae on a 2-unit linear output, metrics mse and mae", 2, None, "mae",
         ["mse", "mae"], y_reg),
        ("huber", "huber (delta 1) on a 2-unit linear output", 2, None, "huber",
         ["mse", "mae"], y_reg),
        ("huber_delta", "Huber(delta=0.5) on a 2-unit linear output", 2, None,
         obj("Huber", delta=0.5), ["mse", "mae"], y_reg),
        ("mean_squared_error_names", "loss mean_squared_error, metrics by long names", 2, None,
         "mean_squared_error", ["mean_squared_error", "mean_absolute_error"], y_reg),
        ("bce_metrics_acc_mse_mae", "binary_crossentropy with metrics acc, mse, mae", 1,
         "sigmoid", "binary_crossentropy", ["acc", "mse", "mae"], y_bin),
        ("mse_metric_accuracy", "mse on a 1-unit linear output with 0/1 targets and accuracy", 1,
         None, "mse", ["accuracy"], y_bin),
    ]
    for key, description, units, activation, loss, metrics, y in cases:
        yield record_case(f"loss_{key}", description, classifier_spec(units, activation),
                          binary_compile(SGD_LOSS, loss, metrics), fit, LOSS_X, y)


ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "softmax", "elu", "selu", "leaky_relu",
               "gelu", "softplus", "softsign", "swish", "silu", "hard_sigmoid", "exponential"]


def activation_cases():
    """A hidden Dense(4) with each activation, then Dense(1, sigmoid); bce, SGD(0.5)."""
    y = binary_labels(LOSS_X)
    fit = {"batch_size": 4, "epochs": 3}
    for name in ACTIVATIONS:
        spec = chain((3,), dense("dense", 4, name), dense("dense_1", 1, "sigmoid"))
        yield record_case(f"activation_{name}", f"hidden Dense(4, activation='{name}')", spec,
                          binary_compile(SGD_LOSS), fit, LOSS_X, y)
    spec = chain((3,), dense("dense", 4), layer("activation", "Activation", activation="elu"),
                 dense("dense_1", 1, "sigmoid"))
    yield record_case("activation_layer_elu", "Dense(4) -> Activation('elu') -> Dense(1)", spec,
                      binary_compile(SGD_LOSS), fit, LOSS_X, y)


def bn_spec(dense_config=None, **bn_config):
    return chain((3,), dense("dense", 4, **(dense_config or {})),
                 layer("batch_normalization", "BatchNormalization", **bn_config),
                 dense("dense_1", 1, "sigmoid"))


def batchnorm_cases():
    """Dense -> BatchNormalization -> Dense; moving statistics are part of the weights.

    The loss does not depend on the bias of a Dense feeding BatchNormalization (BN subtracts
    the batch mean), so its gradient is rounding noise: harmless with SGD (the bias moves by
    ~1e-9), but Adam normalises noise into full-size steps, so the Adam case drops that bias.
    """
    y = binary_labels(LOSS_X)
    fit = {"batch_size": 4, "epochs": 3}
    opt = obj("SGD", learning_rate=0.3)
    cases = [
        ("default", "BatchNormalization() with defaults", {}),
        ("momentum_epsilon_no_center",
         "BatchNormalization(momentum=0.9, epsilon=0.01, center=False)",
         {"momentum": 0.9, "epsilon": 1e-2, "center": False}),
        ("no_scale", "BatchNormalization(momentum=0.9, scale=False)",
         {"momentum": 0.9, "scale": False}),
    ]
    for key, description, config in cases:
        yield record_case(f"batchnorm_{key}", description, bn_spec(**config),
                          binary_compile(opt), fit, LOSS_X, y)
    yield record_case("batchnorm_adam_partial_batch",
                      "Dense(use_bias=False) -> BatchNormalization(momentum=0.8) with Adam; "
                      "11 rows, batch 4 (last batch of 3)",
                      bn_spec({"use_bias": False}, momentum=0.8),
                      binary_compile(obj("Adam", learning_rate=0.05)),
                      fit, LOSS_X[:11], y[:11])


def fit_cases():
    """Fit bookkeeping: partial batches, validation split / data, sample weights."""
    spec = ref9_spec()
    compile_spec = binary_compile(obj("SGD", learning_rate=0.5))
    x10, x90 = grid((10, 3)), grid((90, 3), mult=7, mod=23, shift=11, scale=11)
    y10, y90 = binary_labels(x10), binary_labels(x90)
    yield record_case("fit_partial_batch", "10 rows, batch 4: batches of 4, 4, 2", spec,
                      compile_spec, {"batch_size": 4, "epochs": 3}, x10, y10)
    yield record_case("fit_validation_split_10", "n=10, validation_split=0.3: last 3 rows",
                      spec, compile_spec, {"batch_size": 4, "epochs": 3,
                                           "validation_split": 0.3}, x10, y10)
    yield record_case("fit_validation_split_90",
                      "n=90, validation_split=0.3: floor(90*0.7)=62 train rows, 28 validation",
                      spec, compile_spec, {"batch_size": 16, "epochs": 2,
                                           "validation_split": 0.3}, x90, y90)
    x_val = grid((5, 3), mult=3, mod=7, shift=3, scale=3)
    yield record_case("fit_validation_data", "explicit validation_data of 5 rows, batch 4",
                      spec, compile_spec,
                      {"batch_size": 4, "epochs": 3,
                       "validation_data": {"x": x_val, "y": binary_labels(x_val)}}, x10, y10)
    weights = np.array([1, 3, 0, 0.5, 2, 1, 1, 0.25, 4, 1], "float32")
    yield record_case("fit_sample_weight", "sample_weight in fit (loss weighted, metrics not)",
                      spec, compile_spec, {"batch_size": 4, "epochs": 3, "sample_weight": weights},
                      x10, y10)


def flatten_cases():
    """Input (2, 3) -> Flatten -> Dense(4, relu) -> Dense(1, sigmoid)."""
    x = grid((10, 2, 3))
    spec = chain((2, 3), layer("flatten", "Flatten"), dense("dense", 4, "relu"),
                 dense("dense_1", 1, "sigmoid"))
    yield record_case("flatten", "Flatten of a (2, 3) input feeding a Dense stack", spec,
                      binary_compile(obj("SGD", learning_rate=0.5)), {"batch_size": 4, "epochs": 3},
                      x, binary_labels(x.reshape(10, 6)))


def two_input_spec(merge):
    width_b = 3 if merge == "Concatenate" else 4
    return graph({"input_a": (3,), "input_b": (2,)},
                 dense("dense_a", 4, "relu", inbound=["input_a"]),
                 dense("dense_b", width_b, "tanh", inbound=["input_b"]),
                 layer(merge.lower(), merge, inbound=["dense_a", "dense_b"]),
                 dense("output", 1, "sigmoid", inbound=[merge.lower()]))


def functional_cases():
    """Two inputs, each through a Dense, merged by Concatenate or Add, then Dense(1, sigmoid)."""
    x_a = grid((10, 3))
    x_b = grid((10, 2), mult=3, mod=7, shift=3, scale=3)
    y = binary_labels(np.concatenate([x_a, x_b], axis=1))
    for merge in ("Concatenate", "Add"):
        yield record_case(f"functional_{merge.lower()}",
                          f"bimodal network: two inputs merged by {merge}", two_input_spec(merge),
                          binary_compile(obj("Adam", learning_rate=0.05)),
                          {"batch_size": 4, "epochs": 3}, [x_a, x_b], y)


def callback_cases():
    """EarlyStopping that stops early (restoring the best weights) and ReduceLROnPlateau.

    Both use the section 9 model and data, where the loss plateaus instead of going to zero.
    """
    early = obj("EarlyStopping", monitor="loss", patience=1, restore_best_weights=True)
    yield record_case("callback_early_stopping",
                      "EarlyStopping(monitor='loss', patience=1, restore_best_weights=True) "
                      "stopping after epoch 7 of 15 and restoring epoch 6's weights",
                      ref9_spec(), binary_compile(obj("SGD", learning_rate=1.0, momentum=0.9)),
                      {"batch_size": 4, "epochs": 15, "callbacks": [early]},
                      REF9_X, REF9_Y, weights=ref9_weights())
    plateau = obj("ReduceLROnPlateau", monitor="loss", factor=0.5, patience=1, min_delta=0.02)
    yield record_case("callback_reduce_lr_on_plateau",
                      "ReduceLROnPlateau(monitor='loss', factor=0.5, patience=1, min_delta=0.02) "
                      "halving Adam's learning rate",
                      ref9_spec(), binary_compile(obj("Adam", learning_rate=0.1)),
                      {"batch_size": 4, "epochs": 10, "callbacks": [plateau]},
                      REF9_X, REF9_Y, weights=ref9_weights())


def summary_cases():
    """model.summary() text at COLUMNS=80 (line width 76) and COLUMNS=200 (88 or 108)."""
    x = grid((12, 3))
    bn = chain((3,), dense("dense", 4), layer("batch_normalization", "BatchNormalization"),
               dense("dense_1", 1))
    adam = obj("Adam")
    for columns in SUMMARY_COLUMNS:
        suffix = "" if columns == 80 else f"_columns{columns}"
        yield record_summary(f"summary_ref9{suffix}", "the section 9 Sequential model",
                             ref9_spec(), columns)
        yield record_summary(f"summary_batchnorm_before_fit{suffix}",
                             "Dense(4) -> BatchNormalization -> Dense(1), not compiled", bn,
                             columns)
        yield record_summary(f"summary_batchnorm_after_fit{suffix}",
                             "Dense(4) -> BatchNormalization -> Dense(1) after fit with Adam",
                             bn, columns, fit=(x, binary_labels(x), adam))
        yield record_summary(f"summary_functional_two_inputs{suffix}",
                             "functional two-input model merged by Concatenate",
                             two_input_spec("Concatenate"), columns)


# ---------------------------------------------------------------------------------------------
# Issue 10: more losses, metrics by name, regularizers; direct values of losses, metrics,
# regularizers and learning-rate schedules (no model)
# ---------------------------------------------------------------------------------------------


def new_loss_cases():
    """The losses added for issue 10, each on a small network fitted with SGD(0.1), 3 epochs."""
    y_bin = binary_labels(LOSS_X)
    y_onehot = np.eye(3, dtype="float32")[class_labels(LOSS_X)]
    y_reg = regression_targets(LOSS_X)
    y_pos = np.abs(y_reg) + 0.5  # strictly positive targets (percentage and logarithmic errors)
    y_counts = np.round(np.abs(y_reg) * 2).astype("float32")  # Poisson counts
    fit = {"batch_size": 4, "epochs": 3}
    sgd = obj("SGD", learning_rate=0.1)
    cases = [
        ("mape", "mean_absolute_percentage_error, 2-unit linear output, positive targets", 2, None,
         "mean_absolute_percentage_error", ["mae"], y_pos),
        ("msle", "mean_squared_logarithmic_error, 2-unit softplus output", 2, "softplus", "msle",
         ["mse"], y_pos),
        ("log_cosh", "log_cosh, 2-unit linear output", 2, None, "log_cosh", ["mae"], y_reg),
        ("hinge", "hinge, 1-unit tanh output, 0/1 labels (converted to -1/+1)", 1, "tanh", "hinge",
         [], y_bin),
        ("squared_hinge", "squared_hinge, 1-unit tanh output, 0/1 labels", 1, "tanh",
         "squared_hinge", [], y_bin),
        ("categorical_hinge", "categorical_hinge, 3-unit linear output, one-hot labels", 3, None,
         "categorical_hinge", ["categorical_accuracy"], y_onehot),
        ("kl_divergence", "kl_divergence, softmax output, one-hot labels", 3, "softmax",
         "kl_divergence", ["accuracy"], y_onehot),
        ("poisson", "poisson, 2-unit exponential output, count targets", 2, "exponential",
         "poisson", [], y_counts),
        ("cosine_similarity", "CosineSimilarity(axis=-1), 2-unit linear output", 2, None,
         obj("CosineSimilarity", axis=-1), ["mse"], y_reg),
    ]
    # percentages are ~100x the other losses: a smaller step keeps the trajectory well conditioned
    rates = {"mape": obj("SGD", learning_rate=0.002)}
    for key, description, units, activation, loss, metrics, y in cases:
        yield record_case(f"loss_{key}", description, classifier_spec(units, activation),
                          binary_compile(rates.get(key, sgd), loss, metrics), fit, LOSS_X, y)


def metric_cases():
    """Metrics in compile(metrics=[...]): names as strings, and objects with arguments."""
    y_bin = binary_labels(LOSS_X)
    y_int = class_labels(LOSS_X)
    y_onehot = np.eye(3, dtype="float32")[y_int]
    y_reg = regression_targets(LOSS_X)
    fit = {"batch_size": 4, "epochs": 3}
    sgd = obj("SGD", learning_rate=0.5)
    cases = [
        ("binary_classification", "bce with auc, precision, recall, the four counts, binary_accuracy",
         1, "sigmoid", "binary_crossentropy",
         ["auc", "precision", "recall", "true_positives", "false_positives", "true_negatives",
          "false_negatives", "binary_accuracy"], y_bin),
        ("binary_objects", "metric objects: AUC(curve='PR', num_thresholds=50), Precision(0.3), "
         "Recall(thresholds=[0.2, 0.7]) as counts, BinaryAccuracy(threshold=0.4)",
         1, "sigmoid", "binary_crossentropy",
         [obj("AUC", curve="PR", num_thresholds=50, name="pr_auc"),
          obj("Precision", thresholds=0.3, name="precision_at_03"),
          obj("TruePositives", thresholds=0.7, name="tp_at_07"),
          obj("BinaryAccuracy", threshold=0.4, name="acc_at_04")], y_bin),
        ("categorical", "cce with top-k accuracy (k=2) and per-class precision/recall",
         3, "softmax", "categorical_crossentropy",
         [obj("TopKCategoricalAccuracy", k=2, name="top2"), "categorical_accuracy",
          obj("Precision", class_id=1, name="precision_1"), obj("Recall", top_k=2, name="recall_top2"),
          obj("AUC", multi_label=True, name="auc_multi")], y_onehot),
        ("sparse", "sparse cce with SparseTopKCategoricalAccuracy(k=2)", 3, "softmax",
         "sparse_categorical_crossentropy",
         [obj("SparseTopKCategoricalAccuracy", k=2, name="top2")], y_int),
        ("regression", "mse with root_mean_squared_error, r2_score, mape, msle, cosine_similarity, "
         "log_cosh_error", 2, None, "mse",
         ["root_mean_squared_error", "r2_score", "mape", "msle", "cosine_similarity",
          "log_cosh_error"], y_reg),
    ]
    for key, description, units, activation, loss, metrics, y in cases:
        yield record_case(f"metrics_{key}", description, classifier_spec(units, activation),
                          binary_compile(sgd, loss, metrics), fit, LOSS_X, y)


def regularizer_cases():
    """kernel/bias/activity regularizers on Dense: the penalty joins the loss Keras reports."""
    y = binary_labels(LOSS_X)
    fit = {"batch_size": 4, "epochs": 3}
    compile_spec = binary_compile(obj("SGD", learning_rate=0.3))
    cases = [
        ("l2_kernel", "kernel_regularizer='l2' (0.01) on both layers",
         {"kernel_regularizer": "l2"}, {"kernel_regularizer": "l2"}),
        ("l1_bias", "bias_regularizer=L1(0.05) on the hidden layer",
         {"bias_regularizer": obj("L1", l1=0.05)}, {}),
        ("l1_l2_activity", "activity_regularizer=L1L2(l1=0.01, l2=0.02) on the hidden layer",
         {"activity_regularizer": obj("L1L2", l1=0.01, l2=0.02)}, {}),
        ("all", "kernel L1L2(0.01, 0.01), bias L2(0.1), activity L1(0.01) on the output layer",
         {"kernel_regularizer": obj("L1L2", l1=0.01, l2=0.01)},
         {"bias_regularizer": obj("L2", l2=0.1), "activity_regularizer": obj("L1", l1=0.01)}),
        ("orthogonal", "kernel_regularizer=OrthogonalRegularizer(factor=0.1) on the hidden layer",
         {"kernel_regularizer": obj("OrthogonalRegularizer", factor=0.1)}, {}),
    ]
    for key, description, hidden, output in cases:
        spec = chain((3,), dense("dense", 4, "tanh", **hidden), dense("dense_1", 1, "sigmoid", **output))
        yield record_case(f"regularizer_{key}", description, spec, compile_spec, fit, LOSS_X, y)


def value_fixture(case, description, entries):
    return {**header(case, description), "entries": entries}


def loss_values():
    """loss(y_true, y_pred, sample_weight) for every loss: no weights, a scalar, one per sample,
    one per timestep (rank-3 inputs), and the per-sample values of reduction=None."""
    rng = np.random.default_rng(0)
    y_prob = rng.uniform(0.05, 0.95, (4, 3)).astype("float32")
    p_prob = rng.uniform(0.05, 0.95, (4, 3)).astype("float32")
    y_hot = np.eye(3, dtype="float32")[[0, 2, 1, 2]]
    y_int = np.array([0, 2, 1, 2], "int32")
    y_bin = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]], "float32")
    y_reg = grid((4, 3), mult=5, mod=9, shift=4, scale=2)
    p_reg = grid((4, 3), mult=7, mod=11, shift=5, scale=3)
    y_pos, p_pos = np.abs(y_reg) + 0.25, np.abs(p_reg) + 0.25
    y3 = grid((2, 3, 2), mult=5, mod=9, shift=4, scale=2)
    p3 = grid((2, 3, 2), mult=3, mod=7, shift=3, scale=2)
    p3_prob = np.abs(p3) / np.abs(p3).sum(-1, keepdims=True) * 0.9 + 0.05
    y3_int = np.array([[0, 1, 1], [1, 0, 1]], "int32")
    sample_weight = np.array([1.0, 0.5, 2.0, 0.0], "float32")
    step_weight = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, 1.5]], "float32")
    cases = [
        (obj("MeanSquaredError"), y_reg, p_reg), (obj("MeanAbsoluteError"), y_reg, p_reg),
        (obj("MeanAbsolutePercentageError"), y_reg, p_reg),
        (obj("MeanSquaredLogarithmicError"), y_pos, p_pos), (obj("Huber", delta=0.7), y_reg, p_reg),
        (obj("LogCosh"), y_reg, p_reg), (obj("Hinge"), y_bin, p_reg), (obj("Hinge"), 2 * y_bin - 1, p_reg),
        (obj("SquaredHinge"), y_bin, p_reg), (obj("CategoricalHinge"), y_hot, p_reg),
        (obj("KLDivergence"), y_prob, p_prob), (obj("Poisson"), y_pos, p_pos),
        (obj("CosineSimilarity"), y_reg, p_reg),
        (obj("BinaryCrossentropy"), y_bin, p_prob),
        (obj("BinaryCrossentropy", from_logits=True, label_smoothing=0.1), y_bin, p_reg),
        (obj("CategoricalCrossentropy"), y_hot, p_prob),
        (obj("CategoricalCrossentropy", from_logits=True), y_hot, p_reg),
        (obj("SparseCategoricalCrossentropy"), y_int, p_prob),
        (obj("SparseCategoricalCrossentropy", from_logits=True), y_int, p_reg),
    ]
    entries = []
    for spec, y, p in cases:
        loss = build_object(keras.losses, spec)
        per_sample = build_object(keras.losses, {**spec, "config": {**spec["config"], "reduction": None}})
        entries.append({"loss": spec, "y_true": f32(y), "y_pred": f32(p), "sample_weight": f32(sample_weight),
                        "value": f32(loss(y, p)), "value_scalar_weight": f32(loss(y, p, sample_weight=2.5)),
                        "value_sample_weight": f32(loss(y, p, sample_weight=sample_weight)),
                        "per_sample": f32(per_sample(y, p))})
    rank3 = [(obj("MeanSquaredError"), y3, p3), (obj("Huber"), y3, p3), (obj("LogCosh"), y3, p3),
             (obj("SparseCategoricalCrossentropy"), y3_int, p3_prob)]
    for spec, y, p in rank3:
        loss = build_object(keras.losses, spec)
        entries.append({"loss": spec, "y_true": f32(y), "y_pred": f32(p), "sample_weight": f32(step_weight),
                        "value": f32(loss(y, p)), "value_sample_weight": f32(loss(y, p, sample_weight=step_weight))})
    yield value_fixture("values_losses", "loss values: no weights, scalar, per-sample, per-timestep, "
                        "reduction=None", entries)


def metric_values():
    """Each metric updated with two batches (the second with sample weights): result after each,
    then after reset_state and one more batch."""
    rng = np.random.default_rng(1)
    p1 = rng.uniform(0, 1, (6, 1)).astype("float32")
    p2 = rng.uniform(0, 1, (5, 1)).astype("float32")
    y1 = np.array([[0], [1], [1], [0], [1], [0]], "float32")
    y2 = np.array([[1], [1], [0], [0], [1]], "float32")
    w2 = np.array([0.5, 2.0, 1.0, 0.0, 1.5], "float32")
    c1 = rng.uniform(0, 1, (6, 4)).astype("float32")
    c2 = rng.uniform(0, 1, (5, 4)).astype("float32")
    h1 = np.eye(4, dtype="float32")[[0, 3, 1, 2, 2, 1]]
    h2 = np.eye(4, dtype="float32")[[3, 3, 0, 1, 2]]
    r1, r2 = grid((6, 2), mult=5, mod=9, shift=4, scale=2), grid((5, 2), mult=3, mod=7, shift=3, scale=2)
    q1, q2 = grid((6, 2), mult=7, mod=11, shift=5, scale=3), grid((5, 2), mult=5, mod=7, shift=2, scale=3)
    binary = [obj("BinaryAccuracy"), obj("BinaryAccuracy", threshold=0.3), obj("AUC"),
              obj("AUC", curve="PR"), obj("AUC", summation_method="minoring", num_thresholds=10),
              obj("AUC", summation_method="majoring", thresholds=[0.2, 0.5, 0.9]),
              obj("AUC", curve="PR", summation_method="majoring"),
              obj("AUC", from_logits=True), obj("Precision"), obj("Precision", thresholds=[0.2, 0.6]),
              obj("Recall"), obj("Recall", thresholds=[0.2, 0.6]), obj("TruePositives"),
              obj("FalsePositives", thresholds=[0.1, 0.5, 0.9]), obj("TrueNegatives"), obj("FalseNegatives")]
    categorical = [obj("CategoricalAccuracy"), obj("TopKCategoricalAccuracy", k=2),
                   obj("Precision", top_k=2), obj("Recall", class_id=2), obj("AUC", multi_label=True),
                   obj("AUC", multi_label=True, label_weights=[0.5, 1.0, 0.0, 2.0])]
    regression = [obj("MeanSquaredError"), obj("RootMeanSquaredError"), obj("MeanAbsoluteError"),
                  obj("MeanAbsolutePercentageError"), obj("MeanSquaredLogarithmicError"), obj("LogCoshError"),
                  obj("CosineSimilarity"), obj("R2Score"), obj("R2Score", class_aggregation=None),
                  obj("R2Score", class_aggregation="variance_weighted_average"),
                  obj("R2Score", num_regressors=2)]
    entries = []
    for specs, (ya, pa, yb, pb) in [(binary, (y1, p1, y2, p2)), (categorical, (h1, c1, h2, c2)),
                                    (regression, (r1, q1, r2, q2))]:
        for spec in specs:
            m = build_object(keras.metrics, spec)
            m.update_state(ya, pa)
            first = f32(m.result())
            m.update_state(yb, pb, sample_weight=w2)
            second = f32(m.result())
            m.reset_state()
            m.update_state(yb, pb)
            entries.append({"metric": spec, "batches": [[f32(ya), f32(pa), None], [f32(yb), f32(pb), f32(w2)]],
                            "results": [first, second], "after_reset": f32(m.result())})
    # keras.metrics.Mean over arrays with weights; BinaryAccuracy with (n,) targets and (n, 1) outputs
    m = keras.metrics.Mean()
    m.update_state(np.array([[1.0, 2.0], [3.0, 4.0]], "float32"))
    m.update_state(np.array([[1.0, 5.0], [2.0, 6.0]], "float32"), sample_weight=np.array([[1.0, 0.0], [0.5, 1.0]]))
    entries.append({"metric": obj("Mean"), "batches": [[None, [[1.0, 2.0], [3.0, 4.0]], None],
                                                      [None, [[1.0, 5.0], [2.0, 6.0]], [[1.0, 0.0], [0.5, 1.0]]]],
                    "results": [None, f32(m.result())]})
    m = keras.metrics.BinaryAccuracy()
    m.update_state(y1[:, 0], p1)
    entries.append({"metric": obj("BinaryAccuracy"), "batches": [[f32(y1[:, 0]), f32(p1), None]],
                    "results": [f32(m.result())]})
    yield value_fixture("values_metrics", "metric results: two updates (the second weighted), reset", entries)


def regularizer_values():
    """Each regularizer applied to a fixed (4, 3) matrix."""
    x = grid((4, 3), mult=7, mod=11, shift=5, scale=3)
    specs = [obj("L1"), obj("L1", l1=0.3), obj("L2"), obj("L2", l2=0.2), obj("L1L2"),
             obj("L1L2", l1=0.1, l2=0.05), obj("OrthogonalRegularizer"),
             obj("OrthogonalRegularizer", factor=0.5, mode="columns")]
    tensor = keras.ops.convert_to_tensor(x)  # Keras's NumPy path of normalize() breaks for mode="columns"
    entries = [{"regularizer": spec, "x": f32(x), "value": f32(build_object(keras.regularizers, spec)(tensor)),
                "config": build_object(keras.regularizers, spec).get_config()} for spec in specs]
    yield value_fixture("values_regularizers", "regularizer penalties on a fixed matrix", entries)


def schedule_values():
    """Learning-rate schedules at steps 0..29."""
    specs = [obj("ExponentialDecay", initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5),
             obj("ExponentialDecay", initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5, staircase=True),
             obj("PiecewiseConstantDecay", boundaries=[5, 12], values=[1.0, 0.5, 0.1]),
             obj("InverseTimeDecay", initial_learning_rate=0.2, decay_steps=4, decay_rate=0.3),
             obj("InverseTimeDecay", initial_learning_rate=0.2, decay_steps=4, decay_rate=0.3, staircase=True),
             obj("CosineDecay", initial_learning_rate=0.1, decay_steps=20),
             obj("CosineDecay", initial_learning_rate=0.1, decay_steps=20, alpha=0.1),
             obj("CosineDecay", initial_learning_rate=0.0, decay_steps=20, warmup_target=0.1,
                 warmup_steps=5)]
    entries = []
    for spec in specs:
        schedule = build_object(keras.optimizers.schedules, spec)
        entries.append({"schedule": spec, "values": [f32(schedule(step)) for step in range(30)]})
    yield value_fixture("values_schedules", "learning rate at steps 0..29", entries)


def value_cases():
    for family in (loss_values, metric_values, regularizer_values, schedule_values):
        for fixture in family():
            if selected(fixture["case"]):
                yield fixture


FAMILIES = [reference_cases, optimizer_cases, loss_cases, activation_cases, batchnorm_cases,
            fit_cases, flatten_cases, functional_cases, callback_cases, summary_cases,
            new_loss_cases, metric_cases, regularizer_cases, value_cases]

# ---------------------------------------------------------------------------------------------
# Section 9 check
# ---------------------------------------------------------------------------------------------


def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def parse_section9(markdown):
    """{heading: {quantity: [numbers]}} from the per-optimizer blocks of section 9."""
    section = markdown.split("## 9.", 1)[1]
    expected = {"": {}}
    for label, initial in re.findall(r"^(initial predict\(X\)|initial evaluate\(X,Y\)) (.*)$",
                                     section, re.MULTILINE):
        expected[""][label] = numbers(initial)
    for heading, body in re.findall(r"^#### `(.+?)`\s*```(.*?)```", section,
                                 re.MULTILINE | re.DOTALL):
        block, prefix = {}, ""
        for line in body.strip().splitlines():
            if line.startswith("weights after step 3"):
                prefix = "step3 "
            elif line.startswith("weights final"):
                prefix = "final "
            elif "=" in line:
                name, values = line.split("=", 1)
                name = re.sub(r"\s*\(.*", "", name.strip()).strip()
                block[prefix + name if name in ("W1", "b1", "W2", "b2") else name] = \
                    numbers(values.split("]")[0])
        expected[heading] = block
    return expected


def observed_section9(fixture):
    """The same quantities as section 9 prints, taken from a ref9 fixture."""
    results = fixture["results"]
    flat = [np.ravel(w).tolist() for w in results["weights_per_step"][2]]
    final = [np.ravel(w).tolist() for w in results["weights_after_fit"]]
    batch_loss = [b["loss"] for epoch in results["batch_logs"] for b in epoch]
    raw = [m if k % 2 == 0 else 2 * m - batch_loss[k - 1] for k, m in enumerate(batch_loss)]
    observed = {"history.loss": results["history"]["loss"],
                "history.accuracy": results["history"]["accuracy"],
                "batch-log loss": batch_loss, "raw per-step loss": raw}
    for j, name in enumerate(("W1", "b1", "W2", "b2")):
        observed[f"step3 {name}"] = flat[j]
        observed[f"final {name}"] = final[j]
    return observed


def compare(expected, observed):
    """Largest |a - b| / max(|a|, 1e-3) over matching entries, or inf when the sizes differ."""
    a, b = np.asarray(expected, float), np.ravel(np.asarray(observed, float))
    if a.shape != b.shape:
        return math.inf
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-3)))


def check_section9(fixtures, markdown_path):
    """Print the worst relative deviation per optimizer; True when all are within 1e-6."""
    expected = parse_section9(Path(markdown_path).read_text(encoding="utf-8"))
    ok = True
    first = fixtures[f"ref9_{next(iter(REF9_OPTIMIZERS))}"]
    initial = {"initial predict(X)": np.ravel(first["results"]["initial_predict"]),
               "initial evaluate(X,Y)": [first["results"]["initial_evaluate"]["loss"],
                                         first["results"]["initial_evaluate"]["accuracy"]]}
    for label, values in initial.items():
        worst = compare(expected[""][label], values)
        ok &= worst <= 1e-6  # printed with 7 significant digits (0.4975 is 0.4975000)
        print(f"section 9 {label}: worst deviation {worst:.2e}")
    for key, optimizer in REF9_OPTIMIZERS.items():
        heading = optimizer_label(optimizer)
        block = expected.get(heading)
        if not block:
            print(f"section 9: no block for {heading}")
            ok = False
            continue
        observed = observed_section9(fixtures[f"ref9_{key}"])
        worst = max(compare(block[name], observed[name]) for name in block)
        missing = sorted(set(observed) - set(block))
        ok &= worst <= 1e-6 and not missing
        print(f"section 9 {heading}: {len(block)} quantities, worst relative deviation "
              f"{worst:.2e}{' MISSING ' + str(missing) if missing else ''}")
    return ok


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def to_json(value, indent=0):
    """JSON with dicts broken over lines and short or all-scalar lists kept on one line."""
    flat = json.dumps(value, allow_nan=False)
    scalars = isinstance(value, list) and not any(isinstance(v, (list, dict)) for v in value)
    if not isinstance(value, (list, dict)) or scalars or len(flat) + indent <= 100:
        return flat
    pad, end = " " * (indent + 2), " " * indent
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {to_json(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    return "[\n" + ",\n".join(pad + to_json(v, indent + 2) for v in value) + "\n" + end + "]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--cases", nargs="*", default=["*"], help="fnmatch patterns of cases")
    parser.add_argument("--check-reference", metavar="MARKDOWN",
                        help="compare the ref9_* cases with section 9 of this semantics file")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "jax":
        parser.error(f"run with KERAS_BACKEND=jax (got backend {keras.backend.backend()!r})")

    _selection[:] = args.cases
    if args.check_reference and not all(selected(f"ref9_{k}") for k in REF9_OPTIMIZERS):
        parser.error("--check-reference needs the ref9_* cases in --cases")
    args.out.mkdir(parents=True, exist_ok=True)
    recorded = {}
    for family in FAMILIES:
        for fixture in filter(None, family()):
            case = fixture["case"]
            recorded[case] = fixture
            (args.out / f"{case}.json").write_text(to_json(fixture) + "\n", encoding="utf-8")
            print(f"wrote {case}.json", file=sys.stderr)
    if args.check_reference:
        if not check_section9(recorded, args.check_reference):
            print("section 9 check FAILED", file=sys.stderr)
            return 1
        print("section 9 check passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
