"""Keras-style import path: ``nnrun.saving.load_model("model.keras")``, as ``keras.saving``."""

from nnrun.engine.saving import load_model, load_weights, save_model, save_weights

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
