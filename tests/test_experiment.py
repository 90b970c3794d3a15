"""The experiment layer: ``prepare`` (config → resolved config + data), the data cache behind it, and the
layer registry that decides where inputs are flattened."""

from __future__ import annotations

import numpy as np
import pytest

import nnrun.config.build
from nnrun.config import load_config
from nnrun.config.layers import LAYERS, first_needing_vectors
from nnrun.config.load import SHORT_FORMS, line_of
from nnrun.config.reference import SECTIONS
from nnrun.config.schema import LAYER_TYPES
from nnrun.data.cache import CACHE, DataCache
from nnrun.errors import ConfigError
from nnrun.experiment import Experiment, prepare

BLOBS = """\
data: {dataset: blobs, n_samples: 120}
model:
  layers:
    - dense: 8
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
"""


def counts() -> tuple[int, int]:
    return CACHE.loads, CACHE.preprocessings


def test_experiment_lives_in_its_own_layer():
    assert not hasattr(nnrun.config.build, "prepare") and not hasattr(nnrun.config.build, "Experiment")
    experiment = prepare(load_config(text=BLOBS))
    assert isinstance(experiment, Experiment) and experiment.dataset.x_train.shape == (120, 2)


def test_data_is_loaded_and_preprocessed_once_for_many_configs():
    CACHE.clear()
    before = counts()
    for epochs in range(1, 6):
        prepare(load_config(text=BLOBS, overrides=[f"train.epochs={epochs}", f"seed={epochs}"]))
    assert (counts()[0] - before[0], counts()[1] - before[1]) == (1, 1)


def test_each_preprocessing_variant_is_kept():
    """Trials alternating between one-hot and integer labels do not preprocess again and again."""
    CACHE.clear()
    before = counts()
    categorical = ["train.loss=categorical_crossentropy"]
    for _ in range(3):
        sparse = prepare(load_config(text=BLOBS))
        one_hot = prepare(load_config(text=BLOBS, overrides=categorical))
    assert sparse.dataset.y_train.ndim == 1 and one_hot.dataset.y_train.shape == (120, 3)
    assert (counts()[0] - before[0], counts()[1] - before[1]) == (1, 2)


def test_preparing_a_resolved_config_again_is_a_fixed_point_without_data_work():
    experiment = prepare(load_config(text=BLOBS))
    before = counts()
    again = prepare(experiment.config)  # what a sweep's worker does with the trial's resolved config
    assert again.config == experiment.config and again.dataset is experiment.dataset
    assert counts() == before


def test_a_data_file_changed_on_disk_is_read_again(tmp_path):
    path = tmp_path / "d.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(40, 3)).astype("float32"), y=rng.integers(0, 3, 40))
    text = BLOBS.replace("{dataset: blobs, n_samples: 120}", f"{{path: {path}}}")
    assert prepare(load_config(text=text)).dataset.x_train.shape == (40, 3)
    np.savez(path, x=rng.normal(size=(60, 3)).astype("float32"), y=rng.integers(0, 3, 60))
    assert prepare(load_config(text=text)).dataset.x_train.shape == (60, 3)


def test_the_cache_keeps_the_most_recently_used_data_sets():
    cache = DataCache(size=2)
    args = {"dataset": "blobs", "n_samples": 50, "seed": 0}
    first = cache.load(args)
    cache.load({**args, "seed": 1})
    assert cache.load(args) is first  # used again: moves to the end
    cache.load({**args, "seed": 2})  # drops seed 1, the least recently used
    assert cache.loads == 3 and cache.load(args) is first and cache.loads == 3
    cache.load({**args, "seed": 1})
    assert cache.loads == 4


def test_a_sweep_plan_reads_its_data_once(tmp_path):
    from nnrun.sweep.plan import plan_sweep

    config = tmp_path / "sweep.yaml"
    config.write_text(
        BLOBS + "sweep:\n  parameters:\n    model.hidden.activation: [relu, tanh, sigmoid]\n    seed: [1, 2]\n"
    )
    CACHE.clear()
    before = counts()
    plan = plan_sweep(config)
    assert len(plan.trials) == 6
    for trial in plan.trials:  # the workers of a serial (or Ray) sweep prepare each trial's config again
        prepare(plan.experiment(trial.id).config)
    assert (counts()[0] - before[0], counts()[1] - before[1]) == (1, 1)


# -- where the input is flattened ----------------------------------------------------------------------


def image_config(layers: str, flatten: str = "auto") -> str:
    layers = layers.replace("DENSE", "{dense: {units: 10, activation: softmax}}")
    return (
        f"data: {{dataset: mnist_sample, limit: 100, flatten: {flatten}}}\nmodel:\n  layers: {layers}\n"
        "train: {loss: sparse_categorical_crossentropy}\n"
    )


@pytest.mark.parametrize(
    ("layers", "flattened", "shape"),
    [
        ("[DENSE]", True, (784,)),
        ("[{dropout: 0.1}, {batchnorm: null}, DENSE]", True, (784,)),  # shape-preserving layers first
        ("[flatten, DENSE]", False, (28, 28)),  # the model flattens itself
    ],
)
def test_images_are_flattened_only_before_a_layer_that_needs_vectors(layers, flattened, shape):
    experiment = prepare(load_config(text=image_config(layers)))
    assert experiment.config.data.flatten is flattened
    assert experiment.dataset.x_train.shape[1:] == shape


def test_first_needing_vectors_walks_past_shape_preserving_layers():
    config = load_config(text=image_config("[{dropout: 0.1}, {activation: relu}, {dense: 10}]"))
    assert first_needing_vectors(config.model.layers) == 2
    config = load_config(text=image_config("[{dropout: 0.1}, flatten, {dense: 10}]"))
    assert first_needing_vectors(config.model.layers) is None


def test_unflattened_images_before_a_dense_layer_name_that_layer():
    text = image_config("[{dropout: 0.1}, DENSE]", flatten="false")
    expected = r"data\.flatten \(line 1\): the samples have shape \(28, 28\), but layer 1 is dense and expects vectors"
    with pytest.raises(ConfigError, match=expected):
        prepare(load_config(text=text))


# -- one registration per layer ------------------------------------------------------------------------


@pytest.mark.parametrize("spec", list(LAYERS), ids=lambda s: s.name)
def test_every_registered_layer_reaches_schema_short_forms_and_reference(spec):
    assert LAYER_TYPES[spec.name] is spec.item
    for key in (spec.name, *spec.aliases):
        assert (SHORT_FORMS.get(key) == spec.short) if spec.short else key not in SHORT_FORMS
    assert any(model is spec.config for _, model, _ in SECTIONS)


def test_line_of_finds_dotted_keys_aliases_and_list_items():
    lines = {
        ("train",): 5,
        ("train", "optimizer"): 6,
        ("train", "optimizer", "lr"): 7,
        ("model", "layers", 1): 9,
        ("sweep", "parameters", "model.hidden.activation"): 12,
    }
    assert line_of(lines, "train.optimizer.learning_rate") == 7
    assert line_of(lines, "train.optimizer.beta_1") == 6
    assert line_of(lines, ("model", "layers", 1, "dense", "units")) == 9
    assert line_of(lines, "sweep.parameters.model.hidden.activation") == 12
    assert line_of(lines, "data.path") is None
