"""Sweep specifications: the ``sweep:`` section of a config and ``--param`` options, expanded into trials.

A grid is the cartesian product of the listed values; a random search draws ``trials`` points from
choices and uniform, log-uniform or integer ranges. A ``tpe`` or ``cmaes`` search has no list of trials
before it runs: it picks each point from the results so far (:mod:`nnrun.sweep.study`). ``repeats: k``
runs every point with the seeds ``seed, seed + 1, ..., seed + k - 1`` (from the swept ``seed`` when
``seed`` is swept). Every trial's config is validated before anything runs; a sweep larger than
``sweep.max_trials`` is refused before it is expanded.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnrun.config.sweep import SEARCHES, Distribution, SweepConfig
from nnrun.config.yaml_safe import parse_value
from nnrun.errors import ConfigError, Problem
from nnrun.results import format_value

# --param KEY=loguniform(1e-4,1) / uniform(0,0.5) / int(16,512[,16]) / logint(8,1024)
RANGE = re.compile(r"^\s*(loguniform|uniform|int|logint)\s*\((.*)\)\s*$", re.IGNORECASE)
RANGE_FORMS = "loguniform(LOW,HIGH), uniform(LOW,HIGH), int(LOW,HIGH[,STEP]) or logint(LOW,HIGH)"


def parse_param(text: str) -> tuple[str, list[Any] | dict[str, Any]]:
    """``--param model.hidden.activation=sigmoid,tanh,relu`` → (key, [values]) (each value YAML-typed);
    ``--param train.optimizer.learning_rate=loguniform(1e-4,1)`` → (key, {low, high, log: true}) (a range:
    loguniform, uniform, int with an optional step, logint)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or not raw.strip():
        raise ConfigError(
            [Problem("", f"--param expects KEY=V1,V2,..., e.g. train.batch_size=32,128. Received: {text!r}")], "--param"
        )
    match = RANGE.match(raw)
    if match:
        return key, _parse_range(key, match.group(1).lower(), match.group(2), text)
    values = []
    for item in raw.split(","):
        values.append(parse_value(item, key, "--param") if item.strip() else None)
    return key, values


def _number(text: str) -> int | float | None:
    """``16`` → 16, ``1e-4`` → 0.0001 (Python's syntax: YAML 1.1 reads ``1e-4`` as text); None if not finite."""
    for cast in (int, float):
        try:
            value = cast(text)
        except ValueError:
            continue
        return value if math.isfinite(value) else None
    return None


def _parse_range(key: str, kind: str, args: str, text: str) -> dict[str, Any]:
    numbers: list[int | float] | None = []
    for item in args.split(","):
        number = _number(item.strip())
        if number is None or numbers is None:
            numbers = None
            break
        numbers.append(number)
    counts = (2, 3) if kind == "int" else (2,)
    if numbers is None or len(numbers) not in counts:
        raise ConfigError(
            [Problem("", f"--param {key}: a range is {RANGE_FORMS}, with numbers. Received: {text!r}")], "--param"
        )
    out: dict[str, Any] = {"low": numbers[0], "high": numbers[1]}
    if kind in ("loguniform", "logint"):
        out["log"] = True
    if kind in ("int", "logint"):
        out["type"] = "int"
    if len(numbers) == 3:
        out["step"] = numbers[2]
    return out


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
    if spec.method != "grid":  # random, tpe, cmaes
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

    A swept ``seed`` is the trial's seed; repeats count up from it (``seed, seed + 1, ...``). A ``tpe`` or
    ``cmaes`` search has none yet: its trials are chosen as it runs (:func:`trial_point` makes each).
    """
    check_size(spec)
    if spec.method in SEARCHES:
        return []
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
    return [
        trial_point(i, point, repeat, base_seed)
        for i, (point, repeat) in enumerate(itertools.product(points, range(spec.repeats)), 1)
    ]


def run_order(spec: SweepConfig, trials: list[TrialPoint]) -> list[str]:
    """The ids of a grid or random sweep's trials in the order they run.

    Without a pruner: as listed. With one: shuffled, the same way for the same ``sweep.seed`` (a resumed sweep runs
    its pending trials in the same order). A pruner compares each trial with those that reached the same epoch
    before it; in grid order the first trials are all one value of the first parameter (and, within it, the
    values of the last parameter in their listed order), so they are compared only among themselves and many weak
    ones go on. Ids, the manifest and run folders keep the listed order.
    """
    if spec.pruner is None or spec.method in SEARCHES:
        return [t.id for t in trials]
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed).spawn(1)[0])  # not the random sweep's own draws
    return [trials[i].id for i in rng.permutation(len(trials))]


def trial_point(number: int, point: dict[str, Any], repeat: int, base_seed: int) -> TrialPoint:
    """The ``number``-th trial (from 1) of a sweep, for the parameter values ``point``."""
    swept = point.get("seed")
    seed = (swept if isinstance(swept, int) and not isinstance(swept, bool) else base_seed) + repeat
    overrides = [f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in point.items()] + [f"seed={seed}"]
    return TrialPoint(f"{number:04d}", point, repeat, seed, overrides)


# the sweep keys of the first release; a key added since counts in the fingerprint only when it is set to
# something else than its default, so that sweeps written before it can still be resumed
FINGERPRINT_KEYS_V0 = frozenset({"method", "parameters", "trials", "repeats", "metric", "mode", "seed"})
# the same rule inside a range: the first release's ranges had only distribution, values, low and high
RANGE_KEYS_V0 = frozenset({"distribution", "values", "low", "high"})


PRESENTATION_KEYS = {"trial_figures"}  # what a sweep draws, not what it computes: never in its fingerprint


def fingerprint(base: dict[str, Any], spec: SweepConfig) -> str:
    """A short hash identifying the sweep (base config + spec), to find it again when resuming."""
    sweep = spec.model_dump(mode="json")
    defaults = type(spec).model_fields
    for key in set(sweep) - FINGERPRINT_KEYS_V0:
        if key in PRESENTATION_KEYS or sweep[key] == defaults[key].get_default(call_default_factory=True):
            del sweep[key]
    ranges = Distribution.model_fields
    for values in sweep["parameters"].values():
        if isinstance(values, dict):
            for key in set(values) - RANGE_KEYS_V0:
                if values[key] == ranges[key].get_default(call_default_factory=True):
                    del values[key]
    blob = json.dumps({"base": base, "sweep": sweep}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
