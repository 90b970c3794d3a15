"""Stop signals for commands that write run folders: Ctrl-C (SIGINT), SIGTERM and SIGHUP.

``timeout``, ``docker stop`` and a closed terminal send SIGTERM or SIGHUP; they are handled like Ctrl-C.
While training, the first signal asks training to stop after the current batch; a second one aborts the
current batch (``KeyboardInterrupt``: the trial keeps its finished epochs). While the results are being
written, signals only take note, so a folder is never left half-written; the command then exits 130.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType

_NAMES = ("SIGINT", "SIGTERM", "SIGHUP") if sys.platform != "win32" else ("SIGINT",)
STOP_SIGNALS = tuple(getattr(signal, name) for name in _NAMES if hasattr(signal, name))


def signal_name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


class StopSignals:
    """A context manager that turns stop signals into requests (see the module docstring).

    ``say`` prints a one-line notice; ``requested()`` is polled by training; ``abort_allowed`` says
    whether a second signal may interrupt what runs (True while training, False while writing).
    """

    def __init__(self, say: Callable[[str], None] = lambda message: None) -> None:
        self.say = say
        self.received: list[int] = []
        self.abort_allowed = True
        self._previous: dict[int, object] = {}

    def requested(self) -> bool:
        return bool(self.received)

    @property
    def reason(self) -> str:
        """How the stop was asked for, e.g. ``SIGTERM`` or ``Ctrl-C``."""
        return signal_name(self.received[0]) if self.received else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.received
        self.received.append(signum)
        if first:
            self.say(f"{signal_name(signum)}: stopping after this batch ({signal_name(signum)} again to abort)...")
        elif self.abort_allowed:
            self.abort_allowed = False  # one abort; what follows (writing the folder) is not interrupted
            raise KeyboardInterrupt
        else:
            self.say("Writing the run folder; it stops as soon as that is done...")

    def __enter__(self) -> StopSignals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
