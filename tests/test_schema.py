"""The committed JSON Schema (``nnrun.schema.json``) accepts what the loader accepts, short forms included,
and rejects what it rejects; it is the one ``nnrun schema`` writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from nnrun.config import config_json_schema, load_config
from nnrun.errors import ConfigError

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((ROOT / "nnrun.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def schema_errors(data: object, schema: dict | None = None) -> list[str]:
    validator = VALIDATOR if schema is None else jsonschema.Draft202012Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def readme_yaml_blocks() -> list[tuple[int, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in re.finditer(r"```yaml\n(.*?)```", text, re.S)]


def test_committed_schema_is_the_generated_one():
    assert config_json_schema() == SCHEMA, "run: nnrun schema --out nnrun.schema.json"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_is_valid(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert schema_errors(data) == []
    load_config(path)  # and the loader agrees


@pytest.mark.parametrize(("line", "block"), readme_yaml_blocks(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_every_readme_yaml_block_is_valid(line, block):
    data = yaml.safe_load(block)
    assert isinstance(data, dict), f"README.md line {line}: a YAML block is a mapping"
    # a block showing one section (sweep: ...) is checked with the top-level keys optional
    schema = SCHEMA if "model" in data else {**SCHEMA, "required": []}
    if block.startswith("# bad.yaml"):  # the README's example of a wrong config: the editor must flag it too
        errors = " ".join(schema_errors(data, schema))
        assert "rleu" in errors and "1.5" in errors and "learnig_rate" in errors, errors
        return
    assert schema_errors(data, schema) == [], f"README.md line {line}"


def test_readme_has_yaml_blocks():
    assert len(readme_yaml_blocks()) >= 2


SHORT_FORMS = """\
name: short
data: {dataset: blobs}
model:
  layers:
    - flatten
    - dense: 64
    - batchnorm: {}
    - bn:
    - batch_normalization: {momentum: 0.9}
    - dropout: 0.2
    - dropout: 0
    - activation: tanh
    - flatten: null
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  optimizer: adam
"""


@pytest.mark.parametrize(
    "change",
    [
        ("", ""),
        ("optimizer: adam", "optimizer: {name: sgd, lr: 0.1}"),
        ("optimizer: adam", "optimizer: {name: sgd, learning_rate: 0.1, momentum: 0.9}"),
        ("loss: sparse_categorical_crossentropy", "loss: {name: sparse_categorical_crossentropy, from_logits: false}"),
        ("data: {dataset: blobs}", "data: {dataset: blobs, flatten: auto, one_hot: false}"),
        ("optimizer: adam", "optimizer: RMSProp"),  # names in any case, _ and - ignored, as the registries
        ("optimizer: adam", "optimizer: {name: Adam_W, weight_decay: 0.01}"),
        ("activation: tanh", "activation: Leaky-ReLU"),
        ("model:\n", "model:\n  hidden: {kernel_initializer: HeNormal, activation: ELU}\n"),
    ],
)
def test_short_forms_are_valid_for_both(change):
    text = SHORT_FORMS.replace(*change)
    assert schema_errors(yaml.safe_load(text)) == []
    load_config(text=text)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (("- dense: 64", "- dense: 0"), "model.layers.1"),
        (("- dense: 64", "- dense: {units: 8, kernel_init: zeros}"), "model.layers.1"),
        (("- dense: 64", "- dense"), "model.layers.1"),  # units are required: no bare name
        (("- dense: 64", "- convolution: 3"), "model.layers.1"),
        (("- dense: 64", "- {dense: 4, dropout: 0.1}"), "model.layers.1"),
        (("- dropout: 0.2", "- dropout: 1.5"), "model.layers.5"),
        (("- activation: tanh", "- activation: rleu"), "model.layers.7"),
        (("optimizer: adam", "optimizer: adamm"), "train.optimizer"),
        (("optimizer: adam", "optimizer: {name: adam, lr: 0.1, learning_rate: 0.1}"), "train.optimizer"),
        (("optimizer: adam", "optimizer: {name: adam, learnig_rate: 0.1}"), "train.optimizer"),
        (("loss: sparse_categorical_crossentropy", "loss: 3"), "train.loss"),
        (("name: short", "name: short\nepochs: 3"), ""),
        (("data: {dataset: blobs}", "data: {dataset: blobs, flatten: sometimes}"), "data.flatten"),
    ],
)
def test_invalid_configs_are_rejected_by_both(change, where):
    text = SHORT_FORMS.replace(*change)
    assert text != SHORT_FORMS
    errors = schema_errors(yaml.safe_load(text))
    assert errors, f"the schema accepts {change[1]!r}"
    assert any(e.startswith(where) for e in errors), errors
    with pytest.raises(ConfigError, match=re.escape(where) if where else r"unknown key"):
        load_config(text=text)
