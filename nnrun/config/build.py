"""The one place that turns a validated, resolved config into engine objects.

The model's layers come from the layer registry (``config/layers.py``); randomness comes from the
config's seed through ``np.random.SeedSequence``. Loading and preparing the data is the experiment's
job (``nnrun/experiment.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnrun.config.layers import LAYERS, BuildContext
from nnrun.config.schema import ExperimentConfig
from nnrun.engine import callbacks as engine_callbacks
from nnrun.engine import layers as engine_layers
from nnrun.engine import losses as engine_losses
from nnrun.engine import optimizers as engine_optimizers
from nnrun.engine.models import Sequential


def seeds(config: ExperimentConfig) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """Independent seed streams for the weights (initializers, dropout) and the shuffling."""
    weights, shuffle = np.random.SeedSequence(config.seed).spawn(2)
    return weights, shuffle


def build_model(config: ExperimentConfig, input_shape: tuple[int, ...]) -> Sequential:
    """The resolved config's layers as a Sequential model with deterministic initial weights."""
    weight_seeds = iter(seeds(config)[0].generate_state(4 * len(config.model.layers) + 4).tolist())
    dtype = config.model.dtype
    context = BuildContext(dtype, weight_seeds)
    names = _LayerNames()
    model = Sequential(name=config.name)
    model.add(engine_layers.Input(shape=input_shape, dtype=dtype))
    for item in config.model.layers:
        spec, layer_config = LAYERS.of(item)
        model.add(spec.build(layer_config, names(layer_config.name, spec.name), context))
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
