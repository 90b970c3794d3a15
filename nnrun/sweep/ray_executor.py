"""Trials as Ray tasks, on a local Ray instance or a running cluster (``pip install 'nnrun[ray]'``).

Each trial is a Ray task calling the same function as the local executors. A prepared data set is put in
Ray's object store once and shared by every task that uses it (workers need no shared filesystem and
nothing is pickled into each task); results come back to the driver, the only writer of the sweep folder.
A task whose worker process dies is retried ``max_retries`` times, then recorded as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from nnrun.errors import InvalidArgumentError
from nnrun.sweep.executors import EventSink, TrialTask
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


class RayExecutor:
    """Runs trials on Ray: ``address=None`` starts a local instance; ``"auto"`` or ``"ray://host:port"`` joins
    a running cluster."""

    name = "ray"

    def __init__(
        self, address: str | None = None, cpus_per_trial: int = 1, max_retries: int = 2, num_cpus: int | None = None
    ) -> None:
        self.ray = import_ray()
        if cpus_per_trial < 1:
            raise InvalidArgumentError(f"--cpus-per-trial must be at least 1. Received: {cpus_per_trial}")
        self.address, self.cpus_per_trial, self.max_retries, self.num_cpus = (
            address,
            cpus_per_trial,
            max_retries,
            num_cpus,
        )
        self.workers = 1
        self._started_here = False

    def start(self) -> None:
        """Connect to (or start) Ray; ``workers`` becomes the number of trials the cluster runs at once."""
        ray = self.ray
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False}
            if self.address is None:
                options["num_cpus"] = self.num_cpus
            ray.init(address=self.address, **options)
            self._started_here = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = max(1, cpus // self.cpus_per_trial)

    def close(self) -> None:
        if self._started_here and self.ray.is_initialized():
            self.ray.shutdown()
        self._started_here = False

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        self.start()
        call = self.ray.remote(num_cpus=self.cpus_per_trial)(_call)
        return self.ray.get([call.remote(fn, item) for item in items])

    def run(
        self, tasks: list[TrialTask], on_event: EventSink, should_stop: Callable[[], bool]
    ) -> Iterator[tuple[str, TrialResult]]:
        ray = self.ray
        self.start()
        from ray.util.queue import Empty, Queue

        events = Queue(actor_options={"num_cpus": 0})
        stop = ray.remote(num_cpus=0)(_StopFlag).remote()
        trial = ray.remote(num_cpus=self.cpus_per_trial, max_retries=self.max_retries)(_ray_trial)
        data_refs = self._share_data(tasks)
        refs = {trial.remote(t, data_refs[_data_key(t)], events, stop, self.cpus_per_trial): t for t in tasks}
        pending = list(refs)
        stopping = False
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.1)
            _drain(events, Empty, on_event)
            if should_stop() and not stopping:
                stopping = True
                stop.set.remote()
                for ref in pending:
                    ray.cancel(ref)  # not started yet: never runs; running ones stop after their batch
            for ref in ready:
                task = refs[ref]
                try:
                    result = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue
                except Exception as e:
                    status = "interrupted" if stopping else "failed"
                    reason = "its Ray worker died (after retries)" if _worker_died(ray, e) else str(e).splitlines()[0]
                    result = TrialResult(
                        status=status, stop_reason=f"{status}: {reason}", error=f"{type(e).__name__}: {e}"
                    )
                yield task.id, result
        _drain(events, Empty, on_event)

    def _share_data(self, tasks: list[TrialTask]) -> dict[str, Any]:
        """Each distinct data set, prepared once here and put in the object store."""
        from nnrun.config.build import prepare

        refs: dict[str, Any] = {}
        for task in tasks:
            key = _data_key(task)
            if key not in refs:
                refs[key] = self.ray.put(prepare(task.config).dataset)
        return refs


def _data_key(task: TrialTask) -> str:
    return task.config.data.model_dump_json()


def _worker_died(ray: Any, error: Exception) -> bool:
    return isinstance(error, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError))


def _drain(events: Any, empty: type, on_event: EventSink) -> None:
    while True:
        try:
            batch = events.get_nowait_batch(max(1, events.qsize()))
        except empty:
            return
        if not batch:
            return
        for trial_id, kind, info in batch:
            on_event(trial_id, kind, info)


class _StopFlag:
    """A Ray actor: set once Ctrl-C is pressed; running trials poll it."""

    def __init__(self) -> None:
        self.value = False

    def set(self) -> None:
        self.value = True

    def is_set(self) -> bool:
        return self.value


def _ray_trial(task: TrialTask, dataset: Any, events: Any, stop: Any, threads: int) -> TrialResult:
    """On a Ray worker: run the trial on the shared data set; report progress; draw its plots."""
    import os

    import ray
    from threadpoolctl import threadpool_limits

    from nnrun.config.build import Experiment
    from nnrun.runs.record import render_plots
    from nnrun.sweep.executors import _EventObserver
    from nnrun.trial import run_trial

    def send(trial_id: str, kind: str, info: dict[str, Any]) -> None:
        events.actor.put_nowait.remote((trial_id, kind, info))  # fire and forget: never waits on the driver

    last = [0.0, False]

    def should_stop() -> bool:  # polled every batch; asks the flag at most once a second
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0], last[1] = now, ray.get(stop.is_set.remote())
        return last[1]

    send(task.id, "start", {"pid": os.getpid()})
    with threadpool_limits(limits=threads):
        result = run_trial(
            Experiment(task.config, dataset), observer=_EventObserver(task.id, send), should_stop=should_stop
        )
    result.plots = render_plots(task.config.name, result.history)
    return result


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)
