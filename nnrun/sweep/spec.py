"""Sweep specifications: the ``sweep:`` section of a config and ``--param`` options, expanded into trials.

A grid is the cartesian product of the listed values; a random search draws ``trials`` points from
choices and uniform, log-uniform or integer ranges. ``repeats: k`` runs every point with the seeds
``seed, seed + 1, ..., seed + k - 1`` (from the swept ``seed`` when ``seed`` is swept). Every trial's
config is validated before anything runs; a sweep larger than ``sweep.max_trials`` is refused before it
is expanded.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnrun.config.sweep import Distribution, SweepConfig
from nnrun.config.yaml_safe import parse_value
from nnrun.errors import ConfigError, Problem
from nnrun.results import format_value


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``--param model.hidden.activation=sigmoid,tanh,relu`` → (key, [values]) (each value YAML-typed)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise ConfigError(
            [Problem("", f"--param expects KEY=V1,V2,..., e.g. train.batch_size=32,128. Received: {text!r}")], "--param"
        )
    values = []
    for item in raw.split(","):
        values.append(parse_value(item, key, "--param") if item.strip() else None)
    return key, values


@dataclass(frozen=True)
class TrialPoint:
    """One trial: its id, the swept values, the repeat index and its seed."""

    id: str
    params: dict[str, Any]
    repeat: int
    seed: int
    overrides: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``activation=relu, kernel_initializer=zeros`` (short keys)."""
        values = {k: format_value(v) if isinstance(v, float) else v for k, v in self.params.items()}  # 4 digits
        return ", ".join(f"{short_key(k)}={v}" for k, v in values.items())


def short_key(key: str) -> str:
    """The last part of a dotted key (``model.hidden.activation`` → ``activation``)."""
    return key.rsplit(".", 1)[-1]


def distinct(key: str, values: list[Any]) -> tuple[list[Any], str | None]:
    """The values without repeats (first occurrence kept), and a warning naming the repeats if any."""
    seen: dict[str, Any] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
    if len(seen) == len(values):
        return list(values), None
    repeated = sorted({json.dumps(v, default=str) for v in values if values.count(v) > 1})
    which = f"the value {repeated[0]} is" if len(repeated) == 1 else f"the values {', '.join(repeated)} are"
    return list(seen.values()), (
        f"sweep.parameters.{key}: {which} listed more than once; the sweep runs {len(seen)} distinct "
        f"value{'s' if len(seen) > 1 else ''}, not {len(values)}"
    )


def count_trials(spec: SweepConfig) -> int:
    """How many trials the sweep has, without expanding it."""
    if spec.method != "grid":
        return (spec.trials or 0) * spec.repeats
    sizes = (len(v.values if isinstance(v, Distribution) else v) for v in spec.parameters.values())
    return math.prod(sizes) * spec.repeats


def check_size(spec: SweepConfig) -> None:
    """Refuse a sweep larger than ``sweep.max_trials`` before expanding it (a 1,000,000-point grid)."""
    n = count_trials(spec)
    if n <= spec.max_trials:
        return
    if spec.method == "grid":
        sizes = [len(v.values if isinstance(v, Distribution) else v) for v in spec.parameters.values()]
        shape = " × ".join(map(str, sizes)) + (f" × {spec.repeats} repeats" if spec.repeats > 1 else "")
        where, what = "sweep.parameters", f"the grid has {n:,} trials ({shape})"
    else:
        where, what = "sweep.trials", f"the sweep has {n:,} trials"
    raise ConfigError(
        [Problem(where, f"{what}; the limit is {spec.max_trials:,}. Sweep fewer values, or raise sweep.max_trials.")]
    )


def expand(spec: SweepConfig, base_seed: int) -> list[TrialPoint]:
    """Every trial of the sweep, in order: grid points (or random draws) × repeats.

    A swept ``seed`` is the trial's seed; repeats count up from it (``seed, seed + 1, ...``).
    """
    check_size(spec)
    keys = list(spec.parameters)
    if spec.method == "grid":
        columns = [v.values if isinstance(v, Distribution) else v for v in spec.parameters.values()]
        points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*columns)]
    else:
        rng = np.random.default_rng(spec.seed)
        points = []
        for _ in range(spec.trials or 0):
            point = {}
            for key, values in spec.parameters.items():
                dist = (
                    values if isinstance(values, Distribution) else Distribution(distribution="choice", values=values)
                )
                point[key] = dist.sample(rng)
            points.append(point)
    trials = []
    for i, (point, repeat) in enumerate(itertools.product(points, range(spec.repeats)), 1):
        swept = point.get("seed")
        seed = (swept if isinstance(swept, int) and not isinstance(swept, bool) else base_seed) + repeat
        overrides = [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in point.items()] + [f"seed={seed}"]
        trials.append(TrialPoint(f"{i:04d}", point, repeat, seed, overrides))
    return trials


# the sweep keys of the first release; a key added since counts in the fingerprint only when it is set to
# something else than its default, so that sweeps written before it can still be resumed
FINGERPRINT_KEYS_V0 = frozenset({"method", "parameters", "trials", "repeats", "metric", "mode", "seed"})


def fingerprint(base: dict[str, Any], spec: SweepConfig) -> str:
    """A short hash identifying the sweep (base config + spec), to find it again when resuming."""
    sweep = spec.model_dump(mode="json")
    defaults = type(spec).model_fields
    for key in set(sweep) - FINGERPRINT_KEYS_V0:
        if sweep[key] == defaults[key].get_default(call_default_factory=True):
            del sweep[key]
    blob = json.dumps({"base": base, "sweep": sweep}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
