"""A vectorised error function accurate to ~3e-15 (NumPy has none).

Piecewise Chebyshev interpolants of ``math.erf`` on six unit intervals of [0, 6], built once at
import; beyond 6, erf is 1 in double precision. Used by the exact ``gelu``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.polynomial import chebyshev

_DEGREE = 18
_EDGES = np.arange(7.0)


def _fit(a: float, b: float) -> np.ndarray:
    k = np.arange(_DEGREE + 1)
    nodes = np.cos(np.pi * (k + 0.5) / (_DEGREE + 1))
    xs = (a + b) / 2 + (b - a) / 2 * nodes
    return chebyshev.chebfit(nodes, [math.erf(v) for v in xs], _DEGREE)


_COEFFS = [_fit(a, b) for a, b in itertools.pairwise(_EDGES)]


def erf(x: np.ndarray) -> np.ndarray:
    """erf(x), elementwise, computed in float64 and returned in float64."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    out = np.ones_like(ax)
    piece = np.minimum(ax, 6.0).astype(np.intp)
    for i, coeffs in enumerate(_COEFFS):
        sel = piece == i
        if sel.any():
            u = 2.0 * (ax[sel] - i) - 1.0  # map [i, i+1] onto [-1, 1]
            out[sel] = chebyshev.chebval(u, coeffs)
    return np.copysign(out, x)
