"""Where trials run: in this process, in a pool of worker processes, or on Ray; registered by name.

An executor is a context manager (``start()`` on enter, ``close()`` on exit). ``run(tasks, on_event,
should_stop)`` takes trial tasks (an id and a resolved config: small and picklable; each worker loads the
data itself, once) and yields ``(trial id, TrialResult)`` as trials finish, in any order. Progress comes
back as typed events (:mod:`nnrun.sweep.events`) through ``on_event(event)``. When ``should_stop()`` turns
true, running trials stop after their current batch (as ``interrupted``) and trials not yet started are not
run. ``map(fn, items)`` runs any picklable function on the workers. Results travel back to the caller, the
only writer of the sweep folder. Every executor runs a trial with the same body, :func:`~nnrun.sweep.worker.run_task`.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue as queue_module
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError
from nnrun.sweep.events import EventSink, Placement, TrialStarted
from nnrun.sweep.worker import TrialTask, placed, run_task
from nnrun.trial import TrialResult

__all__ = [
    "EXECUTORS",
    "EventSink",
    "Executor",
    "ExecutorKind",
    "ProcessExecutor",
    "SerialExecutor",
    "TrialTask",
    "available_cores",
    "make_executor",
]


class Executor(Protocol):
    """Runs trial tasks; see the module docstring."""

    name: str
    workers: int  # trials run at once

    def start(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Executor: ...
    def __exit__(self, *exc: object) -> None: ...
    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]: ...
    def run(
        self, tasks: list[TrialTask], on_event: EventSink, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, TrialResult]]: ...


class ExecutorBase:
    """``with executor:`` starts it and always closes it."""

    def start(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> ExecutorBase:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the registry -----------------------------------------------------------------------------------------

OPTION_FLAGS = {"workers": "--workers", "address": "--address", "cpus_per_trial": "--cpus-per-trial"}


@dataclass(frozen=True)
class ExecutorKind:
    """A registered executor: its factory, the options it takes (keys of ``OPTION_FLAGS``) and a line of help."""

    name: str
    factory: Callable[..., Executor]
    options: tuple[str, ...]
    help: str


EXECUTORS: Registry[ExecutorKind] = Registry("executor")


def register_executor(
    name: str, options: tuple[str, ...] = (), help: str = ""
) -> Callable[[Callable[..., Executor]], Callable[..., Executor]]:
    """Register an executor factory under ``name``, with the options it accepts."""

    def decorator(factory: Callable[..., Executor]) -> Callable[..., Executor]:
        EXECUTORS.add(ExecutorKind(name, factory, options, help), name)
        return factory

    return decorator


def make_executor(
    kind: str, workers: int | None = None, address: str | None = None, cpus_per_trial: int | None = None
) -> Executor:
    """The executor registered as ``kind``, configured with the options given (``None`` = not given).

    An option the executor does not take is an :class:`InvalidArgumentError`, never ignored. Nothing is
    started: ``start()`` (or ``with``) does that.
    """
    entry = EXECUTORS.get(kind, "--executor")
    options = {"workers": workers, "address": address, "cpus_per_trial": cpus_per_trial}
    given = {k: v for k, v in options.items() if v is not None}
    for key, value in given.items():
        if key not in entry.options:
            takes = [n for n in EXECUTORS if key in EXECUTORS.get(n).options]
            raise InvalidArgumentError(
                f"{OPTION_FLAGS[key]} does not apply to --executor {entry.name}; it applies to "
                f"--executor {' or '.join(takes)}. Received: --executor {entry.name} {OPTION_FLAGS[key]} {value}"
            )
    return entry.factory(**given)


def available_cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_workers(workers: int | None) -> None:
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidArgumentError(f"--workers must be a whole number of at least 1. Received: --workers {workers}")


# -- in this process --------------------------------------------------------------------------------------


class SerialExecutor(ExecutorBase):
    """One trial after another, in this process."""

    name = "serial"
    workers = 1

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        return [fn(item) for item in items]

    def run(
        self, tasks: list[TrialTask], on_event: EventSink, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, TrialResult]]:
        for task in tasks:
            if should_stop():
                return
            yield task.id, run_task(task, on_event, should_stop)


@register_executor("serial", help="one trial after another, in this process")
def _serial() -> Executor:
    return SerialExecutor()


# -- worker processes -------------------------------------------------------------------------------------

_worker_events: Any = None
_worker_stop: Any = None


def _init_worker(events: Any, stop: Any, threads: int, parent: int, death_signal: bool) -> None:
    """In each worker: end with the parent, BLAS threads limited, Ctrl-C left to the parent, progress queue and
    stop flag kept."""
    global _worker_events, _worker_stop
    end_with_parent(parent, death_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it sets the stop flag
    _worker_events, _worker_stop = events, stop
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # for the life of the worker


def end_with_parent(parent: int, death_signal: bool = True, poll: float = 1.0) -> None:
    """Make this process end when process ``parent`` does, however it ends (even SIGKILL).

    On Linux (with ``death_signal``) the kernel sends SIGKILL at once on the parent's death
    (``PR_SET_PDEATHSIG``; Linux ties it to the thread that started this process, so the caller asks for it
    only from its main thread); everywhere a daemon thread also watches the parent id and exits within
    ``poll`` seconds of it changing (this process was re-parented).
    """
    if death_signal and sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watcher below is enough
            pass
    if os.getppid() != parent:  # the parent died before we could ask
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="nnrun-parent-watch", daemon=True).start()


def _run_in_worker(task: TrialTask) -> TrialResult:
    return run_task(task, _worker_events.put, _worker_stop.is_set)


class ProcessExecutor(ExecutorBase):
    """A local pool of worker processes; workers × BLAS threads never exceed the cores.

    Workers start when there is work, never more than the trials given to ``run``; each ends when this
    process ends, even if it is killed. ``map`` runs any picklable function on them (the sweep draws its
    figures there); ``close()`` ends them.
    """

    name = "process"

    def __init__(self, workers: int | None = None, threads: int | None = None) -> None:
        _check_workers(workers)
        self.cores = available_cores()
        self.workers = workers or self.cores
        self._threads = threads
        self._ctx = mp.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None

    @property
    def threads(self) -> int:
        """BLAS threads per worker."""
        return self._threads or max(1, self.cores // self.workers)

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._events, self._stop = self._ctx.Queue(), self._ctx.Event()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._ctx,
                initializer=_init_worker,
                initargs=(self._events, self._stop, self.threads, os.getpid(), _in_main_thread()),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        return list(self._ensure_pool().map(fn, items))

    def run(
        self, tasks: list[TrialTask], on_event: EventSink, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, TrialResult]]:
        todo = list(tasks)
        if self._pool is None and todo:
            self.workers = min(self.workers, len(todo))  # no more workers than trials
        while todo:
            pool = self._ensure_pool()
            events, stop = self._events, self._stop
            started: dict[str, Placement] = {}
            finished: set[str] = set()
            futures: dict[Future, TrialTask] = {pool.submit(_run_in_worker, t): t for t in todo}
            pending = set(futures)
            broken = False
            while pending:
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                started.update(_drain(events, on_event))
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
                        result = TrialResult(status="failed", stop_reason=str(e), error=repr(e))
                    finished.add(task.id)
                    yield task.id, result
            started.update(_drain(events, on_event))
            if not broken or stop.is_set():
                return
            # A worker died (killed, out of memory): the trials it was running fail; the others run again
            # on a fresh pool. If none had started, the workers cannot start: every trial left fails.
            self._pool = None
            for task in todo:
                if task.id not in finished and (task.id in started or not started):
                    finished.add(task.id)
                    yield task.id, _died(task, started.get(task.id))
            todo = [t for t in todo if t.id not in finished]


def _died(task: TrialTask, where: Placement | None) -> TrialResult:
    if where is None:
        reason = "the worker processes died before this trial started (see the errors above)"
    else:
        reason = "the worker process running this trial died"
    return placed(TrialResult(status="failed", stop_reason=reason, error=reason), where)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _drain(events: Any, on_event: EventSink) -> dict[str, Placement]:
    """Forward queued progress events; return where the trials that started run."""
    started: dict[str, Placement] = {}
    while True:
        try:
            event = events.get_nowait()
        except (queue_module.Empty, EOFError, OSError):
            return started
        if isinstance(event, TrialStarted):
            started[event.trial_id] = event.where
        on_event(event)


@register_executor("process", options=("workers",), help="a local pool of worker processes (the default)")
def _process(workers: int | None = None) -> Executor:
    _check_workers(workers)
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)


@register_executor(
    "ray", options=("address", "cpus_per_trial"), help="Ray: a local instance, or a running cluster (--address)"
)
def _ray(address: str | None = None, cpus_per_trial: int | None = None) -> Executor:
    from nnrun.sweep.ray_executor import RayExecutor

    return RayExecutor(address=address, cpus_per_trial=1 if cpus_per_trial is None else cpus_per_trial)
