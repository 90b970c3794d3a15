"""Small synthetic datasets, written with NumPy and deterministic from a generator.

Every maker takes ``rng`` (a ``np.random.Generator``) and its own keyword parameters, and returns
``(x, y)``: x float32 (n, features); y int64 class indices (n,) or, for regression, float32 (n, 1).
Rows come in class order (class 0 first); ``load_dataset`` shuffles them. Classes are as balanced as
``n_samples`` allows: their sizes differ by at most one. :data:`SYNTHETIC` lists each maker with the
parameters it takes and their defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

TWO_PI = 2 * np.pi


def class_sizes(n_samples: int, n_classes: int) -> list[int]:
    """``n_samples`` shared among ``n_classes`` as evenly as possible, the first classes taking the rest."""
    return [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]


def _labels(sizes: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _finish(x: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise of std ``noise`` to the points; x as float32."""
    x = x + rng.normal(0.0, noise, x.shape)
    return x.astype(np.float32), y


def make_xor(n_samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Points in [-1, 1]²; class 1 where sign(x0)·sign(x1) > 0 (quadrants I and III), then noise."""
    y = _labels(class_sizes(n_samples, 2))
    u = rng.uniform(0.0, 1.0, (n_samples, 2))  # distances from the axes
    s = rng.choice([-1.0, 1.0], n_samples)  # sign of x0
    x = np.stack([s * u[:, 0], np.where(y == 1, s, -s) * u[:, 1]], axis=1)
    return _finish(x, y, noise, rng)


def make_moons(n_samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as scikit-learn's ``make_moons``: class 0 the upper one."""
    sizes = class_sizes(n_samples, 2)
    t0, t1 = (np.linspace(0.0, np.pi, m) for m in sizes)
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    return _finish(np.concatenate([upper, lower]), _labels(sizes), noise, rng)


def make_circles(n_samples: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles, as scikit-learn's ``make_circles(factor=0.5)``: class 0 the outer one (radius 1)."""
    sizes = class_sizes(n_samples, 2)
    rings = []
    for radius, m in zip((1.0, 0.5), sizes):
        t = np.linspace(0.0, TWO_PI, m, endpoint=False)
        rings.append(radius * np.stack([np.cos(t), np.sin(t)], axis=1))
    return _finish(np.concatenate(rings), _labels(sizes), noise, rng)


def make_spirals(
    n_samples: int, noise: float, n_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms from the centre to radius 1, each turning once around it."""
    sizes = class_sizes(n_samples, n_classes)
    arms = []
    for k, m in enumerate(sizes):
        r = np.linspace(0.1, 1.0, m)  # start off the centre, where every arm would meet
        t = TWO_PI * (r + k / n_classes)
        arms.append(r[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1))
    return _finish(np.concatenate(arms), _labels(sizes), noise, rng)


def make_blobs(
    n_samples: int, noise: float, n_features: int, n_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One isotropic Gaussian blob (std ``noise``) per class around a centre drawn uniformly from [-1, 1]^d.

    scikit-learn's ``make_blobs`` scaled by 1/10 (its centres are in [-10, 10]^d, its default std 1).
    """
    y = _labels(class_sizes(n_samples, n_classes))
    centres = rng.uniform(-1.0, 1.0, (n_classes, n_features))
    return _finish(centres[y], y, noise, rng)


def make_regression(
    n_samples: int, noise: float, n_features: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [-1, 1]^d; y = Σ_j sin(π·x_j + j) / √d + x_0·x_{d-1}, plus Gaussian noise of std ``noise``.

    The target is the same smooth function for every seed (only the samples change); y is float32 (n, 1).
    """
    x = rng.uniform(-1.0, 1.0, (n_samples, n_features))
    phase = np.arange(n_features)
    y = np.sin(np.pi * x + phase).sum(axis=1) / np.sqrt(n_features) + x[:, 0] * x[:, -1]
    y = y + rng.normal(0.0, noise, n_samples)
    return x.astype(np.float32), y.astype(np.float32)[:, None]


@dataclass(frozen=True)
class Synthetic:
    """A maker, the task it poses, and the parameters it takes with their defaults."""

    make: Callable[..., tuple[np.ndarray, np.ndarray]]
    task: str
    defaults: dict[str, Any]
    fixed_classes: int | None = None  # classes of a maker that takes no n_classes


SYNTHETIC: dict[str, Synthetic] = {
    "xor": Synthetic(make_xor, "classification", {"n_samples": 1000, "noise": 0.1}, fixed_classes=2),
    "moons": Synthetic(make_moons, "classification", {"n_samples": 1000, "noise": 0.1}, fixed_classes=2),
    "circles": Synthetic(make_circles, "classification", {"n_samples": 1000, "noise": 0.05}, fixed_classes=2),
    "spirals": Synthetic(make_spirals, "classification", {"n_samples": 1000, "noise": 0.05, "n_classes": 2}),
    "blobs": Synthetic(
        make_blobs, "classification", {"n_samples": 1000, "noise": 0.1, "n_features": 2, "n_classes": 3}
    ),
    "regression": Synthetic(make_regression, "regression", {"n_samples": 1000, "noise": 0.1, "n_features": 4}),
}
