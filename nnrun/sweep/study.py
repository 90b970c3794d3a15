"""The sweep's Optuna study, owned by the parent process and kept in the sweep folder (``study.db``, SQLite).

Each nnrun trial is one study trial, tagged with its id (user attribute ``nnrun_id``). A ``tpe`` or ``cmaes``
search asks the study for each new point; a grid or random sweep with a pruner gives the study its points.
Every epoch's metric is reported to the study, whose pruner decides whether the trial goes on; a finished
trial is told as COMPLETE (its final metric), PRUNED, or FAIL (diverged, failed, interrupted; the nnrun status
is its ``nnrun_status`` attribute).

The runner records a trial's run folder before telling the study, so after SIGKILL :meth:`SweepStudy.reconcile`
brings the study in line with the manifest: a study trial left running whose nnrun trial was recorded is told
now; one whose trial was not recorded is marked abandoned (FAIL, ``nnrun_abandoned``) and its trial runs again
as a new study trial. The latest study trial of an nnrun id is its record; the study never counts a trial twice.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nnrun.config.sweep import SweepConfig
from nnrun.runs import layout
from nnrun.runs.manifest import TrialEntry
from nnrun.sweep import search
from nnrun.sweep.events import EpochEnded
from nnrun.sweep.pruning import make_pruner

STUDY_DB = layout.STUDY
STUDY_NAME = "nnrun-sweep"
ID_ATTR = "nnrun_id"
STATUS_ATTR = "nnrun_status"
ABANDONED_ATTR = "nnrun_abandoned"


def storage_url(path: Path) -> str:
    """Optuna's RDB storage URL for a SQLite file."""
    return f"sqlite:///{Path(path).resolve().as_posix()}"


class SweepStudy:
    """The study of one sweep: asks points, reports epochs, tells outcomes (see the module docstring)."""

    def __init__(self, study: Any, spec: SweepConfig, metric: str) -> None:
        self.study, self.spec, self.metric = study, spec, metric
        self.distributions = search.distributions(spec)
        self.running: dict[str, Any] = {}  # nnrun id → its live optuna Trial

    @classmethod
    def open(cls, path: Path, spec: SweepConfig, metric: str, mode: str, source: str = "") -> SweepStudy:
        """The study in ``path`` (made if new), with the sweep's sampler and pruner."""
        search.check_available(spec)
        optuna = search.import_optuna("sweep.pruner")
        storage = optuna.storages.RDBStorage(storage_url(path), engine_kwargs={"connect_args": {"timeout": 60}})
        _fast_sqlite(storage.engine)
        study = optuna.create_study(
            storage=storage,
            study_name=STUDY_NAME,
            direction="maximize" if mode == "max" else "minimize",
            load_if_exists=True,
            pruner=make_pruner(spec.pruner, source),
        )
        study.sampler = search.make_sampler(spec, seed_offset=len(study.get_trials(deepcopy=False)))
        return cls(study, spec, metric)

    # -- resuming ----------------------------------------------------------------------------------------

    def reconcile(self, entries: Iterable[TrialEntry], outcome: Callable[[TrialEntry], float | None]) -> None:
        """After a crash: tell the study what the manifest recorded, abandon what it did not.

        ``outcome(entry)`` is a recorded trial's final metric (None if not finite); entries recorded but
        missing from the study (it was deleted) are added as finished trials."""
        from optuna.trial import TrialState

        by_id = {e.id: e for e in entries}
        seen: set[str] = set()
        for trial in self.study.get_trials(deepcopy=False):
            trial_id = trial.user_attrs.get(ID_ATTR)
            seen.add(trial_id)
            if trial.state != TrialState.RUNNING:
                continue
            entry = by_id.get(trial_id)
            if entry is not None and entry.done:
                self._tell(trial.number, trial._trial_id, entry.status, outcome(entry))
            else:
                self.study._storage.set_trial_user_attr(trial._trial_id, ABANDONED_ATTR, True)
                self.study.tell(trial.number, state=TrialState.FAIL)
        for entry in by_id.values():
            if entry.done and entry.id not in seen:
                self._add_finished(entry, outcome(entry))

    def _add_finished(self, entry: TrialEntry, value: float | None) -> None:
        from optuna.trial import create_trial

        state, values = self._state(entry.status, value)
        params, dists = self._params(entry.params)
        attrs = {ID_ATTR: entry.id, STATUS_ATTR: entry.status}
        trial = create_trial(state=state, values=values, params=params, distributions=dists, user_attrs=attrs)
        self.study.add_trial(trial)

    def _params(self, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Parameter values and their distributions as the study stores them; none if a value lies outside the
        space (a manifest edited by hand: the trial is kept, without its parameters)."""
        encoded = {k: search.encode(v) for k, v in params.items() if k in self.distributions}
        try:
            for key, value in encoded.items():
                dist = self.distributions[key]
                if not dist._contains(dist.to_internal_repr(value)):
                    return {}, {}
        except (ValueError, TypeError):
            return {}, {}
        return encoded, {k: self.distributions[k] for k in encoded}

    # -- running -----------------------------------------------------------------------------------------

    def ask(self, trial_id: str) -> dict[str, Any]:
        """A new point from the sampler, for the trial ``trial_id``: its parameter values."""
        trial = self.study.ask(fixed_distributions=self.distributions)
        trial.set_user_attr(ID_ATTR, trial_id)
        self.running[trial_id] = trial
        return search.point(trial.params, self.spec)

    def start(self, trial_id: str, params: dict[str, Any]) -> None:
        """A study trial for ``trial_id`` with its given parameter values (a grid or random point, or a trial run
        again after a crash)."""
        from optuna.trial import FrozenTrial, Trial, TrialState

        encoded, dists = self._params(params)
        template = FrozenTrial(
            number=-1,
            state=TrialState.RUNNING,
            value=None,
            datetime_start=datetime.datetime.now(),
            datetime_complete=None,
            params=encoded,
            distributions=dists,
            user_attrs={ID_ATTR: trial_id},
            system_attrs={},
            intermediate_values={},
            trial_id=-1,
        )
        # Optuna's storage API (public on BaseStorage): a running trial with these parameters, made in one step
        storage_id = self.study._storage.create_new_trial(self.study._study_id, template_trial=template)
        self.running[trial_id] = Trial(self.study, storage_id)

    def report(self, event: EpochEnded) -> bool:
        """Report an epoch's metric; whether the pruner stops the trial there."""
        trial = self.running.get(event.trial_id)
        value = event.logs.get(self.metric)
        if trial is None or value is None or not math.isfinite(value):
            return False
        trial.report(float(value), event.epoch)
        return bool(trial.should_prune())

    def finish(self, trial_id: str, status: str, value: float | None) -> None:
        """Tell the study how the trial ended (after its run folder is recorded)."""
        trial = self.running.pop(trial_id, None)
        if trial is not None:
            self._tell(trial.number, trial._trial_id, status, value)

    def _state(self, status: str, value: float | None) -> tuple[Any, list[float] | None]:
        from optuna.trial import TrialState

        if status == "pruned":
            return TrialState.PRUNED, None
        if status == "completed" and value is not None and math.isfinite(value):
            return TrialState.COMPLETE, [float(value)]
        return TrialState.FAIL, None

    def _tell(self, number: int, storage_id: int, status: str, value: float | None) -> None:
        state, values = self._state(status, value)
        self.study._storage.set_trial_user_attr(storage_id, STATUS_ATTR, status)
        self.study.tell(number, values, state=state, skip_if_finished=True)

    # -- reading -----------------------------------------------------------------------------------------

    def records(self) -> dict[str, Any]:
        """nnrun id → its latest study trial (abandoned attempts left out)."""
        out: dict[str, Any] = {}
        for trial in self.study.get_trials(deepcopy=False):
            if ID_ATTR in trial.user_attrs and not trial.user_attrs.get(ABANDONED_ATTR):
                out[trial.user_attrs[ID_ATTR]] = trial
        return out


def _fast_sqlite(engine: Any) -> None:
    """Write-ahead logging, synced at checkpoints: a report per epoch costs a quarter less, and a killed process
    loses nothing committed (the OS has it; only a power cut could lose the last reports, which the manifest,
    the record of what finished, makes good on resume)."""
    from sqlalchemy import event

    def pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()  # the connections Optuna opened to create the tables reconnect with the pragmas


def load_study(path: Path) -> Any:
    """A sweep folder's study, read back (for reports and tests); None if it has none."""
    if not Path(path).is_file():
        return None
    optuna = search.import_optuna("reading study.db")
    return optuna.load_study(study_name=STUDY_NAME, storage=storage_url(path))


__all__ = ["ABANDONED_ATTR", "ID_ATTR", "STATUS_ATTR", "STUDY_DB", "STUDY_NAME", "SweepStudy", "load_study"]
