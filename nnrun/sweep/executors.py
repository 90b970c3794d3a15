"""Where trials run: in this process, in a pool of worker processes, or on Ray; registered by name.

An executor is a context manager (``start()`` on enter, ``close()`` on exit). ``run(tasks, on_event,
should_stop, decide)`` takes trial tasks (an id and a resolved config: small and picklable; each worker loads
the data itself, once), from a list or any iterable it reads only when a worker is free to take the next (a
search picks each point when it is needed), and yields ``(trial id, TrialResult)`` as trials finish, in any
order. With ``decide`` (pruning, :mod:`nnrun.sweep.pruning`), every epoch's :class:`EpochEnded` is handed to
``decide(event)`` and the trial, which waits for the answer, stops there when it is true. Progress comes
back as typed events (:mod:`nnrun.sweep.events`) through ``on_event(event)``. When ``should_stop()`` turns
true, running trials stop after their current batch (as ``interrupted``) and trials not yet started are not
run. ``map(fn, items)`` runs any picklable function on the workers. Results travel back to the caller, the
only writer of the sweep folder. Every executor runs a trial with the same body, :func:`~nnrun.sweep.worker.run_task`.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import multiprocessing as mp
import os
import queue as queue_module
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from nnrun.engine.registry import Registry
from nnrun.errors import InvalidArgumentError
from nnrun.sweep.events import EpochEnded, EventSink, Placement, TrialStarted
from nnrun.sweep.pruning import Answers, Decide, PruneQuery
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
    def prepare(self, trials: int) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> Executor: ...
    def __exit__(self, *exc: object) -> None: ...
    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]: ...
    def run(
        self,
        tasks: Iterable[TrialTask],
        on_event: EventSink,
        should_stop: Callable[[], bool],
        decide: Decide | None = None,
    ) -> Iterator[tuple[str, TrialResult]]: ...


class ExecutorBase:
    """``with executor:`` starts it and always closes it."""

    def start(self) -> None: ...

    def prepare(self, trials: int) -> None:
        """Called with the number of trials to run, before the sweep shows anything or starts a thread: an
        executor may start its workers here."""

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
        self,
        tasks: Iterable[TrialTask],
        on_event: EventSink,
        should_stop: Callable[[], bool],
        decide: Decide | None = None,
    ) -> Iterator[tuple[str, TrialResult]]:
        answers = Answers()  # the decision is made while the worker body sends its event: it is there when asked

        def emit(event: Any) -> None:
            if decide is not None and isinstance(event, EpochEnded):
                answers.put(event.trial_id, event.epoch, decide(event))
            on_event(event)

        source = iter(tasks)
        while not should_stop():  # a task is taken only when it can run (a search asks for it then)
            task = next(source, None)
            if task is None:
                return
            prune = None if decide is None else (lambda epoch, t=task.id: bool(answers.take(t, epoch)))
            yield task.id, run_task(task, emit, should_stop, prune=prune)


@register_executor("serial", help="one trial after another, in this process")
def _serial() -> Executor:
    return SerialExecutor()


# -- worker processes -------------------------------------------------------------------------------------

_worker_events: Any = None
_worker_stop: Any = None
_worker_answers: Any = None  # this worker's own queue of pruning answers
_worker_slot = -1


def _init_worker(
    events: Any, stop: Any, threads: int, parent: int, death_signal: bool, answers: list[Any], slots: Any
) -> None:
    """In each worker: end with the parent, BLAS threads limited, Ctrl-C left to the parent, progress queue and
    stop flag kept, and an answer queue of its own (claimed from ``slots``, a shared counter)."""
    global _worker_events, _worker_stop, _worker_answers, _worker_slot
    end_with_parent(parent, death_signal)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it sets the stop flag
    for name in ("SIGTERM", "SIGHUP"):  # a forked worker inherits the sweep's handlers: a worker ends as spawned
        if hasattr(signal, name):  # ones do (the pool terminates a broken pool's workers with SIGTERM)
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    _worker_events, _worker_stop = events, stop
    with slots.get_lock():
        _worker_slot = slots.value
        slots.value += 1
    _worker_answers = answers[_worker_slot]
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # for the life of the worker
    atexit.register(_exit_at_once)  # runs first, once the pool's queues are flushed


def _exit_at_once() -> None:
    """A worker's last act: skip the interpreter's teardown (tearing down NumPy and the plotting stack takes a
    fifth of a second, and the worker holds nothing that needs it: it writes no files)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


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


def _run_in_worker(task: TrialTask, pruning: bool = False) -> TrialResult:
    return run_task(task, _worker_events.put, _worker_stop.is_set, prune=_ask_parent(task.id) if pruning else None)


def _ask_parent(trial_id: str) -> Callable[[int], bool]:
    """In a worker: ``prune(epoch)`` asks the parent (after the epoch's event) and waits on this worker's queue."""

    def prune(epoch: int) -> bool:
        _worker_events.put(PruneQuery(trial_id, epoch, _worker_slot))
        while True:
            try:
                answered, at, answer = _worker_answers.get(timeout=1.0)
            except queue_module.Empty:
                if _worker_stop.is_set():
                    return False
                continue
            if (answered, at) == (trial_id, epoch):
                return bool(answer)

    return prune


class ProcessExecutor(ExecutorBase):
    """A local pool of worker processes; workers × BLAS threads never exceed the cores.

    On Linux, ``prepare()`` forks the workers at once when this process runs no other thread: they begin with
    its imports and its prepared data, in milliseconds instead of the half second a fresh interpreter takes.
    Otherwise (another OS, another thread running, or a pool started again after a worker died) workers are
    spawned when there is work, never more than the trials given to ``run``. Each ends when this process
    ends, even if it is killed. ``map`` runs any picklable function on them (the sweep draws its figures
    there); ``close()`` ends them.
    """

    name = "process"

    def __init__(self, workers: int | None = None, threads: int | None = None) -> None:
        _check_workers(workers)
        self.cores = available_cores()
        self.workers = workers or self.cores
        self._threads = threads
        self._ctx: Any = mp.get_context("spawn")
        self._pool: ProcessPoolExecutor | None = None

    @property
    def threads(self) -> int:
        """BLAS threads per worker."""
        return self._threads or max(1, self.cores // self.workers)

    def prepare(self, trials: int) -> None:
        if self._pool is None and trials > 0:
            self.workers = min(self.workers, trials)  # no more workers than trials
            if can_fork():
                self._ensure_pool(mp.get_context("fork"))

    def _ensure_pool(self, context: Any = None) -> ProcessPoolExecutor:
        if self._pool is None:
            self._ctx = context if context is not None else mp.get_context("spawn")
            self._events, self._stop = self._ctx.Queue(), self._ctx.Event()
            self._answers = [self._ctx.Queue() for _ in range(self.workers)]
            slots = self._ctx.Value("i", 0)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=self._ctx,
                initializer=_init_worker,
                initargs=(
                    self._events,
                    self._stop,
                    self.threads,
                    os.getpid(),
                    _in_main_thread(),
                    self._answers,
                    slots,
                ),
            )
            if self._ctx.get_start_method() == "fork":  # every worker is forked now, while no other thread runs
                with warnings.catch_warnings():  # Python ≥ 3.12 counts BLAS threads, which stop across a fork
                    warnings.filterwarnings("ignore", r".*multi-threaded.*fork", DeprecationWarning)
                    self._pool.submit(int).result()
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        return list(self._ensure_pool().map(fn, items))

    def run(
        self,
        tasks: Iterable[TrialTask],
        on_event: EventSink,
        should_stop: Callable[[], bool],
        decide: Decide | None = None,
    ) -> Iterator[tuple[str, TrialResult]]:
        if self._pool is None and isinstance(tasks, Sized) and len(tasks):
            self.workers = min(self.workers, len(tasks))  # no more workers than trials
        source = iter(tasks)
        retry: list[TrialTask] = []  # trials a dead pool never started
        poll = 0.005 if decide is not None else 0.1  # a pruned trial waits for its answer after every epoch
        while True:
            pool = self._ensure_pool()
            events, stop, answers = self._events, self._stop, self._answers
            forward = _forwarder(on_event, decide, answers)
            started: dict[str, Placement] = {}
            running: dict[Future, TrialTask] = {}
            broken = False
            while True:
                # one trial queued beyond the workers keeps them busy while a result is recorded; a search
                # is asked for its next point only then
                while len(running) <= self.workers and not stop.is_set() and not should_stop():
                    task = retry.pop(0) if retry else next(source, None)
                    if task is None:
                        break
                    running[pool.submit(_run_in_worker, task, decide is not None)] = task
                if not running:
                    break
                done, _ = wait(list(running), timeout=poll, return_when=FIRST_COMPLETED)
                started.update(_drain(events, forward))
                if should_stop() and not stop.is_set():
                    stop.set()
                    for f in running:
                        f.cancel()
                for future in done:
                    if future.cancelled():
                        running.pop(future)
                        continue
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    except Exception as e:
                        result = TrialResult(status="failed", stop_reason=str(e), error=repr(e))
                    task = running.pop(future)
                    yield task.id, result
                if broken:
                    break
            started.update(_drain(events, forward))
            if not broken or stop.is_set():
                return
            # A worker died (killed, out of memory): the trials it was running fail; the others run again
            # on a fresh pool. If none had started, the workers cannot start: every trial left fails.
            self._pool = None
            for task in running.values():
                if task.id in started or not started:
                    yield task.id, _died(task, started.get(task.id))
                else:
                    retry.append(task)
            if not started:
                for task in source:
                    yield task.id, _died(task, None)
                return


def _forwarder(on_event: EventSink, decide: Decide | None, answers: list[Any]) -> Callable[[Any], None]:
    """Progress events to ``on_event``; an epoch's event to ``decide`` too, whose answer goes to the worker that
    asks for it (:class:`PruneQuery`, on that worker's queue)."""
    decisions: dict[tuple[str, int], bool] = {}

    def forward(event: Any) -> None:
        if isinstance(event, PruneQuery):
            answer = decisions.pop((event.trial_id, event.epoch), False)
            answers[event.slot].put((event.trial_id, event.epoch, answer))
            return
        if decide is not None and isinstance(event, EpochEnded):
            decisions[(event.trial_id, event.epoch)] = decide(event)
        on_event(event)

    return forward


def _died(task: TrialTask, where: Placement | None) -> TrialResult:
    if where is None:
        reason = "the worker processes died before this trial started (see the errors above)"
    else:
        reason = "the worker process running this trial died"
    return placed(TrialResult(status="failed", stop_reason=reason, error=reason), where)


FORK_UNSAFE_MODULES = ("jax", "torch", "tensorflow")  # native thread pools that a forked child cannot trust


def can_fork() -> bool:
    """Whether worker processes may be forked from this process: on Linux, while no other Python thread runs
    (a thread could hold a lock the child then waits on forever), no runtime with native thread pools of its
    own is loaded (JAX, PyTorch, TensorFlow), and the only BLAS threads are OpenBLAS's pthreads, which stop
    around a fork (an OpenMP runtime's do not). Elsewhere fork is unsafe (macOS's Accelerate) or missing
    (Windows), and workers are spawned."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return False
    if any(name in sys.modules for name in FORK_UNSAFE_MODULES):
        return False
    from threadpoolctl import threadpool_info

    return all(
        pool.get("internal_api") == "openblas" and pool.get("threading_layer") in ("pthreads", "disabled")
        for pool in threadpool_info()
    )


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
