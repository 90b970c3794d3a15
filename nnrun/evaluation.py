"""A classifier's results class by class, from its outputs: predicted classes, the confusion matrix and
per-class precision, recall, F1 and support. Pure NumPy; the run store writes them, ``report`` draws them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnrun.errors import DataError


def predicted_classes(outputs: np.ndarray, n_classes: int) -> np.ndarray:
    """Class indices from a classifier's outputs: the largest of k outputs, or (one output) above 0.5.

    A single output is read as the probability of class 1 (a sigmoid unit, as Keras's binary accuracy reads it).
    """
    outputs = np.asarray(outputs)
    if outputs.ndim == 1 or outputs.shape[-1] == 1:
        return (outputs.reshape(len(outputs)) > 0.5).astype(np.int64)
    if outputs.shape[-1] != n_classes:
        raise DataError(f"the model gives {outputs.shape[-1]} outputs per sample for {n_classes} classes.")
    return outputs.argmax(axis=-1).astype(np.int64)


def class_indices(y: np.ndarray) -> np.ndarray:
    """Labels as class indices of shape (n,): one-hot rows become their argmax."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype(np.int64)
    return y.reshape(len(y)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class ClassReport:
    """``matrix[i, j]``: how many samples of true class i were predicted as class j."""

    matrix: np.ndarray  # (k, k) int64
    labels: list[str]

    @classmethod
    def of(cls, y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> ClassReport:
        k = len(labels)
        y_true, y_pred = class_indices(y_true), class_indices(y_pred)
        bad = (y_true < 0) | (y_true >= k)
        if bad.any():
            raise DataError(
                f"labels must be class indices 0 .. {k - 1}; found {int(y_true[bad][0])}. "
                "Use data with the classes the run was trained on."
            )
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (y_true, y_pred), 1)
        return cls(matrix, list(labels))

    @property
    def support(self) -> np.ndarray:
        return self.matrix.sum(axis=1)

    @property
    def precision(self) -> np.ndarray:
        return _ratio(np.diag(self.matrix), self.matrix.sum(axis=0))

    @property
    def recall(self) -> np.ndarray:
        return _ratio(np.diag(self.matrix), self.support)

    @property
    def f1(self) -> np.ndarray:
        p, r = self.precision, self.recall
        return _ratio(2 * p * r, p + r)

    @property
    def accuracy(self) -> float:
        total = self.matrix.sum()
        return float(np.trace(self.matrix) / total) if total else 0.0

    def rows(self) -> list[dict[str, object]]:
        """One row per class: class, name, precision, recall, f1, support (0 where a ratio has no samples)."""
        p, r, f, s = self.precision, self.recall, self.f1, self.support
        return [
            {"class": i, "name": self.labels[i], "precision": float(p[i]), "recall": float(r[i]),
             "f1": float(f[i]), "support": int(s[i])}
            for i in range(len(self.labels))
        ]  # fmt: skip

    def averages(self) -> dict[str, float]:
        """Accuracy and the macro (plain mean over classes) and weighted (by support) precision, recall and F1."""
        s = self.support
        weights = s / s.sum() if s.sum() else np.zeros_like(s, dtype=float)
        out = {"accuracy": self.accuracy}
        for name, values in (("precision", self.precision), ("recall", self.recall), ("f1", self.f1)):
            out[f"macro_{name}"] = float(values.mean())
            out[f"weighted_{name}"] = float((values * weights).sum())
        return out


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


__all__ = ["ClassReport", "class_indices", "predicted_classes"]
