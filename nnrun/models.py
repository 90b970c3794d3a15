"""Keras-style import path: ``from nnrun.models import Sequential, Model``."""

from nnrun.engine.models import Model, Sequential, model_from_json
from nnrun.engine.saving import load_model, save_model

__all__ = ["Model", "Sequential", "load_model", "model_from_json", "save_model"]
