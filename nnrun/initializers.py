"""Keras-style import path: ``from nnrun.initializers import GlorotUniform, RandomNormal, ...``."""

from __future__ import annotations

from typing import Any

from nnrun.engine import initializers as _engine
from nnrun.engine.initializers import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    Initializer,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    serialize,
)


def get(identifier: Any) -> Initializer | None:
    """``keras.initializers.get``: ``None`` → None; a name or config dict → a new initializer; an array → an
    initializer for exactly its shape; an Initializer (or a function ``fn(shape, dtype)``) → itself (wrapped)."""
    if identifier is None:
        return None
    return _engine.get(identifier)


__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Identity",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "get",
    "serialize",
]
