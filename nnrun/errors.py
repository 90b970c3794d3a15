"""The errors nnrun raises on purpose.

Every error is an :class:`NnrunError`. The argument errors also subclass ``ValueError`` so that code
written for Keras (which raises ``ValueError``) keeps working. Each class passes all of its arguments
to ``super().__init__`` so that it pickles and survives process pools and Ray workers.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NnrunError(Exception):
    """Base class of every error nnrun raises on purpose."""


class InvalidArgumentError(NnrunError, ValueError):
    """An argument to an engine function or class has a value it cannot use."""


class DataError(NnrunError, ValueError):
    """Input arrays or data files are unusable: wrong shape, NaN, unreadable, missing."""


class StoreError(NnrunError):
    """A run or sweep folder could not be written (disk full, permissions, a file in the way).

    ``path`` is the file, ``folder`` the run or sweep folder it belongs to.
    """

    def __init__(self, message: str, path: str | None = None, folder: str | None = None) -> None:
        super().__init__(message, path, folder)
        self.message, self.path, self.folder = message, path, folder

    def __str__(self) -> str:
        return self.message


class Problem:
    """One problem in a config: the dotted key path, its YAML line (if known) and the message."""

    __slots__ = ("line", "message", "path")

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path, self.message, self.line = path, message, line

    def __str__(self) -> str:
        if not self.path:
            return f"line {self.line}: {self.message}" if self.line is not None else self.message
        where = self.path if self.line is None else f"{self.path} (line {self.line})"
        return f"{where}: {self.message}"

    def __repr__(self) -> str:
        return f"Problem({self.path!r}, {self.message!r}, line={self.line!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and (self.path, self.message, self.line) == (
            other.path,
            other.message,
            other.line,
        )

    def __reduce__(self):
        return (Problem, (self.path, self.message, self.line))


class ConfigError(NnrunError, ValueError):
    """A config (file, ``--set`` override or swept value) is invalid; every problem is listed at once."""

    def __init__(self, problems: list[Problem] | str, source: str | None = None) -> None:
        super().__init__(problems, source)
        self.problems = [Problem("", problems)] if isinstance(problems, str) else list(problems)
        self.source = source

    def __str__(self) -> str:
        head = f"{self.source}: " if self.source else ""
        if len(self.problems) == 1:
            return head + str(self.problems[0])
        count = f"{len(self.problems)} problems"
        return f"{head}{count}:\n" + "\n".join(f"  {p}" for p in self.problems)


class NotBuiltError(NnrunError, RuntimeError):
    """An operation needs a model or layer that has not been built (or compiled) yet."""


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice nearest to ``value`` (case-insensitive), if it is near enough to be a typo."""
    best, best_key = None, None
    for choice in choices:
        d = edit_distance(value.lower(), choice.lower())
        key = (d, -difflib.SequenceMatcher(None, value.lower(), choice.lower()).ratio())
        if best_key is None or key < best_key:
            best, best_key = choice, key
    if best is None or best_key is None:
        return None
    limit = max(2, len(value) // 3)
    if best_key[0] <= limit:
        return best
    # a long prefix or an embedded name ("binary" for "binary_crossentropy") still deserves a hint
    close = difflib.get_close_matches(value.lower(), [c.lower() for c in choices], n=1, cutoff=0.75)
    return next((c for c in choices if close and c.lower() == close[0]), None)


def did_you_mean(value: object, choices: Iterable[str], complete: bool = False) -> str:
    """Return `` Did you mean 'x'?`` for the closest choice, or an empty string.

    With ``complete``, a value that is the start of exactly one choice (``val_acc`` of ``val_accuracy``)
    is completed when no choice is close enough to be a typo.
    """
    if not isinstance(value, str):
        return ""
    choices = list(choices)
    match = closest(value, choices)
    if match is None and complete and value:
        starting = [c for c in dict.fromkeys(choices) if c.startswith(value)]
        match = starting[0] if len(starting) == 1 else None
    return f" Did you mean '{match}'?" if match else ""
