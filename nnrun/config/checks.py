"""Checks across keys, run on the resolved config and the prepared data before anything trains.

Each check is a small named function returning problems that name the key to change and the fix.
"""

from __future__ import annotations

import math

from nnrun.config.schema import DenseItem, ExperimentConfig, FlattenItem
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
    first = config.model.layers[0]
    if data.x_train.ndim > 2 and not isinstance(first, FlattenItem):
        shape = tuple(data.x_train.shape[1:])
        return [
            Problem(
                "data.flatten",
                f"the samples have shape {shape}, but the first layer is dense and expects "
                "vectors. Set data.flatten: true (or auto), or start the model with a flatten layer.",
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


CHECKS = (
    check_loss_matches_task,
    check_output_units,
    check_target_encoding,
    check_output_activation,
    check_input_shape,
    check_splits,
)


def run_checks(config: ExperimentConfig, data: Dataset) -> list[Problem]:
    """Every problem found by every check."""
    return [p for check in CHECKS for p in check(config, data)]
