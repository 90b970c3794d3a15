"""Experiment configs: validation with key paths, lines and did-you-mean; overrides; resolution; checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from nnrun.config import config_json_schema, load_config
from nnrun.config.build import build_model
from nnrun.errors import ConfigError, DataError
from nnrun.experiment import prepare

ROOT = Path(__file__).parent.parent

MINIMAL = """\
data: {dataset: blobs, n_samples: 200}
model:
  layers:
    - dense: 8
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
"""


def config_from(text: str, overrides=None):
    return load_config(text=text, overrides=overrides)


def problems(text: str, overrides=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        prepare(config_from(text, overrides))
    return [str(p) for p in info.value.problems]


def test_minimal_config_gets_keras_defaults_and_hidden_defaults():
    experiment = prepare(config_from(MINIMAL))
    c = experiment.config
    assert c.name == "experiment" and c.seed == 0
    hidden, output = c.model.layers[0].dense, c.model.layers[1].dense
    assert (hidden.activation, hidden.kernel_initializer, hidden.bias_initializer) == (
        "relu",
        "glorot_uniform",
        "zeros",
    )
    assert (output.activation, output.kernel_initializer) == ("softmax", "glorot_uniform")
    assert c.train.optimizer.name == "rmsprop" and c.train.optimizer.learning_rate == 0.001
    assert c.train.optimizer.rho == 0.9
    assert (c.train.epochs, c.train.batch_size, c.train.validation_split) == (1, 32, 0.0)
    assert c.train.metrics == ["accuracy"]


def test_hidden_defaults_apply_to_hidden_layers_only_and_layers_override_them():
    text = MINIMAL.replace("  layers:", "  hidden: {activation: tanh, kernel_initializer: he_normal}\n  layers:")
    text = text.replace("- dense: 8", "- dense: 8\n    - dense: {units: 4, activation: elu}")
    c = prepare(config_from(text)).config
    first, second, output = (item.dense for item in c.model.layers)
    assert (first.activation, first.kernel_initializer) == ("tanh", "he_normal")
    assert (second.activation, second.kernel_initializer) == ("elu", "he_normal")
    assert (output.activation, output.kernel_initializer) == ("softmax", "glorot_uniform")


def test_every_layer_short_form():
    text = """\
data: {dataset: mnist_sample, limit: 200}
model:
  layers:
    - flatten
    - dense: 16
    - batchnorm: {}
    - bn: {momentum: 0.9}
    - batch_normalization: null
    - dropout: 0.25
    - activation: tanh
    - dense: {units: 10, activation: softmax}
train: {loss: sparse_categorical_crossentropy}
"""
    experiment = prepare(config_from(text))
    kinds = [next(iter(item.model_dump())) for item in experiment.config.model.layers]
    assert kinds == [
        "flatten",
        "dense",
        "batch_normalization",
        "batch_normalization",
        "batch_normalization",
        "dropout",
        "activation",
        "dense",
    ]
    assert experiment.config.data.flatten is False  # the model flattens itself
    model = build_model(experiment.config, tuple(experiment.dataset.x_train.shape[1:]))
    assert model.layers[3].momentum == 0.9 and model.layers[5].rate == 0.25
    assert [layer.name for layer in model.layers][:3] == ["flatten", "dense", "batch_normalization"]


def test_errors_name_the_key_path_line_value_and_closest_choice():
    text = """\
name: bad
data: {dataset: mnist_smaple}
model:
  hidden: {activation: rleu}
  layers:
    - dense: 0
    - dense2: 3
    - dropout: 1.5
    - dense: {units: 10, activation: softmax, kernel_init: zeros}
train:
  loss: sparse_categorical_crossentropy
  optimizer: {name: sgd, learnig_rate: 0.01}
  metrics: [acuracy]
  epochs: -1
"""
    with pytest.raises(ConfigError) as info:
        config_from(text)
    got = {p.path: (p.line, p.message) for p in info.value.problems}
    assert got["data.dataset"][0] == 2 and "Did you mean 'mnist_sample'?" in got["data.dataset"][1]
    assert got["model.hidden.activation"] == (4, got["model.hidden.activation"][1])
    assert (
        "unknown activation 'rleu'" in got["model.hidden.activation"][1]
        and "Did you mean 'relu'?" in got["model.hidden.activation"][1]
    )
    assert got["model.layers.0.dense.units"] == (6, "must be greater than 0. Received: 0")
    assert got["model.layers.1"][0] == 7 and "unknown layer type 'dense2'" in got["model.layers.1"][1]
    assert got["model.layers.2.dropout.rate"] == (8, "must be less than or equal to 1. Received: 1.5")
    assert got["model.layers.3.dense.kernel_init"][0] == 9
    assert got["model.layers.3.dense.kernel_init"][1].endswith("Did you mean 'kernel_initializer'?")
    assert got["train.optimizer.learnig_rate"][0] == 12
    assert got["train.optimizer.learnig_rate"][1].startswith("unknown key. Expected one of: name, learning_rate")
    assert got["train.metrics.0"][0] == 13 and "Did you mean 'accuracy'?" in got["train.metrics.0"][1]
    assert got["train.epochs"] == (14, "must be greater than 0. Received: -1")
    message = str(info.value)
    assert message.startswith("<config>: 9 problems:\n  data.dataset (line 2): unknown data set 'mnist_smaple'")


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            ("optimizer: rmsprop", "optimizer: {name: sgd, beta_1: 0.9}"),
            "train.optimizer.beta_1",
            "SGD has no argument 'beta_1'. Its arguments: learning_rate, weight_decay",
        ),
        (
            ("optimizer: rmsprop", "optimizer: {name: adam, lr: 0.1, learning_rate: 0.2}"),
            "train.optimizer.lr",
            "give learning_rate or its alias lr, not both",
        ),
        (
            ("optimizer: rmsprop", "optimizer: {name: adam, clipnorm: 1, clipvalue: 1}"),
            "train.optimizer.clipnorm",
            "Adam: only one of clipnorm, clipvalue and global_clipnorm can be set",
        ),
        (
            ("loss: sparse_categorical_crossentropy", "loss: {name: mse, from_logits: true}"),
            "train.loss.from_logits",
            "mse has no argument 'from_logits'. Its arguments: none",
        ),
        (
            ("loss: sparse_categorical_crossentropy", "loss: {name: huber, delta: -1}"),
            "train.loss.delta",
            "must be greater than 0. Received: -1",
        ),
        (
            ("epochs: 1", "epochs: 1\n  callbacks: {early_stopping: {monitor: val_acuracy}}"),
            "train.callbacks.early_stopping.monitor",
            "Did you mean 'val_accuracy'?",
        ),
        (
            ("epochs: 1", "epochs: 1\n  callbacks: {early_stopping: {monitor: val_loss}}"),
            "train.callbacks.early_stopping.monitor",
            "needs validation data: set train.validation_split",
        ),
        (("epochs: 1", "epochs: one"), "train.epochs", "must be a valid integer"),
        (("dataset: blobs", "dataset: blobs, path: x.npz"), "data.path", "give either dataset or path, not both"),
    ],
)
def test_argument_errors(change, path, message):
    text = (MINIMAL + "  optimizer: rmsprop\n  epochs: 1\n").replace(*change)
    with pytest.raises(ConfigError) as info:
        config_from(text)
    found = [p for p in info.value.problems if p.path == path]
    assert found, [str(p) for p in info.value.problems]
    assert message in found[0].message


def test_yaml_problems_have_lines():
    with pytest.raises(ConfigError, match=r"train.loss \(line 8\): duplicate key \(first given on line 7\)"):
        config_from(MINIMAL + "  loss: mse\n")
    with pytest.raises(ConfigError, match=r"<config>: line 3: not valid YAML: .*expected the node content"):
        config_from("model:\n  layers: [\n  - dense: 3\n")
    with pytest.raises(ConfigError, match=r"the config must be a mapping of keys \(name, data, model, train\)"):
        config_from("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"model: required key is missing"):
        config_from("train: {loss: mse}\n")


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"the config file does not exist: .*nope\.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_set_overrides_any_key_with_yaml_typed_values():
    c = config_from(
        MINIMAL,
        [
            "train.epochs=3",
            "train.optimizer={name: sgd, lr: 0.5}",
            "model.layers.0.dense.units=5",
            "data.noise=0.2",
            "name=my run",
        ],
    )
    assert c.train.epochs == 3 and c.train.optimizer.name == "sgd" and c.train.optimizer.learning_rate == 0.5
    assert c.model.layers[0].dense.units == 5 and c.data.noise == 0.2 and c.name == "my run"
    # a key below a short form expands it: `optimizer: rmsprop` becomes `{name: rmsprop, learning_rate: ...}`
    c = config_from(
        MINIMAL + "  optimizer: rmsprop\n", ["train.optimizer.learning_rate=0.01", "train.loss.from_logits=false"]
    )
    assert (c.train.optimizer.name, c.train.optimizer.learning_rate) == ("rmsprop", 0.01)
    assert c.train.loss.from_logits is False
    c = config_from(MINIMAL, ["model.layers.0.dense.activation=tanh"])
    assert (c.model.layers[0].dense.units, c.model.layers[0].dense.activation) == (8, "tanh")


def test_set_errors_say_they_came_from_the_command_line():
    with pytest.raises(
        ConfigError,
        match=r"train.epochs: must be a valid integer, unable to parse string as an integer\. Received: 'many' \(from --set\)",
    ):
        config_from(MINIMAL, ["train.epochs=many"])
    with pytest.raises(ConfigError, match=r"--set expects KEY=VALUE, e.g. train.epochs=5. Received: 'train.epochs'"):
        config_from(MINIMAL, ["train.epochs"])
    with pytest.raises(ConfigError, match=r"model.layers.7: no list item 7 here \(the list has 2 items\)"):
        config_from(MINIMAL, ["model.layers.7.dense=3"])


@pytest.mark.parametrize(
    ("data", "last", "loss", "path", "message"),
    [
        (
            "{dataset: mnist_sample}",
            "{units: 1, activation: sigmoid}",
            "binary_crossentropy",
            "train.loss",
            "binary_crossentropy needs two classes, but mnist_sample has 10 (labels 0..9)",
        ),
        (
            "{dataset: blobs, one_hot: true}",
            "{units: 3, activation: softmax}",
            "sparse_categorical_crossentropy",
            "train.loss",
            "sparse_categorical_crossentropy expects integer class labels, but the targets are one-hot",
        ),
        (
            "{dataset: blobs}",
            "{units: 10, activation: softmax}",
            "sparse_categorical_crossentropy",
            "model.layers.1.dense.units",
            "the output layer has 10 units, but blobs has 3 classes (labels 0..2)",
        ),
        (
            "{dataset: blobs, one_hot: false}",
            "{units: 3, activation: softmax}",
            "categorical_crossentropy",
            "data.one_hot",
            "categorical_crossentropy expects one-hot targets, but the labels are integers",
        ),
        (
            "{dataset: blobs}",
            "{units: 3}",
            "sparse_categorical_crossentropy",
            "model.layers.1.dense.activation",
            "expects probabilities from a softmax output, but the output layer has activation 'linear'",
        ),
        (
            "{dataset: blobs}",
            "{units: 3, activation: softmax}",
            "{name: sparse_categorical_crossentropy, from_logits: true}",
            "model.layers.1.dense.activation",
            "with from_logits: true expects raw scores",
        ),
        (
            "{dataset: mnist_sample, flatten: false}",
            "{units: 10, activation: softmax}",
            "sparse_categorical_crossentropy",
            "data.flatten",
            "the samples have shape (28, 28), but the first layer is dense",
        ),
        (
            "{dataset: regression}",
            "{units: 1, activation: softmax}",
            "sparse_categorical_crossentropy",
            "train.loss",
            "is a classification loss, but the targets of regression are real numbers",
        ),
    ],
)
def test_checks_across_keys_name_the_fix(data, last, loss, path, message):
    text = f"data: {data}\nmodel:\n  layers:\n    - dense: 8\n    - dense: {last}\ntrain:\n  loss: {loss}\n"
    with pytest.raises(ConfigError) as info:
        prepare(config_from(text))
    found = {p.path: p for p in info.value.problems}
    assert path in found, [str(p) for p in info.value.problems]
    assert message in found[path].message
    line = {"train.loss": 7, "data.one_hot": 1, "data.flatten": 1}.get(path)
    if line is not None:
        assert found[path].line == line


def test_validation_split_that_leaves_nothing():
    with pytest.raises(ConfigError, match=r"train.validation_split \(line 8\): 0.99 of 10 training samples leaves 0"):
        prepare(config_from(MINIMAL.replace("n_samples: 200", "n_samples: 10") + "  validation_split: 0.99\n"))


def test_data_file_errors_name_the_file(tmp_path):
    text = MINIMAL.replace("{dataset: blobs, n_samples: 200}", f"{{path: {tmp_path / 'missing.npz'}}}")
    with pytest.raises(DataError, match=r"missing\.npz"):
        prepare(config_from(text))


def test_relative_data_paths_are_relative_to_the_config_file(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "d.npz", x=rng.normal(size=(50, 4)).astype("float32"), y=rng.integers(0, 3, 50))
    cfg = tmp_path / "exp.yaml"
    cfg.write_text(MINIMAL.replace("{dataset: blobs, n_samples: 200}", "{path: data/d.npz}"))
    experiment = prepare(load_config(cfg))
    assert experiment.config.data.path == str((tmp_path / "data" / "d.npz").resolve())
    assert experiment.dataset.x_train.shape == (50, 4)


def test_resolved_config_validates_again_and_is_a_fixed_point():
    experiment = prepare(load_config(ROOT / "configs" / "mnist_mlp.yaml"))
    dumped = experiment.config.to_yaml_dict()
    again = prepare(load_config(text=yaml.safe_dump(dumped))).config.to_yaml_dict()
    assert again == dumped
    assert dumped["train"]["optimizer"] == {
        "name": "adam",
        "learning_rate": 0.001,
        "epsilon": 1e-07,
        "beta_1": 0.9,
        "beta_2": 0.999,
        "amsgrad": False,
    }


def test_regression_data_defaults_to_mae():
    text = "data: {dataset: regression}\nmodel:\n  layers: [{dense: 8}, {dense: 1}]\ntrain: {loss: mse}\n"
    assert prepare(config_from(text)).config.train.metrics == ["mae"]


def test_json_schema_is_committed_and_current():
    schema = config_json_schema()
    assert json.loads((ROOT / "nnrun.schema.json").read_text()) == schema, "run: nnrun schema --out nnrun.schema.json"
    assert schema["additionalProperties"] is False
    layer_kinds = {next(iter(v["properties"])) for k, v in schema["$defs"].items() if k.endswith("Item")}
    assert layer_kinds == {"dense", "dropout", "batch_normalization", "activation", "flatten"}
    names = schema["$defs"]["HiddenDefaults"]["properties"]["kernel_initializer"]["anyOf"]
    assert "he_normal" in names[0]["enum"] and "pattern" in names[1]  # listed for editors; any case accepted


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_example_configs_are_valid(path):
    experiment = prepare(load_config(path))
    assert experiment.config.train.epochs >= 1


def test_readme_config_reference_matches_the_schema():
    from nnrun.config.reference import markdown_reference, reference_rows

    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- config-reference:start -->\n", 1)[1].split("<!-- config-reference:end -->", 1)[0]
    assert block == markdown_reference(), "run: python tools/update_readme_reference.py"
    keys = {row[1] for row in reference_rows()}
    assert {
        "train.optimizer.learning_rate",
        "data.flatten",
        "dense.units",
        "train.callbacks.early_stopping.patience",
    } <= keys


REGULARIZED = """\
data: {dataset: blobs, n_samples: 60}
model:
  layers:
    - dense: {units: 4, kernel_regularizer: REG, bias_regularizer: l2, activity_regularizer: {l1: 0.5}}
    - dense: {units: 3, activation: softmax}
train: {loss: sparse_categorical_crossentropy}
"""


@pytest.mark.parametrize(
    ("given", "built", "saved"),
    [
        ("l2", "L2(l2=0.01)", {"l2": 0.01}),
        ("L1", "L1(l1=0.01)", {"l1": 0.01}),
        ("l1_l2", "L1L2(l1=0.0, l2=0.0)", {"l1": 0.0, "l2": 0.0}),
        ("{l2: 0.001}", "L2(l2=0.001)", {"l2": 0.001}),
        ("{l1: 0.1, l2: 0.2}", "L1L2(l1=0.1, l2=0.2)", {"l1": 0.1, "l2": 0.2}),
    ],
)
def test_dense_regularizers_from_a_name_or_factors(given, built, saved):
    experiment = prepare(config_from(REGULARIZED.replace("REG", given)))
    dense = build_model(experiment.config, (2,)).layers[0]
    assert (repr(dense.kernel_regularizer), repr(dense.bias_regularizer)) == (built, "L2(l2=0.01)")
    assert repr(dense.activity_regularizer) == "L1(l1=0.5)"
    dumped = experiment.config.to_yaml_dict()
    assert dumped["model"]["layers"][0]["dense"]["kernel_regularizer"] == saved  # the factors a name stands for
    again = prepare(load_config(text=yaml.safe_dump(dumped)))
    assert repr(build_model(again.config, (2,)).layers[0].kernel_regularizer) == built


@pytest.mark.parametrize(
    ("given", "path", "message"),
    [
        ("{}", "kernel_regularizer", "give a regularizer name (l2) or its factors"),
        ("{name: l2, l2: 0.1}", "kernel_regularizer", "give a regularizer name or its factors, not both"),
        ("l3", "kernel_regularizer.name", "must be 'l1', 'l2', 'l1_l2', 'L1', 'L2' or 'L1L2'. Received: 'l3'"),
        ("{l2: -1}", "kernel_regularizer.l2", "must be greater than or equal to 0. Received: -1"),
        ("{l3: 1}", "kernel_regularizer.l3", "unknown key. Expected one of: name, l1, l2."),
    ],
)
def test_regularizer_errors(given, path, message):
    with pytest.raises(ConfigError) as info:
        config_from(REGULARIZED.replace("REG", given))
    (problem,) = info.value.problems
    assert problem.path == f"model.layers.0.dense.{path}" and problem.line == 4
    assert message in problem.message


# -- labels and memory, checked before preprocessing ----------------------------------------------------


def npz_config(tmp_path, y, loss="sparse_categorical_crossentropy", last="{units: 3, activation: softmax}"):
    x = np.random.default_rng(0).normal(size=(len(y), 3)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=np.asarray(y))
    return f"data: {{path: {tmp_path / 'd.npz'}}}\nmodel:\n  layers:\n    - dense: 8\n    - dense: {last}\ntrain: {{loss: {loss}}}\n"


def test_one_class_is_a_problem_with_the_labels_not_the_units(tmp_path):
    with pytest.raises(ConfigError) as info:
        prepare(config_from(npz_config(tmp_path, [0] * 40)))
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == ("data.path", 1)
    assert "every label of" in problem.message and "a classifier needs at least two classes" in problem.message


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_labels_up_to_a_billion_are_not_a_billion_classes(tmp_path, loss):
    text = npz_config(tmp_path, [0, 10**9] * 20, loss)
    with pytest.raises(ConfigError) as info:  # before one-hot encoding 10⁹ columns
        prepare(config_from(text))
    (problem,) = info.value.problems
    assert problem.path == "data.path"
    assert "go up to 1,000,000,000 but only 2 different values occur" in problem.message
    assert "units" not in problem.message


def test_labels_as_quantities_with_a_regression_loss_are_fine(tmp_path):
    experiment = prepare(config_from(npz_config(tmp_path, [0, 10**9] * 20, "mse", "1")))
    assert experiment.dataset.y_train.max() == 10**9


def test_a_model_too_big_for_memory_names_the_layer_and_the_estimate(monkeypatch):
    from nnrun.config import checks

    monkeypatch.setattr(checks, "machine_memory", lambda: 16 * 10**9)
    with pytest.raises(
        ConfigError,
        match=r"model\.layers\.0\.dense\.units \(line 4\): training this model needs about \d+\.\d GB of memory "
        r"\(6,000,000,003 weights .*more than this machine's 16\.0 GB\. Reduce units \(now 1,000,000,000\)",
    ):
        prepare(config_from(MINIMAL.replace("- dense: 8", "- dense: 1000000000")))


def test_a_batch_too_big_for_memory_names_the_batch_size(monkeypatch):
    from nnrun.config import checks

    text = MINIMAL.replace("- dense: 8", "- dense: 100000") + "  batch_size: 200\n"
    monkeypatch.setattr(checks, "machine_memory", lambda: 20 * 10**6)  # 20 MB: the weights fit, 200 rows do not
    with pytest.raises(ConfigError, match=r"train\.batch_size \(line 8\): .* Reduce the batch size \(now 200\)"):
        prepare(config_from(text))
    monkeypatch.setattr(checks, "machine_memory", lambda: None)  # unknown: not checked
    assert prepare(config_from(text)).config.train.batch_size == 200
