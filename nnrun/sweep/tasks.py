"""The trials a sweep runs, handed to the executor one at a time: its pending trials (in the plan's run order:
shuffled by ``sweep.seed`` for a grid or random sweep with a pruner), then (a ``tpe`` or ``cmaes`` search) new
points asked of the study as workers become free, until the budget is spent.

Used by the runner, which owns the sweep folder: a new point is added to the manifest (and the manifest
written) before its trial is handed out, so a crash never loses track of a trial the study knows of.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator

from nnrun import results
from nnrun.config.schema import ExperimentConfig
from nnrun.config.sweep import SEARCHES
from nnrun.errors import ConfigError, DataError
from nnrun.runs.manifest import TrialEntry
from nnrun.runs.sweep_store import SweepFolder
from nnrun.sweep.plan import SweepPlan
from nnrun.sweep.spec import TrialPoint
from nnrun.sweep.study import STUDY_DB, SweepStudy
from nnrun.sweep.worker import TrialTask
from nnrun.trial import TrialResult


def open_study(plan: SweepPlan, folder: SweepFolder) -> SweepStudy | None:
    """The sweep's study in its folder (None when it needs none), reconciled with the manifest."""
    if not plan.spec.needs_study:
        return None
    study = SweepStudy.open(folder.path / STUDY_DB, plan.spec, plan.metric, plan.mode, plan.source)
    study.reconcile(folder.manifest.trials, lambda entry: recorded_value(folder, entry, plan.metric))
    return study


def recorded_value(folder: SweepFolder, entry: TrialEntry, metric: str) -> float | None:
    """A recorded trial's final ``metric``, read back from its run folder."""
    from nnrun.runs.catalog import read_run

    if entry.folder is None or not (folder.path / entry.folder).is_dir():
        return None
    run = read_run(folder.path / entry.folder)
    return results.finite(results.final_values(run.metrics, run.history).get(metric))


def trial_value(result: TrialResult, metric: str) -> float | None:
    """A trial's final ``metric`` as the summary ranks it (the kept weights' value), or None."""
    return results.finite(results.final_values(result.metrics, result.history).get(metric))


class SweepTasks:
    """An iterable of :class:`TrialTask` read lazily by the executor (see the module docstring); ``len`` is how
    many trials are left to run."""

    def __init__(
        self,
        plan: SweepPlan,
        folder: SweepFolder,
        study: SweepStudy | None,
        pending: list[TrialEntry],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.plan, self.folder, self.study, self.should_stop = plan, folder, study, should_stop
        rank = {trial_id: i for i, trial_id in enumerate(plan.run_order)}  # shuffled for a pruner; a search: none
        self.pending = sorted(pending, key=lambda entry: rank.get(entry.id, len(rank)))  # stable: else as listed
        self.configs: dict[str, ExperimentConfig] = {}
        self.invalid = 0  # new points whose config was refused (recorded as failed trials, never run)
        searching = plan.spec.method in SEARCHES
        self._new = max(0, plan.size - len(folder.manifest.trials)) if searching else 0

    def __len__(self) -> int:
        return len(self.pending) + self._new

    def config(self, trial_id: str) -> ExperimentConfig:
        return self.configs[trial_id]

    def __iter__(self) -> Iterator[TrialTask]:
        searching = self.plan.spec.method in SEARCHES
        for entry in self.pending:
            if searching:  # its overrides made again from its values
                point = self.plan.point(int(entry.id), entry.params)
            else:
                point = TrialPoint(entry.id, entry.params, entry.repeat, entry.seed or 0)
            if self.study is not None:
                self.study.start(entry.id, entry.params)
            task = self._task(point)
            if task is not None:
                yield task
        while self._new > 0 and self.study is not None and not self.should_stop():
            number = len(self.folder.manifest.trials) + 1
            point = self.plan.point(number, self.study.ask(f"{number:04d}"))
            self.folder.manifest.trials.append(TrialEntry(point.id, point.params, point.repeat, point.seed))
            self.folder.write_manifest()  # before it runs: a crash never loses track of a point the study knows
            self._new -= 1
            task = self._task(point)
            if task is not None:
                yield task

    def _task(self, point: TrialPoint) -> TrialTask | None:
        """The trial's task; None if its config is refused (a search's point the corner checks did not cover):
        then it is recorded as a failed trial, which still counts against the budget."""
        try:
            config = self.plan.trial_config(point)
        except (ConfigError, DataError) as e:
            result = TrialResult(
                status="failed", stop_reason=str(e), error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()
            )
            self.folder.record(point.id, {"name": self.plan.name, **point.params}, result)
            if self.study is not None:
                self.study.finish(point.id, "failed", None)
            self.invalid += 1
            return None
        self.configs[point.id] = config
        return TrialTask(point.id, config, figures=self.plan.spec.trial_figures == "all")
