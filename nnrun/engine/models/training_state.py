"""The whole state of a training run at the end of an epoch, to continue it exactly.

A :class:`TrainingCheckpoint` holds plain data only: ``meta`` (JSON values: the epochs completed, each
stateful callback's counters, the random generators' bit-generator states, and whatever the caller adds,
e.g. the history so far) and ``arrays`` (name → ndarray: every model weight, every optimizer variable and
the callbacks' arrays such as EarlyStopping's best weights), so it can be stored as ``.json`` + ``.npz``
without pickles. Restored into a freshly built model of the same architecture, with the same callbacks,
training continues with the same numbers as if it had never stopped: weights, optimizer slots and step
count, learning rate, callback counters, the shuffling order and the Dropout masks.

Callbacks take part when they define ``get_state()`` / ``set_state(state)`` (EarlyStopping,
ReduceLROnPlateau); a value that is a list of arrays goes into ``arrays``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnrun.errors import InvalidArgumentError

FORMAT = 1


@dataclass
class TrainingCheckpoint:
    """``meta`` (JSON-serializable) and ``arrays`` (name → ndarray) of one end-of-epoch state."""

    meta: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def epoch(self) -> int:
        """How many epochs were completed (the ``initial_epoch`` to continue from)."""
        return int(self.meta["epoch"])


def _stateful(callbacks: list[Any]) -> list[Any]:
    return [cb for cb in callbacks if callable(getattr(cb, "get_state", None))]


def _generators(model: Any) -> dict[str, np.random.Generator]:
    """The layers' own random generators (Dropout), by layer name."""
    return {
        layer.name: layer._rng
        for layer in model.layers
        if isinstance(getattr(layer, "_rng", None), np.random.Generator)
    }


def capture_training_state(
    model: Any, callbacks: list[Any], shuffle_rng: np.random.Generator | None, epochs_done: int, **extra: Any
) -> TrainingCheckpoint:
    """The state after ``epochs_done`` complete epochs (call it at the end of an epoch, after the callbacks)."""
    arrays: dict[str, np.ndarray] = {f"weights/{i:04d}": v.numpy() for i, v in enumerate(model.weights)}
    optimizer = model.optimizer
    for i, a in enumerate(optimizer.variables):
        arrays[f"optimizer/{i:04d}"] = np.array(a)
    states = []
    for k, cb in enumerate(_stateful(callbacks)):
        state: dict[str, Any] = {}
        for key, value in cb.get_state().items():
            if isinstance(value, list) and all(isinstance(a, np.ndarray) for a in value):
                for j, a in enumerate(value):
                    arrays[f"callbacks/{k}/{key}/{j:04d}"] = a
                state[key] = {"arrays": len(value)}
            else:
                state[key] = value
        states.append({"class_name": type(cb).__name__, "state": state})
    meta = {
        "format": FORMAT,
        "epoch": int(epochs_done),
        "optimizer": {"class_name": type(optimizer).__name__, "variables": len(optimizer.variables)},
        "callbacks": states,
        "rng": {
            "shuffle": None if shuffle_rng is None else shuffle_rng.bit_generator.state,
            "layers": {name: g.bit_generator.state for name, g in _generators(model).items()},
        },
        **extra,
    }
    return TrainingCheckpoint(meta, arrays)


def restore_training_state(
    model: Any, callbacks: list[Any], shuffle_rng: np.random.Generator | None, checkpoint: TrainingCheckpoint
) -> None:
    """Put ``checkpoint`` back: call it once the optimizer is built and the callbacks have reset themselves
    (from a callback placed after them, in ``on_train_begin``)."""
    meta, arrays = checkpoint.meta, checkpoint.arrays
    if meta.get("format") != FORMAT:
        raise InvalidArgumentError(f"checkpoint format {meta.get('format')!r} is not {FORMAT}; it cannot be resumed.")
    weights = [arrays[f"weights/{i:04d}"] for i in range(len(model.weights)) if f"weights/{i:04d}" in arrays]
    model.set_weights(weights)  # checks the count and the shapes
    optimizer = model.optimizer
    expected = meta["optimizer"]
    if type(optimizer).__name__ != expected["class_name"]:
        raise InvalidArgumentError(
            f"The checkpoint was made with optimizer {expected['class_name']}; this model uses "
            f"{type(optimizer).__name__}."
        )
    optimizer.set_weights([arrays[f"optimizer/{i:04d}"] for i in range(int(expected["variables"]))])
    stateful = _stateful(callbacks)
    saved = meta["callbacks"]
    names = [type(cb).__name__ for cb in stateful]
    if names != [s["class_name"] for s in saved]:
        raise InvalidArgumentError(
            f"The checkpoint holds the state of callbacks {[s['class_name'] for s in saved]}; this run has {names}."
        )
    for k, (cb, entry) in enumerate(zip(stateful, saved)):
        state = {}
        for key, value in entry["state"].items():
            if isinstance(value, dict) and set(value) == {"arrays"}:
                value = [arrays[f"callbacks/{k}/{key}/{j:04d}"] for j in range(int(value["arrays"]))]
            state[key] = value
        cb.set_state(state)
    rng = meta["rng"]
    if shuffle_rng is not None and rng["shuffle"] is not None:
        shuffle_rng.bit_generator.state = rng["shuffle"]
    generators = _generators(model)
    if sorted(generators) != sorted(rng["layers"]):
        raise InvalidArgumentError(
            f"The checkpoint holds random generators of layers {sorted(rng['layers'])}; this model has "
            f"{sorted(generators)}."
        )
    for name, g in generators.items():
        g.bit_generator.state = rng["layers"][name]


__all__ = ["TrainingCheckpoint", "capture_training_state", "restore_training_state"]
