"""The ``sweep:`` section of a config: which keys vary, how, and how trials are ranked."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, model_validator


class Distribution(BaseModel):
    """A random-search range: ``{distribution: log_uniform, low: 1e-4, high: 1e-1}``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    distribution: Literal["choice", "uniform", "log_uniform", "int_uniform"]
    """choice (from values), uniform, log_uniform (both floats in [low, high]) or int_uniform (integers)"""
    values: list[Any] | None = None
    """choice: the values"""
    low: float | None = None
    """the lower bound"""
    high: float | None = None
    """the upper bound (inclusive for int_uniform)"""

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        if self.distribution == "choice":
            if not self.values:
                raise ValueError("choice needs a non-empty list of values")
        else:
            if self.low is None or self.high is None or not self.low < self.high:
                raise ValueError(f"{self.distribution} needs low < high. Received: low={self.low}, high={self.high}")
            if self.distribution == "log_uniform" and self.low <= 0:
                raise ValueError(f"log_uniform needs low > 0. Received: low={self.low}")
        return self

    def sample(self, rng: np.random.Generator) -> Any:
        if self.distribution == "choice":
            return self.values[int(rng.integers(len(self.values)))]  # type: ignore[index]
        lo, hi = float(self.low), float(self.high)  # type: ignore[arg-type]
        if self.distribution == "uniform":
            return float(rng.uniform(lo, hi))
        if self.distribution == "log_uniform":
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        return int(rng.integers(math.ceil(lo), math.floor(hi) + 1))


class SweepConfig(BaseModel):
    """The ``sweep:`` section: which keys vary, how, and how trials are ranked."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    method: Literal["grid", "random"] = "grid"
    """grid: every combination of the values; random: `trials` points drawn from the parameters"""
    parameters: Annotated[dict[str, list[Any] | Distribution], Field(min_length=1)]
    """dotted config keys (as for --set) mapped to a list of values, or (random) a distribution"""
    trials: PositiveInt | None = None
    """random: the number of points to draw"""
    repeats: PositiveInt = 1
    """runs per point, with seeds seed, seed + 1, ... (reported as mean ± std)"""
    metric: str | None = None
    """the metric that ranks trials (default: val_accuracy, else val_loss, else loss)"""
    mode: Literal["auto", "min", "max"] = "auto"
    """whether a larger or smaller metric is better (auto: from its name)"""
    seed: NonNegativeInt = 0
    """seeds the random search's draws"""
    max_trials: PositiveInt = 10_000
    """refuse a sweep of more trials than this (grid points × repeats, or trials × repeats)"""

    @model_validator(mode="after")
    def _method_fits(self) -> SweepConfig:
        for key, values in self.parameters.items():
            if isinstance(values, list) and not values:
                raise ValueError(f"parameter '{key}' has no values")
            if self.method == "grid" and isinstance(values, Distribution) and values.distribution != "choice":
                raise ValueError(
                    f"parameter '{key}' is a {values.distribution} range, which a grid cannot enumerate: "
                    "list its values, or use method: random with trials: N"
                )
        if self.method == "random" and self.trials is None:
            raise ValueError("method: random needs trials: N (how many points to draw)")
        if self.method == "grid" and self.trials is not None:
            raise ValueError("trials applies to method: random; a grid runs every combination")
        return self
