"""What ``model(x)`` returns: an ndarray that also answers TensorFlow's ``.numpy()``.

Programs written for Keras on TensorFlow call ``model(x).numpy()``. The subclass costs one ``view`` per
``model(x)`` call and nothing in ``fit`` / ``evaluate`` / ``predict`` (which return plain ndarrays, as Keras's
do). Arithmetic on it keeps the subclass, as NumPy subclasses do; ``.numpy()`` gives the plain ndarray.
"""

from __future__ import annotations

import numpy as np


class EagerArray(np.ndarray):
    """An ``np.ndarray`` with ``.numpy()`` (a plain-ndarray view of the same data)."""

    def numpy(self) -> np.ndarray:
        """The values as a plain ``np.ndarray`` (TensorFlow's ``EagerTensor.numpy()``)."""
        return self.view(np.ndarray)


__all__ = ["EagerArray"]
