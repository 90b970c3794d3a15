"""What a sweep reports while it runs, as typed events.

Workers send :class:`TrialStarted`, :class:`BatchProgress` and :class:`EpochEnded` (small, picklable: they
cross process and Ray boundaries); the runner sends :class:`TrialFinished` once a trial's result is
recorded. A display receives them all through one method, ``on_event(event)``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nnrun.trial import TrialResult


@dataclass(frozen=True)
class Placement:
    """Where a trial ran: the host, the worker's process id and, on Ray, the node id."""

    hostname: str
    pid: int
    node_id: str | None = None

    @classmethod
    def here(cls, node_id: str | None = None) -> Placement:
        return cls(socket.gethostname(), os.getpid(), node_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrialStarted:
    """A worker took the trial."""

    trial_id: str
    where: Placement


@dataclass(frozen=True)
class BatchProgress:
    """The current batch of a running trial (sent at most twice a second). Epochs count from 1."""

    trial_id: str
    epoch: int
    epochs: int
    step: int
    steps: int
    logs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochEnded:
    """An epoch finished; ``logs`` holds its metrics. Epochs count from 1."""

    trial_id: str
    epoch: int
    epochs: int
    logs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialFinished:
    """The trial's result is recorded; ``value`` is the ranked metric's final value (None if not finite)."""

    trial_id: str
    result: TrialResult
    value: float | None = None
    params: dict[str, Any] | None = None
    """The trial's swept values (a search's trials are chosen as it goes, so a display learns them here)."""


ProgressEvent = TrialStarted | BatchProgress | EpochEnded
SweepEvent = ProgressEvent | TrialFinished
EventSink = Callable[[ProgressEvent], None]


class SweepObserver(Protocol):
    """What a display needs to follow a sweep: its start, then every event (progress and finished trials)."""

    def on_sweep_begin(self, folder: Path, total: int, pending: int, workers: int) -> None: ...
    def on_event(self, event: SweepEvent) -> None: ...
