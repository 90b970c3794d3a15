"""Keras-style import path: ``from nnrun.models import Sequential, Model``."""

from nnrun.engine.models import Model, Sequential, model_from_json

__all__ = ["Model", "Sequential", "model_from_json"]
