"""Pruning: stopping hopeless trials after an epoch, decided by the sweep's study, answered across executors.

The parent process owns the study. A worker sends :class:`~nnrun.sweep.events.EpochEnded` through the
executor's progress channel as usual; the executor hands the event to ``decide(event)`` (the runner's: it
reports the metric to the study and asks its pruner) and carries the answer back to the trial, which stops
after that epoch as ``pruned``. The trial itself does no I/O: it only calls ``prune(epoch)``.

How the answer travels depends on the executor: in this process a dictionary (:class:`Answers`); in a
process pool a queue per worker, asked for with a :class:`PruneQuery`; on Ray an actor (:class:`Answers` as
a Ray actor). Optuna's pruners are made here from ``sweep.pruner``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nnrun.config.sweep import PrunerConfig
from nnrun.errors import ConfigError, Problem
from nnrun.sweep.events import EpochEnded

Decide = Callable[[EpochEnded], bool]
"""The parent's side: an epoch's metrics in, whether to stop the trial there out."""

PRUNERS = {"median": "MedianPruner", "successive_halving": "SuccessiveHalvingPruner", "hyperband": "HyperbandPruner"}


def make_pruner(config: PrunerConfig | None, source: str = "") -> Any:
    """The Optuna pruner ``sweep.pruner`` names, with its parameters; Optuna's NopPruner without one.

    A parameter Optuna refuses is a :class:`ConfigError` at ``sweep.pruner``."""
    from nnrun.sweep.search import import_optuna

    optuna = import_optuna("sweep.pruner")
    if config is None:
        return optuna.pruners.NopPruner()
    cls = getattr(optuna.pruners, PRUNERS[config.name])
    try:
        return cls(**config.options)
    except (TypeError, ValueError) as e:
        problem = Problem("sweep.pruner", f"the {config.name} pruner refuses its parameters: {e}")
        raise ConfigError([problem], source) from None


@dataclass(frozen=True)
class PruneQuery:
    """A pool worker asks for the answer to its trial's ``epoch`` (after its EpochEnded), on its answer queue
    ``slot``. Executors handle it; displays never see it."""

    trial_id: str
    epoch: int
    slot: int


class Answers:
    """Answers by (trial id, epoch): set by the parent, taken once by the trial. In this process as is; on Ray as
    an actor (its methods are the actor's)."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, int], bool] = {}

    def put(self, trial_id: str, epoch: int, prune: bool) -> None:
        self.answers[(trial_id, epoch)] = prune

    def take(self, trial_id: str, epoch: int) -> bool | None:
        """The answer, once (None while there is none yet)."""
        return self.answers.pop((trial_id, epoch), None)


def wait_for(take: Callable[[], bool | None], timeout: float = 3600.0, poll: float = 0.005) -> bool:
    """Poll ``take()`` until it answers; no answer within ``timeout`` seconds means go on (never prune)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = take()
        if answer is not None:
            return answer
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)


__all__ = ["PRUNERS", "Answers", "Decide", "PruneQuery", "make_pruner", "wait_for"]
