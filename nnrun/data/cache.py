"""Data sets loaded and preprocessed once per process (a sweep prepares many trials from the same data).

An entry is keyed by the loading arguments and, for a file or folder, the size and modification time of
what is read: a file changed on disk is read again, never served stale. Each loaded set keeps its
preprocessed variants by their options. The least recently used data sets are dropped beyond ``size``.
Callers must treat the arrays as read-only: every trial that asks for the same data gets the same arrays.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.data.dataset import Dataset
from nnrun.data.load import load_dataset
from nnrun.data.preprocess import preprocess


def _stamp(path: str | None) -> Hashable:
    """What identifies a file's (or an IDX folder's files') current contents without reading them."""
    if path is None:
        return None
    p = Path(path)
    try:
        if p.is_dir():
            return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in os.scandir(p) if e.is_file()))
        st = p.stat()
    except OSError:
        return None  # loading will say what is wrong with the path
    return (st.st_size, st.st_mtime_ns)


@dataclass
class _Entry:
    raw: Dataset
    prepared: dict[Hashable, Dataset] = field(default_factory=dict)


class DataCache:
    """Loaded data sets by loading arguments; their preprocessed forms by options."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.loads = 0  # how many times data was read or generated (for tests and diagnostics)
        self.preprocessings = 0

    @staticmethod
    def key(arguments: dict[str, Any]) -> Hashable:
        """The cache key of ``load_dataset(**arguments)``: the arguments and the state of the file read."""
        return (tuple(sorted(arguments.items())), _stamp(arguments.get("path")))

    def _entry(self, arguments: dict[str, Any]) -> _Entry:
        key = self.key(arguments)
        entry = self._entries.get(key)
        if entry is None:
            raw = load_dataset(**arguments)
            self.loads += 1
            entry = self._entries[key] = _Entry(raw)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        return entry

    def load(self, arguments: dict[str, Any]) -> Dataset:
        """``load_dataset(**arguments)``, read once while the file is unchanged."""
        return self._entry(arguments).raw

    def prepared(self, arguments: dict[str, Any], options: dict[str, bool]) -> Dataset:
        """``preprocess(load_dataset(**arguments), **options)``, computed once."""
        entry = self._entry(arguments)
        key = tuple(sorted(options.items()))
        dataset = entry.prepared.get(key)
        if dataset is None:
            dataset = entry.prepared[key] = preprocess(entry.raw, **options)
            self.preprocessings += 1
        return dataset

    def clear(self) -> None:
        self._entries.clear()


CACHE = DataCache()
"""The process's data cache."""
