"""From a config file, ``--set`` overrides and ``--param`` options to a validated list of trials.

Every trial's config is built and checked (schema and the checks across keys, with its data) before
anything runs; a problem caused by a swept value is reported at ``sweep.parameters.<key>`` with the
value and its line, once, however many trials share it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.config.build import Experiment, prepare
from nnrun.config.load import apply_override, load_raw, parse_override, validate_config
from nnrun.config.schema import ExperimentConfig
from nnrun.config.sweep import SweepConfig
from nnrun.errors import ConfigError, DataError, Problem, closest
from nnrun.sweep.spec import TrialPoint, distinct, expand, fingerprint, parse_param

ACCURACY_LIKE = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy")


@dataclass
class SweepPlan:
    """A validated sweep: its name, spec, base config, trials and their prepared experiments."""

    name: str
    source: str
    base: dict[str, Any]  # the config mapping after --set, without its sweep section
    spec: SweepConfig
    trials: list[TrialPoint]
    experiments: dict[str, Experiment]  # trial id → prepared experiment
    metric: str
    mode: str
    fingerprint: str
    warnings: list[str] = field(default_factory=list)  # e.g. values listed twice (each runs once)

    def experiment(self, trial_id: str) -> Experiment:
        return self.experiments[trial_id]


def plan_sweep(path: str | Path, overrides: list[str] | None = None, params: list[str] | None = None) -> SweepPlan:
    """Load, override, expand and validate a sweep; a ConfigError lists every problem."""
    data, lines, source = load_raw(path)
    for item in overrides or []:
        key_path, value = parse_override(item)
        apply_override(data, key_path, value)
    return plan_from_mapping(data, lines, source, params)


def plan_from_sweep_folder(folder: str | Path) -> SweepPlan:
    """The plan recorded in a sweep folder's sweep.yaml (for ``nnrun sweep --resume DIR``)."""
    import yaml

    path = Path(folder) / "sweep.yaml"
    try:
        recorded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
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
    base_config = validate_config(copy.deepcopy(data), source, lines)  # the base itself must be valid
    try:
        trials = expand(spec, base_config.seed)
    except ConfigError as e:
        raise ConfigError([Problem(p.path, p.message, _line(lines, p.path)) for p in e.problems], source) from None
    experiments, problems = _validate_trials(data, trials, lines, source, from_cli)
    if problems:
        raise ConfigError(_dedupe(problems), source)
    first = next(iter(experiments.values())).config
    metric, mode = _ranking(spec, first, lines, source)
    name = first.name
    plan = SweepPlan(name, source, data, spec, trials, experiments, metric, mode, fingerprint({"config": data}, spec))
    plan.warnings = warnings
    return plan


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
    if dotted.startswith("sweep.parameters."):
        key = dotted[len("sweep.parameters.") :]
        found = lines.get(("sweep", "parameters", key))
        if found is not None:
            return found
    parts = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
    for n in range(len(parts), 0, -1):
        if parts[:n] in lines:
            return lines[parts[:n]]
    return None


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
        accuracy = next((m for m in metrics if m in ACCURACY_LIKE), None)
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
        base = metric[4:] if metric.startswith("val_") else metric
        mode = "max" if base in ACCURACY_LIKE else "min"
    return metric, mode
