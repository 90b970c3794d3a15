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


class NotBuiltError(NnrunError, RuntimeError):
    """An operation needs a model or layer that has not been built (or compiled) yet."""


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """Return `` Did you mean 'x'?`` for the closest choice, or an empty string."""
    if not isinstance(value, str):
        return ""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean '{lowered[close[0]]}'?" if close else ""
