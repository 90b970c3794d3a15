"""The worker body: one trial task, run wherever an executor puts it (this process, a pool worker, a Ray worker).

Every executor calls :func:`run_task`; only how events travel back and how a stop request is read differ.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nnrun.config.schema import ExperimentConfig
from nnrun.sweep.events import BatchProgress, EpochEnded, EventSink, Placement, TrialStarted
from nnrun.trial import TrialResult


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs: the trial's id and its resolved config."""

    id: str
    config: ExperimentConfig
    figures: bool = True  # draw the trial's own plots here (sweep.trial_figures: all); else the sweep draws its best


def run_task(
    task: TrialTask,
    emit: EventSink,
    should_stop: Callable[[], bool] | None = None,
    dataset: Any = None,
    threads: int | None = None,
    node_id: str | None = None,
    prune: Callable[[int], bool] | None = None,
) -> TrialResult:
    """Run one trial: its data is ``dataset`` if given, else prepared here (once per process); its plots, when the
    task asks for them, are drawn here, so the caller only writes files. The result says where it ran
    (``ran_on``, also in its metrics).

    ``threads`` limits the BLAS threads for this trial; ``node_id`` is the Ray node, if any. ``prune(epoch)``, if
    given, is asked after each epoch (once its :class:`EpochEnded` is sent) whether to stop the trial there: the
    executor carries the question to the sweep's study and its answer back.
    """
    where = Placement.here(node_id)
    emit(TrialStarted(task.id, where))
    try:
        experiment = _experiment(task, dataset)
    except Exception as e:
        result = TrialResult(
            status="failed",
            stop_reason=str(e),
            error=f"{type(e).__name__}: {e}",
            traceback=traceback.format_exc(),
        )
    else:
        from nnrun.trial import run_trial

        with _blas_threads(threads):
            observer = ProgressEvents(task.id, emit, prune=prune)
            result = run_trial(experiment, observer=observer, should_stop=should_stop)
        if task.figures:  # the plots note early stopping, test score, hyperparameters, chance
            from nnrun.report import render_plots

            config = task.config.to_yaml_dict()
            result.plots = render_plots(
                task.config.name, result.history, result.metrics, config, result.preprocessing, result.test_classes
            )
    return placed(result, where)


def placed(result: TrialResult, where: Placement | None) -> TrialResult:
    """Record where the trial ran in the result and in its metrics (so it reaches metrics.json)."""
    if where is not None:
        result.ran_on = where.to_dict()
        result.metrics["ran_on"] = where.to_dict()
    return result


def _experiment(task: TrialTask, dataset: Any) -> Any:
    from nnrun.experiment import Experiment, prepare

    if dataset is None:
        return prepare(task.config)
    if isinstance(dataset, Experiment):  # shared by the Ray driver: the data and how they were prepared
        return Experiment(task.config, dataset.dataset, dataset.preprocessing)
    return Experiment(task.config, dataset)


@contextlib.contextmanager
def _blas_threads(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        yield


class ProgressEvents:
    """A :class:`~nnrun.trial.TrainingObserver` that turns training callbacks into events: every epoch, and the
    current batch at most once per ``interval`` seconds; ``prune(epoch)`` answers :meth:`should_prune`."""

    def __init__(
        self, trial_id: str, emit: EventSink, interval: float = 0.5, prune: Callable[[int], bool] | None = None
    ) -> None:
        self.trial_id, self.emit, self.interval, self.prune = trial_id, emit, interval, prune
        self.epochs = self.steps = self.epoch = 0
        self._last = 0.0

    def on_model(self, summary: str) -> None: ...

    def on_train_begin(self, epochs: int, steps: int) -> None:
        self.epochs, self.steps = epochs, steps

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self.emit(BatchProgress(self.trial_id, self.epoch + 1, self.epochs, step + 1, self.steps, dict(logs)))

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.emit(EpochEnded(self.trial_id, epoch + 1, self.epochs, dict(logs)))

    def should_prune(self, epoch: int) -> bool:
        """Whether the sweep stops this trial after ``epoch`` (from 1); never without a ``prune`` channel."""
        return self.prune is not None and bool(self.prune(epoch))
