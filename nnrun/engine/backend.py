"""Global numerics: the default float type and the fuzz factor, as in ``keras.backend``."""

from __future__ import annotations

import numpy as np

from nnrun.errors import InvalidArgumentError

_FLOATX = "float32"
_EPSILON = 1e-7
_ALLOWED = ("float32", "float64")


def floatx() -> str:
    """The default float type of new layers and models: ``"float32"`` unless changed."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type (``"float32"`` or ``"float64"``; gradient checks use float64)."""
    global _FLOATX
    if value not in _ALLOWED:
        raise InvalidArgumentError(f"floatx must be one of {_ALLOWED}. Received: value={value!r}")
    _FLOATX = value


def epsilon() -> float:
    """The fuzz factor losses clip probabilities with (Keras: 1e-7)."""
    return _EPSILON


def standardize_dtype(dtype: object | None) -> np.dtype:
    """``None`` means floatx; otherwise one of the allowed float types."""
    if dtype is None:
        return np.dtype(_FLOATX)
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        dt = None
    if dt is None or dt.name not in _ALLOWED:
        raise InvalidArgumentError(f"dtype must be one of {_ALLOWED}. Received: dtype={dtype!r}")
    return dt
