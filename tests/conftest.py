"""Shared fixtures: the §9 reference model and data, float64 mode, fresh seeds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nnrun import backend
from nnrun.engine import random as engine_random

GOLDEN = Path(__file__).parent / "golden"


def reference_weights() -> list[np.ndarray]:
    """The fixed weights of the reference experiment (keras-semantics.md §9)."""
    w1 = ((((np.arange(12).reshape(3, 4) * 7) % 12) - 5.5) / 10).astype("float32")
    b1 = (np.arange(4) * 0.1 - 0.15).astype("float32")
    w2 = ((np.arange(4).reshape(4, 1) - 1.5) / 5).astype("float32")
    b2 = np.array([0.05], "float32")
    return [w1, b1, w2, b2]


def reference_data() -> tuple[np.ndarray, np.ndarray]:
    x = ((((np.arange(24).reshape(8, 3) * 7) % 11) - 5) / 5).astype("float32")
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1], "float32").reshape(8, 1)
    return x, y


def load_golden(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text())


@pytest.fixture
def float64():
    """Run a test with floatx = float64."""
    backend.set_floatx("float64")
    yield
    backend.set_floatx("float32")


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same default generator."""
    engine_random.set_random_seed(1234)
    yield
