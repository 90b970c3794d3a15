"""Where trials run: in this process, or in a pool of worker processes. (A Ray executor fits the same shape.)

An executor takes trial tasks (an id and a resolved config: small and picklable; each worker loads the
data itself, once) and yields ``(trial id, TrialResult)`` as trials finish, in any order. Progress comes
back through ``on_event(trial_id, kind, info)`` with kind ``"start"``, ``"epoch"`` or ``"batch"``. When
``should_stop()`` turns true, running trials stop after their current batch (as ``interrupted``) and
trials not yet started are not run. Results travel back to the caller, the only writer of the sweep folder.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_module
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from nnrun.config.schema import ExperimentConfig
from nnrun.trial import TrialResult

EventSink = Callable[[str, str, dict[str, Any]], None]


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs: the trial's id and its resolved config."""

    id: str
    config: ExperimentConfig


class Executor(Protocol):
    """Runs trial tasks; see the module docstring."""

    name: str
    workers: int

    def run(
        self, tasks: list[TrialTask], on_event: EventSink, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, TrialResult]]: ...


def available_cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def execute_trial(
    task: TrialTask, on_event: EventSink | None = None, should_stop: Callable[[], bool] | None = None
) -> TrialResult:
    """Prepare the task's experiment (its data is loaded once per process) and run it."""
    from nnrun.config.build import prepare
    from nnrun.trial import run_trial

    if on_event is not None:
        on_event(task.id, "start", {"pid": os.getpid()})
    try:
        experiment = prepare(task.config)
    except Exception as e:
        return TrialResult(status="failed", stop_reason=f"failed: {e}", error=f"{type(e).__name__}: {e}")
    observer = _EventObserver(task.id, on_event) if on_event is not None else None
    result = run_trial(experiment, observer=observer, should_stop=should_stop)
    # the plots are drawn here, in the worker; the parent only writes the files
    from nnrun.runs.record import render_plots

    result.plots = render_plots(task.config.name, result.history)
    return result


class _EventObserver:
    """Training progress as events: every epoch, and the current batch at most twice a second."""

    def __init__(self, trial_id: str, sink: EventSink) -> None:
        self.trial_id, self.sink = trial_id, sink
        self._last = 0.0
        self.epochs = self.steps = 0
        self.epoch = 0

    def on_model(self, summary: str) -> None: ...

    def on_train_begin(self, epochs: int, steps: int) -> None:
        self.epochs, self.steps = epochs, steps

    def on_epoch_begin(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, step: int, logs: dict[str, float]) -> None:
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            self.sink(
                self.trial_id,
                "batch",
                {"epoch": self.epoch, "epochs": self.epochs, "step": step + 1, "steps": self.steps, "logs": dict(logs)},
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.sink(self.trial_id, "epoch", {"epoch": epoch + 1, "epochs": self.epochs, "logs": dict(logs)})


class SerialExecutor:
    """One trial after another, in this process."""

    name = "serial"
    workers = 1

    def start(self) -> None: ...

    def close(self) -> None: ...

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        return [fn(item) for item in items]

    def run(
        self, tasks: list[TrialTask], on_event: EventSink, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, TrialResult]]:
        for task in tasks:
            if should_stop():
                return
            yield task.id, execute_trial(task, on_event, should_stop)


# -- worker processes -----------------------------------------------------------------------------------

_worker_events: Any = None
_worker_stop: Any = None
_worker_blas: Any = None


def _init_worker(events: Any, stop: Any, threads: int) -> None:
    """In each worker: BLAS threads limited, Ctrl-C left to the parent, progress queue and stop flag kept."""
    global _worker_events, _worker_stop, _worker_blas
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it sets the stop flag
    _worker_events, _worker_stop = events, stop
    from threadpoolctl import threadpool_limits

    _worker_blas = threadpool_limits(limits=threads)


def _run_in_worker(task: TrialTask) -> TrialResult:
    def send(trial_id: str, kind: str, info: dict[str, Any]) -> None:
        _worker_events.put((trial_id, kind, info))

    return execute_trial(task, send, _worker_stop.is_set)


class ProcessExecutor:
    """A local pool of worker processes; workers × BLAS threads never exceed the cores.

    ``start()`` launches the workers ahead of time (they import nnrun while the caller plans);
    ``map`` runs any picklable function on them (the sweep draws its figures there); ``close()`` ends them.
    """

    name = "process"

    def __init__(self, workers: int | None = None, threads: int | None = None) -> None:
        cores = available_cores()
        self.workers = max(1, workers or cores)
        self.threads = threads or max(1, cores // self.workers)
        self._ctx = mp.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Launch the workers now, without waiting for them."""
        if self._pool is None:
            self._events, self._stop = self._ctx.Queue(), self._ctx.Event()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._ctx,
                initializer=_init_worker,
                initargs=(self._events, self._stop, self.threads),
            )
            for _ in range(self.workers):
                self._pool.submit(_ready)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        self.start()
        return list(self._pool.map(fn, items))  # type: ignore[union-attr]

    def run(
        self, tasks: list[TrialTask], on_event: EventSink, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, TrialResult]]:
        todo = list(tasks)
        while todo:
            self.start()
            pool, events, stop = self._pool, self._events, self._stop
            started: set[str] = set()
            finished: set[str] = set()
            futures: dict[Future, TrialTask] = {pool.submit(_run_in_worker, t): t for t in todo}  # type: ignore[union-attr]
            pending = set(futures)
            broken = False
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                started |= _drain(events, on_event)
                if should_stop() and not stop.is_set():
                    stop.set()
                    for f in pending:
                        f.cancel()
                for future in done:
                    task = futures[future]
                    if future.cancelled():
                        continue
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    except Exception as e:
                        result = TrialResult(status="failed", stop_reason=f"failed: {e}", error=repr(e))
                    finished.add(task.id)
                    yield task.id, result
            started |= _drain(events, on_event)
            if not broken or stop.is_set():
                return
            # A worker died (killed, out of memory): the trials it was running fail; the others run again
            # on a fresh pool.
            self._pool = None
            for task in todo:
                if task.id in started and task.id not in finished:
                    finished.add(task.id)
                    yield (
                        task.id,
                        TrialResult(
                            status="failed",
                            stop_reason="failed: its worker process died",
                            error="the worker process running this trial died",
                        ),
                    )
            todo = [t for t in todo if t.id not in finished]


def _ready() -> None:
    """A no-op that makes the pool start a worker."""


def _drain(events: Any, on_event: EventSink) -> set[str]:
    """Forward queued progress events; return the ids of trials that started."""
    started = set()
    while True:
        try:
            trial_id, kind, info = events.get_nowait()
        except queue_module.Empty:
            return started
        except (EOFError, OSError):
            return started
        if kind == "start":
            started.add(trial_id)
        on_event(trial_id, kind, info)


def make_executor(
    kind: str, workers: int | None = None, address: str | None = None, cpus_per_trial: int = 1
) -> Executor:
    """``process`` (a local pool, the default), ``serial`` (this process) or ``ray`` (a local or remote cluster)."""
    if kind == "ray":
        from nnrun.sweep.ray_executor import RayExecutor

        return RayExecutor(address=address, cpus_per_trial=cpus_per_trial)
    if address is not None:
        from nnrun.errors import InvalidArgumentError

        raise InvalidArgumentError(f"--address applies to --executor ray. Received: --executor {kind}")
    if kind == "serial" or (kind == "process" and workers == 1):
        return SerialExecutor()
    if kind == "process":
        return ProcessExecutor(workers)
    from nnrun.errors import InvalidArgumentError, did_you_mean

    choices = ["process", "serial", "ray"]
    raise InvalidArgumentError(
        f"Unknown executor: {kind!r}. Expected one of: {', '.join(choices)}." + did_you_mean(kind, choices)
    )
