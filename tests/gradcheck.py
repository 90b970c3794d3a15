"""Central-difference gradient checks (float64) shared by the gradient tests.

The numeric side differentiates ``sum(upstream · f())`` by perturbing one element of an array in
place and differencing the *outputs* before they are summed, so the cancellation error stays at the
scale of the output differences rather than of the whole sum.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-6  # the central-difference step
RTOL = 1e-6  # what rel_error must stay under
TINY = 1e-30  # keeps rel_error defined when both sides are exactly zero


def numeric_vjp(fn: Callable[[], np.ndarray], x: np.ndarray, upstream: np.ndarray, eps: float = EPS) -> np.ndarray:
    """d/dx of ``sum(upstream · fn())``, where ``fn`` reads ``x`` (perturbed in place, then restored)."""
    assert x.dtype == np.float64, f"gradient checks run in float64; got {x.dtype}"
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + eps
        plus = np.array(fn(), dtype=np.float64, copy=True)
        x[idx] = orig - eps
        minus = np.array(fn(), dtype=np.float64, copy=True)
        x[idx] = orig
        grad[idx] = np.sum(upstream * (plus - minus)) / (2 * eps)
    return grad


def rel_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """‖a − n‖ / max(‖a‖ + ‖n‖, tiny) over the whole array."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    assert a.shape == n.shape, f"analytic gradient has shape {a.shape}, numeric {n.shape}"
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), TINY))


def assert_grad_close(analytic: np.ndarray, numeric: np.ndarray, what: str, rtol: float = RTOL) -> None:
    """Fail with both gradients shown when their relative error exceeds ``rtol``."""
    err = rel_error(analytic, numeric)
    assert err < rtol, f"{what}: relative error {err:.3g} > {rtol:g}\nanalytic:\n{analytic}\nnumeric:\n{numeric}"
    # A check of a gradient that is identically zero proves nothing about the backward rule.
    assert np.any(numeric != 0), f"{what}: the numeric gradient is all zero; the check is vacuous"


def away_from(x: np.ndarray, kinks: tuple[float, ...], margin: float = 0.05) -> np.ndarray:
    """``x`` with every value closer than ``margin`` to a kink pushed to ``kink ± margin``."""
    x = x.copy()
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + np.where(x[near] >= k, margin, -margin)
    return x


def min_distance(x: np.ndarray, kinks: tuple[float, ...]) -> float:
    """How close any value of ``x`` comes to a kink (inf when there are none)."""
    return min((float(np.min(np.abs(x - k))) for k in kinks), default=float("inf"))
