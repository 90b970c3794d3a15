"""The ``sweep:`` section of a config: which keys vary, how they are searched, how trials are ranked and pruned."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator

METHODS = ("grid", "random", "tpe", "cmaes")
SEARCHES = ("tpe", "cmaes")  # methods that pick each trial from the results so far (Optuna's samplers)

# each pruner's Optuna parameters (optuna.pruners.MedianPruner, SuccessiveHalvingPruner, HyperbandPruner)
PRUNER_PARAMETERS: dict[str, tuple[str, ...]] = {
    "median": ("n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"),
    "successive_halving": ("min_resource", "reduction_factor", "min_early_stopping_rate", "bootstrap_count"),
    "hyperband": ("min_resource", "max_resource", "reduction_factor", "bootstrap_count"),
}


class Distribution(BaseModel):
    """A range to draw from: ``{low: 1e-4, high: 1.0, log: true}``, ``{low: 16, high: 512, step: 16, type: int}``,
    or the first release's forms ``{distribution: log_uniform, low: 1e-4, high: 1e-1}``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    distribution: Literal["choice", "uniform", "log_uniform", "int_uniform"] | None = None
    """(first form) choice (from values), uniform, log_uniform (floats in [low, high]) or int_uniform (integers)"""
    values: list[Any] | None = None
    """choice: the values"""
    low: float | None = None
    """the lower bound"""
    high: float | None = None
    """the upper bound (inclusive)"""
    log: bool = False
    """draw on a log scale (low > 0)"""
    step: float | None = None
    """only multiples of step above low (not with log)"""
    type: Literal["float", "int"] | None = None
    """float (the default) or int"""

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        if self.distribution is not None:
            if self.log or self.step is not None or self.type is not None:
                raise ValueError(
                    f"give either distribution: {self.distribution} or low/high with log, step and type, not both"
                )
            if self.distribution == "choice":
                if not self.values:
                    raise ValueError("choice needs a non-empty list of values")
                return self
        elif self.values is not None:
            raise ValueError("values belongs to distribution: choice; a list of values is written as a plain list")
        if self.low is None or self.high is None or not self.low < self.high:
            raise ValueError(f"a range needs low < high. Received: low={self.low}, high={self.high}")
        if self.is_log and self.low <= 0:
            what = "log_uniform" if self.distribution == "log_uniform" else "a log-scaled range (log: true)"
            raise ValueError(f"{what} needs low > 0. Received: low={self.low}")
        if self.step is not None:
            if self.log:
                raise ValueError("step and log: true do not go together (Optuna refuses them too); drop one")
            if not self.step > 0:
                raise ValueError(f"step must be > 0. Received: step={self.step}")
        if self.type == "int":
            for name in ("low", "high", "step"):
                value = getattr(self, name)
                if value is not None and value != int(value):
                    raise ValueError(f"type: int needs whole numbers. Received: {name}={value}")
        return self

    @property
    def is_choice(self) -> bool:
        return self.distribution == "choice"

    @property
    def is_int(self) -> bool:
        return self.distribution == "int_uniform" or self.type == "int"

    @property
    def is_log(self) -> bool:
        return self.distribution == "log_uniform" or self.log

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng`` (the first release's forms draw exactly as they did)."""
        if self.distribution == "choice":
            return self.values[int(rng.integers(len(self.values)))]  # type: ignore[index]
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.distribution == "uniform":
            return float(rng.uniform(lo, hi))
        if self.distribution == "log_uniform":
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        if self.distribution == "int_uniform":
            return int(rng.integers(math.ceil(lo), math.floor(hi) + 1))
        if self.step is not None:  # low, low + step, ... up to high
            value = lo + self.step * int(rng.integers(0, math.floor((hi - lo) / self.step + 1e-9) + 1))
            return int(round(value)) if self.is_int else float(value)
        if self.log:
            value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
            return min(max(int(round(value)), int(lo)), int(hi)) if self.is_int else float(value)
        return int(rng.integers(int(lo), int(hi) + 1)) if self.is_int else float(rng.uniform(lo, hi))


class PrunerConfig(BaseModel):
    """``sweep.pruner``: stop hopeless trials early, e.g. ``{name: median, n_warmup_steps: 2}``. The other keys
    are the Optuna pruner's parameters (a step is an epoch)."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)

    name: Literal["median", "successive_halving", "hyperband"]
    """median (MedianPruner), successive_halving (SuccessiveHalvingPruner) or hyperband (HyperbandPruner)"""

    @model_validator(mode="after")
    def _known_parameters(self) -> PrunerConfig:
        allowed = PRUNER_PARAMETERS[self.name]
        for key in self.options:
            if key not in allowed:
                from nnrun.errors import closest

                match = closest(key, list(allowed))
                hint = f" Did you mean '{match}'?" if match else ""
                raise ValueError(
                    f"'{key}' is not a parameter of the {self.name} pruner. Expected some of: "
                    f"{', '.join(allowed)}.{hint}"
                )
        return self

    @property
    def options(self) -> dict[str, Any]:
        """The Optuna pruner's keyword arguments."""
        return dict(self.model_extra or {})


class SweepConfig(BaseModel):
    """The ``sweep:`` section: which keys vary, how, and how trials are ranked."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    method: Literal["grid", "random", "tpe", "cmaes"] = "grid"
    """grid: every combination; random: `trials` random points; tpe, cmaes: `trials` points chosen from the results"""
    parameters: Annotated[dict[str, list[Any] | Distribution], Field(min_length=1)]
    """dotted config keys (as for --set) mapped to a list of values, or (not grid) a range {low, high, log, ...}"""
    trials: PositiveInt | None = None
    """random, tpe, cmaes: the number of points to try"""
    repeats: PositiveInt = 1
    """runs per point, with seeds seed, seed + 1, ... (reported as mean ± std)"""
    metric: str | None = None
    """the metric that ranks trials (default: val_accuracy, else val_loss, else loss)"""
    mode: Literal["auto", "min", "max"] = "auto"
    """whether a larger or smaller metric is better (auto: from its name)"""
    seed: NonNegativeInt = 0
    """seeds the search's draws"""
    max_trials: PositiveInt = 10_000
    """refuse a sweep of more trials than this (grid points × repeats, or trials × repeats)"""
    pruner: PrunerConfig | None = None
    """stop trials whose metric falls behind after an epoch (needs Optuna)"""
    trial_figures: Literal["best", "all", "none"] = "best"
    """each trial's own loss, accuracy and confusion-matrix PNGs: for the best point's trials (drawn with the sweep's
    figures), for every trial (as it finishes: about 0.4 s per trial), or for none (`nnrun plot` draws them later)"""

    @model_validator(mode="after")
    def _method_fits(self) -> SweepConfig:
        for key, values in self.parameters.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"parameter '{key}' has no values")
            if self.method == "grid" and isinstance(values, Distribution) and not values.is_choice:
                raise ValueError(
                    f"parameter '{key}' is a range, which a grid cannot enumerate: list its values, or use "
                    "method: random with trials: N (or tpe)"
                )
            if self.method == "cmaes" and (isinstance(values, list) or values.is_choice):
                raise ValueError(
                    f"parameter '{key}' is a list of values; method: cmaes searches numeric ranges only: give it as "
                    "{low: ..., high: ...}, or use method: tpe"
                )
        if self.method != "grid" and self.trials is None:
            raise ValueError(f"method: {self.method} needs trials: N (how many points to try)")
        if self.method == "grid" and self.trials is not None:
            raise ValueError("trials applies to method: random, tpe and cmaes; a grid runs every combination")
        if self.method in SEARCHES and self.repeats > 1:
            raise ValueError(
                f"repeats applies to method: grid and random; method: {self.method} picks each point once "
                "(use a grid or random search to repeat points with other seeds)"
            )
        return self

    @property
    def needs_study(self) -> bool:
        """Whether the sweep keeps an Optuna study (a search that learns, or pruning)."""
        return self.method in SEARCHES or self.pruner is not None
