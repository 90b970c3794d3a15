"""The :class:`Dataset` that ``load_dataset`` returns: the arrays a trial trains and tests on, and what they are."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnrun.errors import DataError

TASKS = ("classification", "regression")


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value to compare by
class Dataset:
    """Training (and optional test) arrays with the task they pose.

    Classification labels are int64 class indices of shape (n,) in ``0 .. n_classes - 1`` (``preprocess``
    turns them one-hot); regression targets are float32, (n,) or (n, k). ``x_test`` and ``y_test`` are
    both arrays or both None. ``source`` is one line for logs, e.g.
    ``"bundled MNIST sample (4000 train / 1000 test)"``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    task: str
    n_classes: int | None
    source: str

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DataError(f"{self.name}: task must be one of {TASKS}. Received: task={self.task!r}")
        if (self.task == "classification") != (self.n_classes is not None):
            raise DataError(
                f"{self.name}: n_classes must be set for classification and None for regression. "
                f"Received: task={self.task!r}, n_classes={self.n_classes!r}"
            )
        if (self.x_test is None) != (self.y_test is None):
            raise DataError(f"{self.name}: x_test and y_test must both be arrays or both be None.")
        pairs = [("train", self.x_train, self.y_train)]
        if self.x_test is not None:
            pairs.append(("test", self.x_test, self.y_test))
        for part, x, y in pairs:
            if len(x) != len(y):
                raise DataError(f"{self.name}: x_{part} has {len(x)} rows but y_{part} has {len(y)}; they must match.")

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def n_test(self) -> int:
        return 0 if self.x_test is None else len(self.x_test)
