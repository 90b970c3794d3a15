"""Keras-style import path: ``nnrun.backend.floatx()``, ``set_floatx``, ``epsilon``."""

from nnrun.engine.backend import epsilon, floatx, set_floatx

__all__ = ["epsilon", "floatx", "set_floatx"]
