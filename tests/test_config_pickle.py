"""Configs travel to worker processes and Ray by pickle: every layer kind must survive the round trip."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from nnrun.config import load_config
from nnrun.config.layers import LAYERS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spec", list(LAYERS), ids=lambda spec: spec.name)
def test_every_layer_item_pickles_by_reference(spec):
    assert pickle.loads(pickle.dumps(spec.item)) is spec.item


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_pickles(path):
    config = load_config(path)
    again = pickle.loads(pickle.dumps(config))
    assert again.model_dump() == config.model_dump()
