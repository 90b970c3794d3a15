"""Trials as Ray tasks, on a local Ray instance or a running cluster (``pip install 'nnrun[ray]'``).

Each trial is a Ray task calling the same worker body as the local executors
(:func:`~nnrun.sweep.worker.run_task`). A prepared data set is put in Ray's object store once and shared by
every task that uses it (workers need no shared filesystem and nothing is pickled into each task); results
come back to the driver, the only writer of the sweep folder. Each result says on which node it ran.
A task whose worker process dies is retried ``max_retries`` times, then recorded as failed.
"""

from __future__ import annotations

import socket
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nnrun.errors import InvalidArgumentError
from nnrun.sweep.events import EpochEnded, EventSink, Placement, ProgressEvent, TrialStarted
from nnrun.sweep.executors import ExecutorBase
from nnrun.sweep.pruning import Answers, Decide, wait_for
from nnrun.sweep.worker import TrialTask, placed, run_task
from nnrun.trial import TrialResult

INSTALL = "pip install 'nnrun[ray]'"


def import_ray() -> Any:
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise InvalidArgumentError(
            f"--executor ray needs Ray, which is not installed. Install it with: {INSTALL}"
        ) from None
    return ray


class RayExecutor(ExecutorBase):
    """Runs trials on Ray: ``address=None`` starts a local instance (or joins ``$RAY_ADDRESS``); ``HOST:PORT``,
    ``ray://HOST:PORT`` or ``auto`` joins a running cluster, and fails if none answers there."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        cpus_per_trial: int = 1,
        max_retries: int = 2,
        num_cpus: int | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        self.ray = import_ray()
        if isinstance(cpus_per_trial, bool) or not isinstance(cpus_per_trial, int) or cpus_per_trial < 1:
            raise InvalidArgumentError(f"--cpus-per-trial must be at least 1. Received: {cpus_per_trial}")
        self.address = None if address is None else check_address(address)
        self.cpus_per_trial, self.max_retries, self.num_cpus = cpus_per_trial, max_retries, num_cpus
        self.connect_timeout = connect_timeout
        self.workers = 1
        self._started_here = False

    def start(self) -> None:
        """Connect to (or start) Ray; ``workers`` becomes the number of trials the cluster runs at once."""
        ray = self.ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False}
            if self.address is None:
                ray.init(include_dashboard=False, num_cpus=self.num_cpus, **options)
            else:
                connect(ray, self.address, self.connect_timeout, options)
            self._started_here = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, cpus // self.cpus_per_trial)

    def close(self) -> None:
        """Disconnect (a local instance started here stops; a cluster keeps running)."""
        if self._started_here and self.ray.is_initialized():
            self.ray.shutdown()
        self._started_here = False

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        self.start()
        call = self.ray.remote(num_cpus=self.cpus_per_trial)(_call)
        return self.ray.get([call.remote(fn, item) for item in items])

    def run(
        self,
        tasks: Iterable[TrialTask],
        on_event: EventSink,
        should_stop: Callable[[], bool],
        decide: Decide | None = None,
    ) -> Iterator[tuple[str, TrialResult]]:
        ray = self.ray
        self.start()
        from ray.util.queue import Empty, Queue

        events = Queue(actor_options={"num_cpus": 0})
        stop = ray.remote(num_cpus=0)(_StopFlag).remote()
        answers = ray.remote(num_cpus=0)(Answers).remote() if decide is not None else None
        trial = ray.remote(num_cpus=self.cpus_per_trial, max_retries=self.max_retries)(_ray_trial)
        forward = on_event
        if decide is not None:

            def forward(event: Any) -> None:
                if isinstance(event, EpochEnded):
                    answers.put.remote(event.trial_id, event.epoch, decide(event))
                on_event(event)

        data: dict[str, Any] = {}  # each distinct data set, prepared once and put in the object store
        source = iter(tasks)
        refs: dict[Any, TrialTask] = {}
        started: dict[str, Placement] = {}
        stopping = False
        poll = 0.01 if decide is not None else 0.1
        while True:
            while len(refs) <= self.workers and not stopping and not should_stop():  # one queued beyond the workers
                task = next(source, None)
                if task is None:
                    break
                shared = self._share(task, data)
                if isinstance(shared, TrialResult):
                    yield task.id, shared
                    continue
                refs[trial.remote(task, shared, events, stop, self.cpus_per_trial, answers)] = task
            if not refs:
                break
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=poll)
            started.update(_drain(events, Empty, forward))
            if should_stop() and not stopping:
                stopping = True
                stop.set.remote()
                for ref in refs:
                    if ref not in ready:
                        ray.cancel(ref)  # not started yet: never runs; running ones stop after their batch
            for ref in ready:
                task = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue
                except Exception as e:
                    status = "interrupted" if stopping else "failed"
                    reason = "its Ray worker died (after retries)" if _worker_died(ray, e) else str(e).splitlines()[0]
                    result = placed(
                        TrialResult(status=status, stop_reason=f"{status}: {reason}", error=f"{type(e).__name__}: {e}"),
                        started.get(task.id),
                    )
                yield task.id, result
        _drain(events, Empty, forward)

    def _share(self, task: TrialTask, data: dict[str, Any]) -> Any:
        """The object-store reference of the task's data set (prepared here the first time), or a failed result
        if it cannot be prepared."""
        key = _data_key(task)
        if key not in data:
            refs, failures = self._share_data([task])
            data[key] = failures[task.id] if task.id in failures else refs[key]
        return data[key]

    def _share_data(self, tasks: list[TrialTask]) -> tuple[dict[str, Any], dict[str, TrialResult]]:
        """Each distinct data set, prepared once here and put in the object store; and a failed result for each
        task whose data could not be prepared."""
        from nnrun.experiment import prepare

        refs: dict[str, Any] = {}
        failures: dict[str, TrialResult] = {}
        for task in tasks:
            key = _data_key(task)
            if key not in refs:
                try:
                    refs[key] = self.ray.put(prepare(task.config))  # the data with its preprocessing record
                except Exception as e:
                    refs[key] = TrialResult(
                        status="failed",
                        stop_reason=str(e),
                        error=f"{type(e).__name__}: {e}",
                        traceback=traceback.format_exc(),
                    )
            if isinstance(refs[key], TrialResult):
                failures[task.id] = refs[key]
        return refs, failures


def check_address(address: str) -> str:
    """``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``; anything else is an :class:`InvalidArgumentError`."""
    if address == "auto" or _host_port(address) is not None:
        return address
    raise InvalidArgumentError(
        "--address must be a running Ray cluster: HOST:PORT (its head node), ray://HOST:PORT (Ray Client) "
        f"or auto. Received: --address {address!r}"
    )


def _host_port(address: str) -> tuple[str, int] | None:
    rest = address.removeprefix("ray://")
    host, sep, port = rest.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def connect(ray: Any, address: str, timeout: float, options: dict[str, Any]) -> None:
    """Join the cluster at ``address`` (starting nothing); an :class:`InvalidArgumentError` naming the address if
    nothing answers there within ``timeout`` seconds or Ray refuses the connection."""
    where = _host_port(address)
    if where is not None:
        try:
            socket.create_connection(where, timeout=timeout).close()
        except OSError as e:
            raise InvalidArgumentError(
                f"--address {address}: no Ray cluster answers there ({e.strerror or e}). Start one with "
                f"'ray start --head --port {where[1]}', or check the host and port."
            ) from None
    try:
        ray.init(address=address, **options)
    except Exception as e:
        raise InvalidArgumentError(
            f"--address {address}: could not join the Ray cluster there: {type(e).__name__}: {e}"
        ) from None


def _data_key(task: TrialTask) -> str:
    return task.config.data.model_dump_json()


def _worker_died(ray: Any, error: Exception) -> bool:
    return isinstance(error, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError))


def _drain(events: Any, empty: type, on_event: EventSink) -> dict[str, Placement]:
    """Forward queued progress events; return where the trials that started run."""
    started: dict[str, Placement] = {}
    while True:
        try:
            batch = events.get_nowait_batch(max(1, events.qsize()))
        except empty:
            return started
        if not batch:
            return started
        for event in batch:
            if isinstance(event, TrialStarted):
                started[event.trial_id] = event.where
            on_event(event)


class _StopFlag:
    """A Ray actor: set once Ctrl-C is pressed; running trials poll it."""

    def __init__(self) -> None:
        self.value = False

    def set(self) -> None:
        self.value = True

    def is_set(self) -> bool:
        return self.value


def _ray_trial(
    task: TrialTask, dataset: Any, events: Any, stop: Any, threads: int, answers: Any = None
) -> TrialResult:
    """On a Ray worker: the shared worker body, on the shared data set; progress goes to the events queue, and
    with ``answers`` (an :class:`~nnrun.sweep.pruning.Answers` actor) it asks after each epoch whether to stop."""
    import ray

    def emit(event: ProgressEvent) -> None:
        events.actor.put_nowait.remote(event)  # fire and forget: never waits on the driver

    last = [0.0, False]

    def should_stop() -> bool:  # polled every batch; asks the flag at most once a second
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0], last[1] = now, ray.get(stop.is_set.remote())
        return last[1]

    prune = None
    if answers is not None:

        def prune(epoch: int) -> bool:
            return wait_for(lambda: ray.get(answers.take.remote(task.id, epoch)), poll=0.01)

    node_id = ray.get_runtime_context().get_node_id()
    return run_task(task, emit, should_stop, dataset=dataset, threads=threads, node_id=node_id, prune=prune)


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)
