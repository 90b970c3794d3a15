"""Models: ``Sequential`` and functional ``Model``."""

from nnrun.engine.models.model import Model
from nnrun.engine.models.sequential import Sequential
from nnrun.engine.saving import model_from_json

__all__ = ["Model", "Sequential", "model_from_json"]
