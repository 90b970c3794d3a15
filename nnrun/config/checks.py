"""Checks across keys, run on the resolved config and the data before anything is built or trained.

Each check is a small named function returning problems that name the key to change and the fix.
:data:`BEFORE_PREPROCESSING` run on the data as loaded (labels, memory: what preprocessing itself could
choke on); :data:`AFTER_PREPROCESSING` on the data as the model will see it.
"""

from __future__ import annotations

import math
import os

import numpy as np

from nnrun.config.layers import LAYERS, DenseItem, first_needing_vectors
from nnrun.config.schema import ExperimentConfig
from nnrun.data import Dataset
from nnrun.engine.losses import LOSSES
from nnrun.errors import Problem

PROBABILITY_LOSSES = {
    "BinaryCrossentropy": "sigmoid",
    "CategoricalCrossentropy": "softmax",
    "SparseCategoricalCrossentropy": "softmax",
}


def _output(config: ExperimentConfig) -> tuple[str, int, str]:
    """(path of the output layer, its units, its activation)."""
    index = max(i for i, item in enumerate(config.model.layers) if isinstance(item, DenseItem))
    dense = config.model.layers[index].dense  # type: ignore[union-attr]
    return f"model.layers.{index}.dense", dense.units, dense.activation or "linear"


def check_loss_matches_task(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    loss = LOSSES.canonical(config.train.loss.name)
    if data.task == "regression" and loss in PROBABILITY_LOSSES:
        return [
            Problem(
                "train.loss",
                f"{config.train.loss.name} is a classification loss, but the targets of "
                f"{data.name} are real numbers (a regression task). Use mse, mae or huber.",
            )
        ]
    return []


def _data_key(config: ExperimentConfig) -> str:
    return "data.path" if config.data.path is not None else "data.dataset"


SPARSE_LABELS = 1000  # beyond this many classes, labels must use at least half of 0 .. K-1


def check_labels(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    """Class labels that cannot be classes: a single class, or a few values spread up to a huge index."""
    if data.task != "classification" or data.n_classes is None or data.y_train.ndim != 1:
        return []
    if LOSSES.canonical(config.train.loss.name) not in PROBABILITY_LOSSES:  # the labels are not used as classes
        return []
    parts = [data.y_train] if data.y_test is None else [data.y_train, data.y_test]
    labels = np.unique(np.concatenate(parts))
    if labels.size == 1:
        return [
            Problem(
                _data_key(config),
                f"every label of {data.name} is {labels[0]}: a classifier needs at least two classes. "
                "Check the labels (data.label_column for a .csv file), or use data with two or more classes.",
            )
        ]
    k = data.n_classes
    if k > SPARSE_LABELS and labels.size < k / 2:
        return [
            Problem(
                _data_key(config),
                f"the labels of {data.name} go up to {k - 1:,} but only {labels.size:,} different values occur: "
                f"class labels must be indices 0 .. K-1. Renumber the classes from 0, or, if the labels are "
                "quantities, use a regression loss (loss: mse).",
            )
        ]
    return []


def machine_memory() -> int | None:
    """The machine's physical memory in bytes (None where it cannot be told)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _optimizer_slots(config: ExperimentConfig) -> int:
    """Arrays per weight the optimizer keeps (momentum, moments, accumulators)."""
    o = config.train.optimizer
    name = o.name.lower().replace("_", "")
    if name == "sgd":
        return 1 if o.momentum else 0
    if name in ("rmsprop", "adagrad"):
        return 1 + bool(o.centered) + bool(o.momentum)
    return 2 + bool(o.amsgrad)


def estimate_memory(
    config: ExperimentConfig, input_shape: tuple[int, ...], batch_size: int
) -> tuple[int, int, int, list[int]]:
    """(bytes, weights, activations per sample, bytes per layer) to train the model in batches of ``batch_size``.

    Each weight is counted with its gradient and the optimizer's slots; each activation (per sample, times
    the batch size) with the layer's buffers for the forward and backward pass (about three arrays).
    """
    itemsize = np.dtype(config.model.dtype).itemsize
    per_weight = 2 + _optimizer_slots(config)
    shape, weights, activations, per_layer = tuple(input_shape), 0, 0, []
    for item in config.model.layers:
        spec, layer = LAYERS.of(item)
        shape, n = spec.size(layer, shape)
        weights += n
        activations += math.prod(shape)
        per_layer.append(itemsize * (n * per_weight + 3 * math.prod(shape) * batch_size))
    return sum(per_layer), weights, activations, per_layer


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def check_memory(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    """Refuse a model whose weights and activations would not fit in the machine's memory."""
    available = machine_memory()
    if available is None:
        return []
    shape = tuple(data.x_train.shape[1:])
    if config.data.flatten:
        shape = (math.prod(shape),)
    batch = min(config.train.batch_size, len(data.x_train))  # a batch holds at most the whole data set
    total, weights, activations, per_layer = estimate_memory(config, shape, batch)
    if total <= available:
        return []
    if estimate_memory(config, shape, 1)[0] <= available:
        key, fix = "train.batch_size", f"Reduce the batch size (now {config.train.batch_size:,})."
    else:
        index = max(range(len(per_layer)), key=per_layer.__getitem__)
        spec, layer = LAYERS.of(config.model.layers[index])
        key, fix = f"model.layers.{index}.{spec.name}", "Make this layer smaller."
        if spec.size_key is not None:
            key += f".{spec.size_key}"
            fix = f"Reduce {spec.size_key} (now {getattr(layer, spec.size_key):,})."
    return [
        Problem(
            key,
            f"training this model needs about {_size(total)} of memory ({weights:,} weights with their gradients "
            f"and optimizer state, {activations:,} activations per sample in batches of {batch:,}), more than "
            f"this machine's {_size(available)}. {fix}",
        )
    ]


def check_output_units(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    if data.task != "classification" or data.n_classes is None:
        return []
    loss = LOSSES.canonical(config.train.loss.name)
    path, units, _ = _output(config)
    k = data.n_classes
    if loss == "BinaryCrossentropy":
        if units == 1 and k > 2:
            return [
                Problem(
                    "train.loss",
                    f"binary_crossentropy needs two classes, but {data.name} has {k} "
                    f"(labels 0..{k - 1}). Use loss: sparse_categorical_crossentropy with a last layer "
                    f"'dense: {{units: {k}, activation: softmax}}'.",
                )
            ]
        if units not in (1, k):
            return [
                Problem(
                    f"{path}.units",
                    f"the output layer has {units} units; binary_crossentropy on "
                    f"{data.name} needs 1 (or {k}, one per class).",
                )
            ]
        return []
    if loss in ("CategoricalCrossentropy", "SparseCategoricalCrossentropy") and units != k:
        return [
            Problem(
                f"{path}.units",
                f"the output layer has {units} units, but {data.name} has {k} classes "
                f"(labels 0..{k - 1}). Set the last dense layer's units to {k}.",
            )
        ]
    return []


def check_target_encoding(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    loss = LOSSES.canonical(config.train.loss.name)
    one_hot_targets = data.y_train.ndim == 2 and data.y_train.shape[1] > 1
    if loss == "SparseCategoricalCrossentropy" and one_hot_targets:
        return [
            Problem(
                "train.loss",
                "sparse_categorical_crossentropy expects integer class labels, but the "
                "targets are one-hot rows. Use loss: categorical_crossentropy, or data.one_hot: false.",
            )
        ]
    if loss == "CategoricalCrossentropy" and data.task == "classification" and not one_hot_targets:
        return [
            Problem(
                "data.one_hot",
                "categorical_crossentropy expects one-hot targets, but the labels are "
                "integers. Set data.one_hot: true (or auto), or use loss: sparse_categorical_crossentropy.",
            )
        ]
    return []


def check_output_activation(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    loss = LOSSES.canonical(config.train.loss.name)
    if loss not in PROBABILITY_LOSSES:
        return []
    path, _, activation = _output(config)
    wanted = PROBABILITY_LOSSES[loss]
    name = config.train.loss.name
    if config.train.loss.from_logits:
        if activation in ("softmax", "sigmoid"):
            return [
                Problem(
                    f"{path}.activation",
                    f"{name} with from_logits: true expects raw scores, but the output "
                    f"layer applies {activation}. Use activation: linear, or from_logits: false.",
                )
            ]
        return []
    if activation != wanted:
        return [
            Problem(
                f"{path}.activation",
                f"{name} expects probabilities from a {wanted} output, but the output "
                f"layer has activation '{activation}'. Use activation: {wanted}, or set the loss's "
                "from_logits: true.",
            )
        ]
    return []


def check_input_shape(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    """Samples with more than one axis must be flattened before the first layer that needs vectors."""
    index = first_needing_vectors(config.model.layers)
    if data.x_train.ndim > 2 and index is not None:
        shape = tuple(data.x_train.shape[1:])
        kind = LAYERS.of(config.model.layers[index])[0].name
        which = "the first layer" if index == 0 else f"layer {index}"
        return [
            Problem(
                "data.flatten",
                f"the samples have shape {shape}, but {which} is {kind} and expects vectors. "
                "Set data.flatten: true (or auto), or put a flatten layer before it.",
            )
        ]
    return []


def check_splits(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    n = len(data.x_train)
    split = config.train.validation_split
    if split:
        at = math.floor(n * (1.0 - split))
        if at == 0 or at == n:
            return [
                Problem(
                    "train.validation_split",
                    f"{split} of {n} training samples leaves "
                    f"{at} for training and {n - at} for validation; both must be at least 1.",
                )
            ]
    return []


class _OutputLayer:
    """What the engine's target check needs of the output layer: its name."""

    def __init__(self, name: str) -> None:
        self.name = name


def check_targets_fit_the_output(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    """The targets against the output layer and the loss, exactly as ``fit`` will check them (so that
    ``nnrun check`` finds what training would fail on). Runs only when the checks before it found nothing."""
    import warnings

    from nnrun.engine.losses import LOSSES as _LOSSES
    from nnrun.engine.models.targets import prepare_targets
    from nnrun.errors import DataError

    path, units, _ = _output(config)
    layer_name = config.model.layers[int(path.split(".")[2])].dense.name or path  # type: ignore[union-attr]
    loss = _LOSSES.get(config.train.loss.name)(**config.train.loss.arguments())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            prepare_targets(data.y_train, loss, _OutputLayer(layer_name), (None, units), np.float32, "y")
    except (DataError, UserWarning) as e:
        return [Problem("train.loss", f"the targets do not fit the output layer ({path}) with this loss: {e}")]
    return []


BEFORE_PREPROCESSING = (check_labels, check_memory)
AFTER_PREPROCESSING = (
    check_loss_matches_task,
    check_output_units,
    check_target_encoding,
    check_output_activation,
    check_input_shape,
    check_splits,
)
CHECKS = (*BEFORE_PREPROCESSING, *AFTER_PREPROCESSING)


def run_checks(config: ExperimentConfig, data: Dataset, checks: tuple = CHECKS) -> list[Problem]:
    """Every problem found by the checks (all of them by default); the targets are checked against the
    output only when the data passes the other checks (so one cause is reported once)."""
    problems = [p for check in checks for p in check(config, data)]
    if not problems and checks is not BEFORE_PREPROCESSING:
        problems = check_targets_fit_the_output(config, data)
    return problems
