"""From a config file, ``--set`` overrides and ``--param`` options to a validated list of trials.

Every trial's config is built and checked (schema and the checks across keys, with its data) before
anything runs (a ``tpe`` or ``cmaes`` search, whose points are chosen as it runs, is checked at every listed
value and both ends of every range); a problem caused by a swept value is reported at
``sweep.parameters.<key>`` with the value and its line, once, however many trials share it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.config.load import apply_override, line_of, load_raw, parse_override, validate_config
from nnrun.config.schema import ExperimentConfig
from nnrun.config.sweep import SEARCHES, Distribution, SweepConfig
from nnrun.errors import ConfigError, DataError, Problem, closest
from nnrun.experiment import Experiment, prepare
from nnrun.results import direction
from nnrun.sweep.spec import (
    TrialPoint,
    count_trials,
    distinct,
    expand,
    fingerprint,
    parse_param,
    run_order,
    trial_point,
)

# the metrics a sweep ranks by when sweep.metric is not given (the first of them in train.metrics)
DEFAULT_RANKING = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


@dataclass
class SweepPlan:
    """A validated sweep: its name, spec, base config, trials and their prepared experiments."""

    name: str
    source: str
    base: dict[str, Any]  # the config mapping after --set, without its sweep section
    spec: SweepConfig
    trials: list[TrialPoint]  # empty for a tpe or cmaes search: it picks its points as it runs
    experiments: dict[str, Experiment]  # trial id → prepared experiment (a search: the checked corner points)
    metric: str
    mode: str
    fingerprint: str
    warnings: list[str] = field(default_factory=list)  # e.g. values listed twice (each runs once)
    base_seed: int = 0  # the config's seed: trials use it (plus their repeat) unless seed is swept

    def experiment(self, trial_id: str) -> Experiment:
        return self.experiments[trial_id]

    @property
    def size(self) -> int:
        """How many trials the sweep has (a search: its budget, ``sweep.trials``)."""
        return len(self.trials) if self.spec.method not in SEARCHES else count_trials(self.spec)

    @property
    def run_order(self) -> list[str]:
        """The trial ids in the order they run: as listed, or (a grid or random sweep with a pruner) shuffled by
        ``sweep.seed`` (:func:`nnrun.sweep.spec.run_order`); empty for a search."""
        return run_order(self.spec, self.trials)

    def point(self, number: int, params: dict[str, Any]) -> TrialPoint:
        """The ``number``-th trial (from 1) of a search, at ``params``."""
        return trial_point(number, params, 0, self.base_seed)

    def trial_config(self, trial: TrialPoint) -> ExperimentConfig:
        """The resolved config of a trial: as planned, or (a search's new point) built and checked now (a
        ConfigError or DataError if refused)."""
        planned = self.experiments.get(trial.id)
        if planned is not None and self.spec.method not in SEARCHES:
            return planned.config
        data = copy.deepcopy(self.base)
        for item in trial.overrides:
            apply_override(data, *parse_override(item))
        config = validate_config(data, self.source)
        config._source, config._lines = self.source, {}
        return prepare(config).config  # resolved and checked with its data, as every planned trial is


def plan_sweep(path: str | Path, overrides: list[str] | None = None, params: list[str] | None = None) -> SweepPlan:
    """Load, override, expand and validate a sweep; a ConfigError lists every problem."""
    data, lines, source = load_raw(path)
    for item in overrides or []:
        key_path, value = parse_override(item)
        apply_override(data, key_path, value)
    return plan_from_mapping(data, lines, source, params)


def plan_from_sweep_folder(folder: str | Path) -> SweepPlan:
    """The plan recorded in a sweep folder's sweep.yaml (for ``nnrun sweep --resume DIR``)."""
    from nnrun.config.yaml_safe import load_yaml_file  # bounded: a sweep folder may come from anyone

    path = Path(folder) / "sweep.yaml"
    try:
        recorded = load_yaml_file(path, max_bytes=10_000_000)
    except ConfigError as e:
        raise ConfigError([Problem("", f"not a sweep folder: cannot read its sweep.yaml ({e})")], str(folder)) from None
    if not (isinstance(recorded, dict) and isinstance(recorded.get("config"), dict) and "sweep" in recorded):
        raise ConfigError([Problem("", f"not a sweep folder: {path} is not a sweep's record")], str(folder))
    data = {**recorded["config"], "sweep": recorded["sweep"]}
    return plan_from_mapping(data, {}, recorded.get("source") or str(path))


def plan_from_mapping(data: dict[str, Any], lines: dict, source: str, params: list[str] | None = None) -> SweepPlan:
    """Expand and validate a config mapping with its sweep section (and ``--param`` additions)."""
    data = copy.deepcopy(data)
    raw_sweep = data.pop("sweep", None) or {}
    if not isinstance(raw_sweep, dict):
        raise ConfigError(
            [Problem("sweep", f"must be a mapping. Received: {raw_sweep!r}", lines.get(("sweep",)))], source
        )
    from_cli = set()
    for item in params or []:
        key, values = parse_param(item)
        raw_sweep.setdefault("parameters", {})[key] = values
        from_cli.add(key)
    warnings = []
    parameters = raw_sweep.get("parameters")
    for key, values in parameters.items() if isinstance(parameters, dict) else ():
        if isinstance(values, list):
            parameters[key], warning = distinct(key, values)
            if warning:
                warnings.append(warning)
    if not raw_sweep.get("parameters"):
        raise ConfigError(
            [
                Problem(
                    "sweep",
                    "nothing to sweep: add a 'sweep:' section with parameters to the config, "
                    "or give --param KEY=V1,V2,...",
                    lines.get(("sweep",)),
                )
            ],
            source,
        )
    spec = _validate_spec(raw_sweep, lines, source)
    _check_search(spec, source)
    base_config = validate_config(copy.deepcopy(data), source, lines)  # the base itself must be valid
    try:
        trials = expand(spec, base_config.seed)
    except ConfigError as e:
        raise ConfigError([Problem(p.path, p.message, _line(lines, p.path)) for p in e.problems], source) from None
    checked = trials if spec.method not in SEARCHES else corner_points(spec, base_config.seed)
    experiments, problems = _validate_trials(data, checked, lines, source, from_cli)
    if problems:
        raise ConfigError(_dedupe(problems), source)
    first = next(iter(experiments.values())).config
    metric, mode = _ranking(spec, first, lines, source)
    name = first.name
    plan = SweepPlan(name, source, data, spec, trials, experiments, metric, mode, fingerprint({"config": data}, spec))
    plan.warnings = warnings
    plan.base_seed = base_config.seed
    return plan


def _check_search(spec: SweepConfig, source: str) -> None:
    """A search or pruner that needs Optuna fails here, before anything runs (exit 2), as does a pruner
    parameter Optuna refuses."""
    if not spec.needs_study:
        return
    from nnrun.sweep.pruning import make_pruner
    from nnrun.sweep.search import check_available

    check_available(spec)
    make_pruner(spec.pruner, source)


def corner_points(spec: SweepConfig, base_seed: int) -> list[TrialPoint]:
    """The points a search's configs are checked at before it runs: the first value of every parameter, then
    each parameter in turn at each of its other listed values and at both ends of its range."""
    candidates: dict[str, list[Any]] = {}
    for key, values in spec.parameters.items():
        if isinstance(values, list) or (isinstance(values, Distribution) and values.is_choice):
            candidates[key] = list(values if isinstance(values, list) else values.values or [])
        else:
            cast = int if values.is_int else float
            candidates[key] = [cast(values.low), cast(values.high)]
    first = {k: v[0] for k, v in candidates.items()}
    points = [first] + [{**first, k: v} for k, values in candidates.items() for v in values[1:]]
    return [trial_point(i, p, 0, base_seed) for i, p in enumerate(points, 1)]


def _validate_spec(raw: dict[str, Any], lines: dict, source: str) -> SweepConfig:
    from pydantic import ValidationError

    from nnrun.config.load import validation_problems

    try:
        return SweepConfig.model_validate(raw)
    except ValidationError as e:
        problems = validation_problems(e, {}, set())
        for p in problems:
            p.path = f"sweep.{p.path}" if p.path else "sweep"
            p.line = _line(lines, p.path)
        raise ConfigError(problems, source) from None


def _validate_trials(
    data: dict[str, Any], trials: list[TrialPoint], lines: dict, source: str, from_cli: set[str]
) -> tuple[dict[str, Experiment], list[Problem]]:
    experiments: dict[str, Experiment] = {}
    problems: list[Problem] = []
    for trial in trials:
        trial_data = copy.deepcopy(data)
        for item in trial.overrides:
            key_path, value = parse_override(item)
            try:
                apply_override(trial_data, key_path, value)
            except ConfigError as e:
                problems += [_blame(p, trial, lines, from_cli) for p in e.problems]
        try:
            config = validate_config(trial_data, source)
            config._source, config._lines = source, {}  # relative data paths are relative to the config file
            experiments[trial.id] = prepare(config)
        except ConfigError as e:
            problems += [_blame(p, trial, lines, from_cli) for p in e.problems]
        except DataError as e:
            problems.append(Problem("data", str(e), _line(lines, "data")))
    return experiments, problems


def _blame(problem: Problem, trial: TrialPoint, lines: dict, from_cli: set[str]) -> Problem:
    """A problem under a swept key is the sweep's: report it at sweep.parameters.<key> with the value."""
    for key, value in trial.params.items():
        if problem.path == key or problem.path.startswith(key + ".") or key.startswith(problem.path + "."):
            where = f"sweep.parameters.{key}"
            message = problem.message
            if not message.startswith("unknown key"):
                message += f" (value {json.dumps(value)})"
            if key in from_cli:
                return Problem(where, message + " (from --param)")
            return Problem(where, message, _line(lines, where))
    return Problem(problem.path, problem.message, _line(lines, problem.path))


def _line(lines: dict, dotted: str) -> int | None:
    """The line of the deepest known key of a dotted path (keys may themselves contain dots)."""
    return line_of(lines, dotted)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _ranking(spec: SweepConfig, config: ExperimentConfig, lines: dict, source: str) -> tuple[str, str]:
    """The metric that ranks trials and whether larger is better."""
    metrics = list(config.train.metrics or [])
    validation = config.train.validation_split > 0
    available = ["loss", *metrics]
    if validation:
        available += [f"val_{m}" for m in available]
    metric = spec.metric
    if metric is None:
        accuracy = next((m for m in metrics if m in DEFAULT_RANKING), None)
        base = accuracy or (metrics[0] if metrics else "loss")
        metric = f"val_{base}" if validation else base
    elif metric not in available:
        match = closest(metric, available)
        hint = f" Did you mean '{match}'?" if match else ""
        raise ConfigError(
            [
                Problem(
                    "sweep.metric",
                    f"'{metric}' is not reported by these trials. Expected one of: {', '.join(available)}.{hint}",
                    _line(lines, "sweep.metric"),
                )
            ],
            source,
        )
    mode = spec.mode
    if mode == "auto":
        mode = direction(metric)
    return metric, mode
