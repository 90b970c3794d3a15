"""The targets of one fit/evaluate call: checked against the output and the loss, prepared once.

The loss and the metrics may want different encodings of the same labels (sparse cross-entropy takes class
indices; the metrics see them in Keras's shape), so :class:`Targets` holds both, sharing one array when they
agree. Sample weights and ``class_weight`` become one weight per sample here too.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from nnrun.engine import losses as losses_module
from nnrun.engine.data_adapter import to_numeric
from nnrun.errors import DataError, InvalidArgumentError

if TYPE_CHECKING:
    from nnrun.engine.layers.layer import Layer


class Targets:
    """The targets for the loss and for the metrics, and the shape the user gave."""

    def __init__(self, loss: np.ndarray, metric: np.ndarray, raw_shape: tuple[int, ...]) -> None:
        self.loss, self.metric, self.raw_shape = loss, metric, raw_shape

    def rows(self, start: int | None, stop: int | None = None) -> Targets:
        """The targets of rows [start, stop) (the same array serves both roles when it did before)."""
        loss = self.loss[start:stop]
        return Targets(loss, loss if self.metric is self.loss else self.metric[start:stop], self.raw_shape)

    def __len__(self) -> int:
        return len(self.loss)

    def named(self, name: str) -> dict[str, np.ndarray]:
        """The arrays whose lengths must agree with the inputs', by the name to show in errors."""
        return {name: self.loss}


class MultiTargets:
    """One :class:`Targets` per output of a multi-output model (None where the output has no target)."""

    def __init__(self, parts: list[Targets], names: list[str]) -> None:
        self.parts, self.names = parts, names

    def rows(self, start: int | None, stop: int | None = None) -> MultiTargets:
        return MultiTargets([t.rows(start, stop) for t in self.parts], self.names)

    def __len__(self) -> int:
        return len(self.parts[0])

    def named(self, name: str) -> dict[str, np.ndarray]:
        return {f"{name}[{n!r}]": t.loss for n, t in zip(self.names, self.parts)}


def split_targets(y: Any, names: list[str], name: str = "y") -> list[Any]:
    """One target per output from a list/tuple in output order or a dict keyed by output name."""
    if isinstance(y, dict):
        unknown = sorted(set(y) - set(names))
        missing = [n for n in names if n not in y]
        if unknown or missing:
            raise DataError(
                f"{name} is a dict, so its keys must be the model's output names {names}. "
                + (f"Unknown: {unknown}. " if unknown else "")
                + (f"Missing: {missing}." if missing else "")
            )
        return [y[n] for n in names]
    if isinstance(y, (list, tuple)) and len(y) == len(names):
        return list(y)
    got = f"a {type(y).__name__} of {len(y)}" if isinstance(y, (list, tuple)) else f"one {type(y).__name__}"
    raise DataError(
        f"The model has {len(names)} outputs {names}: {name} must be a list of {len(names)} arrays (in output "
        f"order) or a dict keyed by output name. Received: {got}"
    )


def prepare_plain_targets(y: Any, out_shape: tuple[Any, ...], dtype: Any, name: str) -> Targets:
    """Targets of an output without a loss (seen only by its metrics): checked against its shape, cast."""
    y = to_numeric(y, name)
    flat = y.reshape(len(y), -1) if y.ndim > 1 else y.reshape(len(y), 1)
    if flat.shape[1] != int(np.prod(out_shape[1:])) and y.ndim != len(out_shape) - 1:
        raise DataError(f"{name} has shape {y.shape}, which does not match the output shape {(None, *out_shape[1:])}.")
    y = y.astype(dtype, copy=False)
    return Targets(np.ascontiguousarray(y), np.ascontiguousarray(y), y.shape)


def prepare_targets(
    y: Any, loss: losses_module.Loss, out_layer: Layer, out_shape: tuple[Any, ...], dtype: Any, name: str = "y"
) -> Targets:
    """Check ``y`` against the output (``out_shape``, batch dimension first) and the loss; cast it once."""
    y = to_numeric(y, name)
    units = out_shape[-1]
    integral = (
        np.issubdtype(y.dtype, np.integer)
        or np.issubdtype(y.dtype, np.bool_)
        or (y.size > 0 and np.array_equal(y, np.round(y)))
    )
    if loss.sparse:
        _check_class_labels(y, integral, loss, out_layer, units, name)
    else:
        _check_dense_targets(y, integral, loss, out_layer, out_shape, name)
    shape = (len(y), *out_shape[1:])
    y_loss = np.ascontiguousarray(loss.prepare_targets(y, shape, dtype))
    if not loss.sparse:
        return Targets(y_loss, y_loss, y.shape)
    y_metric = losses_module.Loss.prepare_targets(loss, y, shape, dtype)
    return Targets(y_loss, np.ascontiguousarray(y_metric), y.shape)


def _check_class_labels(
    y: np.ndarray, integral: bool, loss: losses_module.Loss, out_layer: Layer, units: int, name: str
) -> None:
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise DataError(
            f"{loss.name} expects integer class labels of shape (n,) or (n, 1). Received: {name} with "
            f"shape {y.shape}. For one-hot targets use loss='categorical_crossentropy'."
        )
    if not integral:
        raise DataError(
            f"{loss.name} expects integer class labels; {name} has non-integer values "
            f"(for example {y.flat[int(np.argmax(y != np.round(y)))]})."
        )
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= units:
        bad = lo if lo < 0 else hi
        raise DataError(
            f"{name} contains the label {bad}, outside the output's classes: layer '{out_layer.name}' has "
            f"{units} units, so labels must be in [0, {units - 1}]. Give the output layer as many units as "
            "there are classes."
        )


def _check_dense_targets(
    y: np.ndarray, integral: bool, loss: losses_module.Loss, out_layer: Layer, out_shape: tuple[Any, ...], name: str
) -> None:
    units = out_shape[-1]
    squeezed = y.reshape(len(y), -1) if y.ndim > 1 else y.reshape(len(y), 1)
    if squeezed.shape[1] != units:
        if y.ndim == 1 and integral and units > 1 and loss.fused_activation == "softmax":
            raise DataError(
                f"{loss.name} expects one-hot targets of shape (n, {units}), but {name} has shape {y.shape} "
                "with integer class labels. Use loss='sparse_categorical_crossentropy', or one-hot encode "
                f"{name}."
            )
        raise DataError(
            f"{name} has shape {y.shape}, which does not match the model's output shape "
            f"{(None, *out_shape[1:])} from layer '{out_layer.name}' (loss {loss.name})."
        )
    if isinstance(loss, losses_module.BinaryCrossentropy) and integral and y.size and y.max() > 1:
        k = int(y.max()) + 1
        warnings.warn(
            f"binary_crossentropy is being used with integer labels 0..{k - 1} ({k} classes); it treats "
            "every label above 1 as a probability, so the model cannot learn the classes. For "
            f"{k} classes use an output Dense({k}, activation='softmax') with "
            "loss='sparse_categorical_crossentropy'.",
            UserWarning,
            stacklevel=6,
        )


def sample_weights(sample_weight: Any, n: int, dtype: Any, name: str = "sample_weight") -> np.ndarray | None:
    """One weight per sample (or None)."""
    if sample_weight is None:
        return None
    return losses_module.prepare_sample_weight(to_numeric(sample_weight, name), n, dtype)


def apply_class_weight(
    class_weight: dict[int, float], targets: Targets, sw: np.ndarray | None, dtype: Any
) -> np.ndarray:
    """Each sample's class weight (times its sample weight)."""
    y = targets.metric
    classes = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y)).round().astype(int)
    missing = sorted(set(np.unique(classes).tolist()) - set(class_weight))
    if missing:
        raise InvalidArgumentError(f"class_weight has no weight for class(es) {missing}. Received: {class_weight!r}")
    w = np.array([class_weight[int(c)] for c in classes], dtype)
    return w if sw is None else w * sw
