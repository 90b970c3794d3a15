"""The one place that turns a validated config into data and engine objects.

``prepare(config)`` loads and preprocesses the data, resolves every ``auto`` option and default, and
runs the checks across keys, all before anything is trained or written. The ``build_*`` functions make
the engine objects; randomness comes from the config's seed through ``np.random.SeedSequence``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.config.checks import run_checks
from nnrun.config.schema import (
    ActivationItem,
    BatchNormalizationItem,
    DenseItem,
    DropoutItem,
    ExperimentConfig,
    FlattenItem,
)
from nnrun.data import Dataset, load_dataset, preprocess
from nnrun.engine import callbacks as engine_callbacks
from nnrun.engine import layers as engine_layers
from nnrun.engine import losses as engine_losses
from nnrun.engine import optimizers as engine_optimizers
from nnrun.engine.initializers import INITIALIZERS, Initializer
from nnrun.engine.models import Sequential
from nnrun.errors import ConfigError


@dataclass(frozen=True)
class Experiment:
    """A resolved config and its prepared data: everything a trial needs, picklable."""

    config: ExperimentConfig
    dataset: Dataset


def prepare(config: ExperimentConfig) -> Experiment:
    """Load and preprocess the data, resolve defaults and ``auto`` options, check the keys against each other."""
    d = config.data
    if d.path is not None:
        # a relative path is relative to the config file; the saved config records it absolute
        source = Path(config._source) if config._source else None
        base = source.parent if source is not None and source.is_file() else Path.cwd()
        d = d.model_copy(update={"path": str((base / Path(d.path).expanduser()).resolve())})
        config = config.model_copy(update={"data": d})
    raw = _load_dataset_cached(d)
    first = config.model.layers[0]
    flatten = d.flatten if d.flatten != "auto" else raw.x_train.ndim > 2 and not isinstance(first, FlattenItem)
    scale = d.scale if d.scale != "auto" else raw.x_train.dtype == np.uint8
    loss_name = engine_losses.LOSSES.canonical(config.train.loss.name)
    one_hot = d.one_hot
    if one_hot == "auto":
        one_hot = loss_name == "CategoricalCrossentropy" and raw.task == "classification" and raw.y_train.ndim == 1
    options = {"flatten": bool(flatten), "scale": bool(scale), "standardize": d.standardize, "one_hot": bool(one_hot)}
    cached = _PREPARED.get(id(raw))
    if cached is not None and cached[0] is raw and cached[1] == options:
        dataset = cached[2]
    else:
        dataset = preprocess(raw, **options)
        _PREPARED[id(raw)] = (raw, options, dataset)
    resolved = config.resolved(task=dataset.task)
    resolved = resolved.model_copy(
        update={
            "data": resolved.data.model_copy(
                update={"flatten": bool(flatten), "scale": bool(scale), "one_hot": bool(one_hot)}
            )
        }
    )
    problems = run_checks(resolved, dataset)
    if problems:
        for p in problems:
            p.line = _line(config._lines, p.path)
        raise ConfigError(problems, config._source)
    return Experiment(resolved, dataset)


_DATA_CACHE: dict[str, Dataset] = {}
_PREPARED: dict[int, tuple[Dataset, dict, Dataset]] = {}  # raw data set → (it, options, preprocessed)


def _load_dataset_cached(d: Any) -> Dataset:
    """The data set a data config describes, loaded once per process (sweeps prepare many trials)."""
    key = d.model_dump_json(exclude={"flatten", "scale", "standardize", "one_hot"})
    dataset = _DATA_CACHE.get(key)
    if dataset is None:
        if len(_DATA_CACHE) >= 4:
            _DATA_CACHE.clear()
            _PREPARED.clear()
        dataset = _DATA_CACHE[key] = load_dataset(
            d.dataset,
            d.path,
            label_column=d.label_column,
            n_samples=d.n_samples,
            noise=d.noise,
            n_features=d.n_features,
            n_classes=d.n_classes,
            test_split=d.test_split,
            limit=d.limit,
            seed=d.seed,
        )
    return dataset


def _line(lines: dict, dotted: str) -> int | None:
    parts = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
    for n in range(len(parts), 0, -1):
        if parts[:n] in lines:
            return lines[parts[:n]]
    return None


def seeds(config: ExperimentConfig) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """Independent seed streams for the weights (initializers, dropout) and the shuffling."""
    weights, shuffle = np.random.SeedSequence(config.seed).spawn(2)
    return weights, shuffle


def _initializer(name: str, seed: int) -> Initializer:
    cls = INITIALIZERS.get(name)
    return cls(seed=seed) if "seed" in inspect.signature(cls).parameters else cls()


def build_model(config: ExperimentConfig, input_shape: tuple[int, ...]) -> Sequential:
    """The resolved config's layers as a Sequential model with deterministic initial weights."""
    weight_seeds = iter(seeds(config)[0].generate_state(4 * len(config.model.layers) + 4).tolist())
    dtype = config.model.dtype
    names = _LayerNames()
    model = Sequential(name=config.name)
    model.add(engine_layers.Input(shape=input_shape, dtype=dtype))
    for item in config.model.layers:
        if isinstance(item, DenseItem):
            c = item.dense
            layer: engine_layers.Layer = engine_layers.Dense(
                c.units,
                activation=c.activation,
                use_bias=c.use_bias,
                kernel_initializer=_initializer(c.kernel_initializer, next(weight_seeds)),  # type: ignore[arg-type]
                bias_initializer=_initializer(c.bias_initializer, next(weight_seeds)),  # type: ignore[arg-type]
                name=names(c.name, "dense"),
                dtype=dtype,
            )
        elif isinstance(item, DropoutItem):
            c2 = item.dropout
            seed = c2.seed if c2.seed is not None else next(weight_seeds)
            layer = engine_layers.Dropout(c2.rate, seed=seed, name=names(c2.name, "dropout"), dtype=dtype)
        elif isinstance(item, BatchNormalizationItem):
            c3 = item.batch_normalization
            layer = engine_layers.BatchNormalization(
                momentum=c3.momentum,
                epsilon=c3.epsilon,
                center=c3.center,
                scale=c3.scale,
                name=names(c3.name, "batch_normalization"),
                dtype=dtype,
            )
        elif isinstance(item, ActivationItem):
            layer = engine_layers.Activation(
                item.activation.activation, name=names(item.activation.name, "activation"), dtype=dtype
            )
        else:
            layer = engine_layers.Flatten(name=names(item.flatten.name, "flatten"), dtype=dtype)
        model.add(layer)
    return model


class _LayerNames:
    """Keras-style names numbered within one model (dense, dense_1, ...), whatever ran before."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, given: str | None, base: str) -> str:
        if given is not None:
            return given
        n = self.counts.get(base, 0)
        self.counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"


def build_compile_arguments(config: ExperimentConfig) -> dict[str, Any]:
    """``optimizer``, ``loss`` and ``metrics`` for ``model.compile``."""
    t = config.train
    optimizer = engine_optimizers.OPTIMIZERS.get(t.optimizer.name)(**t.optimizer.arguments())
    loss = engine_losses.LOSSES.get(t.loss.name)(**t.loss.arguments())
    return {"optimizer": optimizer, "loss": loss, "metrics": list(t.metrics or [])}


def build_callbacks(config: ExperimentConfig) -> list[engine_callbacks.Callback]:
    """EarlyStopping and ReduceLROnPlateau as configured."""
    c = config.train.callbacks
    out: list[engine_callbacks.Callback] = []
    if c.early_stopping is not None:
        out.append(engine_callbacks.EarlyStopping(**c.early_stopping.model_dump()))
    if c.reduce_lr_on_plateau is not None:
        out.append(engine_callbacks.ReduceLROnPlateau(**c.reduce_lr_on_plateau.model_dump()))
    return out
