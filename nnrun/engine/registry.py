"""Name registries: one naming rule for every kind of engine object.

A name is looked up after one normalisation: lower case, with ``_``, ``-`` and spaces removed. So
``"glorot_uniform"``, ``"GlorotUniform"`` and ``"RandomUniform"`` / ``"random_uniform"`` all work, as do
the Keras spellings of every optimizer, loss and activation. Unknown names are errors that list the
valid names and the closest match; nothing is ever silently replaced by a default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nnrun.errors import InvalidArgumentError, did_you_mean

T = TypeVar("T")


def normalize_name(name: str) -> str:
    """The single normalisation every registry applies before a lookup."""
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


class Registry(Generic[T]):
    """Maps names (and aliases) to factories of one kind of object.

    ``kind`` names the thing in error messages ("activation", "optimizer", ...).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._canonical: dict[str, str] = {}  # normalised name -> canonical name
        self._names: list[str] = []  # canonical names, in registration order
        self._spellings: list[str] = []  # every spelling registered, as written

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name`` and its ``aliases``."""

        def decorator(obj: T) -> T:
            self.add(obj, name, *aliases)
            return obj

        return decorator

    def add(self, obj: T, name: str, *aliases: str) -> None:
        """Register ``obj`` under ``name`` (its canonical name) and ``aliases``."""
        for key in (name, *aliases):
            self._spellings.append(key)
            norm = normalize_name(key)
            if self._canonical.get(norm, name) != name:
                raise KeyError(f"{self.kind} name {key!r} is registered twice")
            self._canonical[norm] = name
        self._entries[name] = obj
        self._names.append(name)

    def names(self) -> list[str]:
        """The canonical names, in registration order."""
        return list(self._names)

    def spellings(self) -> list[str]:
        """Every name as registered (canonical names and aliases), for docs and JSON Schema enums."""
        return list(self._spellings)

    def aliases(self) -> dict[str, str]:
        """Every accepted spelling (normalised) mapped to its canonical name."""
        return dict(self._canonical)

    def canonical(self, name: str, argument: str | None = None) -> str:
        """The canonical name for ``name``; an :class:`InvalidArgumentError` if it is unknown."""
        if not isinstance(name, str):
            raise InvalidArgumentError(
                f"{argument or self.kind} must be a string name. Received: {argument or self.kind}={name!r}"
            )
        try:
            return self._canonical[normalize_name(name)]
        except KeyError:
            raise InvalidArgumentError(self.unknown_message(name, argument)) from None

    def unknown_message(self, name: str, argument: str | None = None) -> str:
        """``Unknown activation: 'rleu'. Expected one of: ... Did you mean 'relu'?``"""
        argument = argument or self.kind
        hint = did_you_mean(name, self._names + list(self._canonical))
        if hint:
            # suggest the canonical spelling, not the normalised key
            close = hint.split("'")[1]
            hint = f" Did you mean '{self._canonical.get(normalize_name(close), close)}'?"
        return f"Unknown {self.kind}: {argument}={name!r}. Expected one of: {', '.join(self._names)}.{hint}"

    def get(self, name: str, argument: str | None = None) -> T:
        """The object registered under ``name`` (any accepted spelling)."""
        return self._entries[self.canonical(name, argument)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalize_name(name) in self._canonical

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
