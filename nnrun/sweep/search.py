"""The search space in Optuna's terms: the sweep's parameters as Optuna distributions, its samplers, and the
optional import of Optuna itself (``pip install 'nnrun[optuna]'``).

Lists of values become categorical distributions (values that are not plain scalars travel as their JSON
text); ranges become float or integer distributions, log-scaled or stepped as the config says.
"""

from __future__ import annotations

import json
from typing import Any

from nnrun.config.sweep import Distribution, SweepConfig
from nnrun.errors import InvalidArgumentError

INSTALL = "pip install 'nnrun[optuna]'"
ENCODED = "json:"  # the prefix of a categorical choice that stands for a non-scalar value


def import_optuna(what: str) -> Any:
    """The ``optuna`` module, or an :class:`InvalidArgumentError` (exit 2) naming what needs it and the install."""
    try:
        import optuna
    except ImportError:
        raise InvalidArgumentError(
            f"{what} needs Optuna, which is not installed. Install it with: {INSTALL} "
            "(method: grid and random without a pruner need nothing more)"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def check_available(spec: SweepConfig) -> None:
    """Fail before anything runs if the sweep needs Optuna (or, for cmaes, the ``cmaes`` package) and it is
    missing."""
    if spec.method in ("tpe", "cmaes"):
        import_optuna(f"sweep.method: {spec.method}")
    elif spec.pruner is not None:
        import_optuna(f"sweep.pruner ({spec.pruner.name})")
    if spec.method == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise InvalidArgumentError(
                f"sweep.method: cmaes needs the cmaes package, which is not installed. Install it with: {INSTALL}"
            ) from None


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def encode(value: Any) -> Any:
    """A categorical choice as Optuna stores it: scalars as they are, anything else as its JSON text."""
    return value if _scalar(value) else ENCODED + json.dumps(value, sort_keys=True)


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, str) and value.startswith(ENCODED):
        return json.loads(value[len(ENCODED) :])
    return value


def distribution(values: list[Any] | Distribution) -> Any:
    """One parameter as an Optuna distribution."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(values, list) or values.is_choice:
        choices = values if isinstance(values, list) else values.values
        return CategoricalDistribution([encode(v) for v in choices or []])
    low, high = float(values.low), float(values.high)  # type: ignore[arg-type]
    if values.is_int:
        step = 1 if values.step is None else int(values.step)
        return IntDistribution(int(low), int(high), log=values.is_log, step=step)
    return FloatDistribution(low, high, log=values.is_log, step=values.step)


def distributions(spec: SweepConfig) -> dict[str, Any]:
    """Every swept key as an Optuna distribution, in the sweep's order."""
    return {key: distribution(values) for key, values in spec.parameters.items()}


def point(params: dict[str, Any], spec: SweepConfig) -> dict[str, Any]:
    """A trial's parameter values from Optuna's (decoded, plain Python numbers), in the sweep's order."""
    out = {}
    for key in spec.parameters:
        value = decode(params[key])
        if hasattr(value, "item"):  # a NumPy scalar
            value = value.item()
        out[key] = value
    return out


def make_sampler(spec: SweepConfig, seed_offset: int = 0) -> Any:
    """The sampler of ``sweep.method``: TPE, CMA-ES, or (grid, random: the points are given) a random sampler
    that is never asked. ``seed_offset`` (the trials the study already has) keeps a resumed search from drawing
    its first points again."""
    optuna = import_optuna(f"sweep.method: {spec.method}")
    seed = spec.seed + seed_offset
    if spec.method == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if spec.method == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def log_scaled(spec: SweepConfig) -> list[str]:
    """The swept keys drawn on a log scale (their figures use a log axis)."""
    return [k for k, v in spec.parameters.items() if isinstance(v, Distribution) and v.is_log]


__all__ = [
    "INSTALL",
    "check_available",
    "decode",
    "distribution",
    "distributions",
    "encode",
    "import_optuna",
    "log_scaled",
    "make_sampler",
    "point",
]
