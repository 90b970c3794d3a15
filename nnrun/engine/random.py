"""Where randomness comes from.

Every random consumer (initializers, Dropout, the shuffling in ``fit``) takes a ``seed`` that is an
int, a ``np.random.Generator`` or ``None``. ``None`` draws from nnrun's default generator, which
:func:`set_random_seed` resets (Keras's ``keras.utils.set_random_seed``). NumPy's global
``np.random`` state is never touched.
"""

from __future__ import annotations

import numpy as np

from nnrun.errors import InvalidArgumentError

Seed = int | np.random.Generator | None

_default = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    """Make every later default draw (initializers, dropout, shuffling) reproducible."""
    global _default
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InvalidArgumentError(f"seed must be a non-negative int. Received: seed={seed!r}")
    _default = np.random.default_rng(int(seed))


def default_generator() -> np.random.Generator:
    """nnrun's default generator (reset by :func:`set_random_seed`)."""
    return _default


def draw_seed(seed: Seed = None) -> int:
    """An int seed: ``seed`` itself, or one drawn from a generator / the default generator."""
    if seed is None:
        return int(_default.integers(2**63 - 1))
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63 - 1))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise InvalidArgumentError(f"seed must be a non-negative int, a numpy Generator or None. Received: seed={seed!r}")


def make_rng(seed: Seed = None) -> np.random.Generator:
    """A generator for ``seed``: the generator itself, a new one from an int, or one drawn from the default."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(draw_seed(seed))
