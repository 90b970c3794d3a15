"""An experiment: a resolved config and its prepared data, everything a trial needs.

``prepare(config)`` resolves the data path (relative to the config file), loads and preprocesses the data
(through the process's data cache: a sweep reads its data once per process), resolves every ``auto``
option and default, and runs the checks across keys, all before anything is built, trained or written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.config.checks import AFTER_PREPROCESSING, BEFORE_PREPROCESSING, run_checks
from nnrun.config.layers import first_needing_vectors
from nnrun.config.load import line_of
from nnrun.config.schema import DataConfig, ExperimentConfig
from nnrun.data import Dataset
from nnrun.data.cache import CACHE
from nnrun.data.transform import Preprocessing, fit_preprocessing
from nnrun.engine.losses import LOSSES
from nnrun.errors import ConfigError


@dataclass(frozen=True)
class Experiment:
    """A resolved config and its prepared data: everything a trial needs, picklable."""

    config: ExperimentConfig
    dataset: Dataset
    preprocessing: Preprocessing | None = None  # its parameters, recorded with the run


def prepare(config: ExperimentConfig) -> Experiment:
    """Load and preprocess the data, resolve defaults and ``auto`` options, check the keys against each other.

    Preparing the resolved config of an experiment again gives the same experiment.
    """
    config = _absolute_data_path(config)
    d = config.data
    arguments = data_arguments(d)
    raw = CACHE.load(arguments)
    options = _preprocessing(config, raw)
    resolved = config.resolved(task=raw.task)
    resolved = resolved.model_copy(
        update={"data": resolved.data.model_copy(update={k: options[k] for k in ("flatten", "scale", "one_hot")})}
    )
    # labels and memory first: one-hot encoding a billion classes would not finish
    _raise(config, run_checks(resolved, raw, BEFORE_PREPROCESSING))
    dataset = CACHE.prepared(arguments, options)
    _raise(config, run_checks(resolved, dataset, AFTER_PREPROCESSING))
    return Experiment(resolved, dataset, fit_preprocessing(raw, **options))


def _raise(config: ExperimentConfig, problems: list) -> None:
    if problems:
        for p in problems:
            p.line = line_of(config._lines, p.path)
        raise ConfigError(problems, config._source)


def data_arguments(d: DataConfig) -> dict[str, Any]:
    """The arguments of ``load_dataset`` a data config gives."""
    return {
        "dataset": d.dataset,
        "path": d.path,
        "label_column": d.label_column,
        "n_samples": d.n_samples,
        "noise": d.noise,
        "n_features": d.n_features,
        "n_classes": d.n_classes,
        "test_split": d.test_split,
        "limit": d.limit,
        "seed": d.seed,
    }


def _absolute_data_path(config: ExperimentConfig) -> ExperimentConfig:
    """A relative data path is relative to the config file; the saved config records it absolute."""
    d = config.data
    if d.path is None:
        return config
    source = Path(config._source) if config._source else None
    base = source.parent if source is not None and source.is_file() else Path.cwd()
    d = d.model_copy(update={"path": str((base / Path(d.path).expanduser()).resolve())})
    return config.model_copy(update={"data": d})  # the copy keeps _source and _lines


def _preprocessing(config: ExperimentConfig, raw: Dataset) -> dict[str, bool]:
    """The preprocessing options with ``auto`` resolved for this data and model."""
    d = config.data
    flatten = d.flatten
    if flatten == "auto":  # images are flattened only when a layer that needs vectors would receive them
        flatten = raw.x_train.ndim > 2 and first_needing_vectors(config.model.layers) is not None
    scale = d.scale if d.scale != "auto" else raw.x_train.dtype == np.uint8
    one_hot = d.one_hot
    if one_hot == "auto":
        loss = LOSSES.canonical(config.train.loss.name)
        one_hot = loss == "CategoricalCrossentropy" and raw.task == "classification" and raw.y_train.ndim == 1
    return {"flatten": bool(flatten), "scale": bool(scale), "standardize": d.standardize, "one_hot": bool(one_hot)}


__all__ = ["Experiment", "data_arguments", "prepare"]
