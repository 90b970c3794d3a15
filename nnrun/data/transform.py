"""The preprocessing of a run, as parameters: what ``preprocess`` did to the training data, so that new data can
be prepared exactly the same way (``preprocessing.json`` in the run folder, and in every export).

:func:`fit_preprocessing` reads the parameters off the raw training data with the very functions
``preprocess`` uses (the pixel divisor, the training mean and std); :meth:`Preprocessing.apply` repeats the
steps on new inputs, in the same order and with the same dtypes: flatten, scale, standardize.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnrun.data.dataset import Dataset
from nnrun.data.preprocess import _pixel_divisor, standardization
from nnrun.errors import DataError

FORMAT_VERSION = 1
#: more classes than this are not listed one by one (integer labels up to 1e9 used as quantities, say)
MAX_LISTED_CLASSES = 100_000
#: class names of the named data sets whose classes are not their numbers
CLASS_NAMES: dict[str, list[str]] = {
    "fashion_mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class Preprocessing:
    """How a run's inputs were prepared, and what its labels mean.

    ``input_shape`` is one raw sample's shape (before flattening); ``scale_divisor`` is 255 for 8-bit pixels
    and 1 for data that were only cast to float32 (None: no scaling); ``mean`` and ``std`` (float64, the
    shape of a sample after flattening and scaling) are the training statistics of ``standardize``.
    Classification: class index ``i`` stands for the label ``classes[i]`` (named ``class_names[i]``);
    ``one_hot`` says whether the targets were one-hot encoded for the loss.
    """

    input_shape: tuple[int, ...]
    input_dtype: str
    flatten: bool
    scale_divisor: float | None
    mean: np.ndarray | None
    std: np.ndarray | None
    task: str
    n_classes: int | None
    one_hot: bool
    target_shape: tuple[int, ...] = ()
    classes: list[Any] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    source: str = ""

    # -- applying it ------------------------------------------------------------------------------------

    @property
    def model_input_shape(self) -> tuple[int, ...]:
        """One sample's shape as the model receives it."""
        return (math.prod(self.input_shape),) if self.flatten else self.input_shape

    def apply(self, x: Any, what: str = "x") -> np.ndarray:
        """``x`` (n samples of ``input_shape``, or flattened rows when the run flattens) prepared as in training."""
        x = np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
            raise DataError(f"{what}: expected numbers, got an array of dtype {x.dtype}.")
        x = self._shaped(x, what)
        if self.flatten:
            x = x.reshape(len(x), -1)
        if self.scale_divisor is not None:
            x = (x / np.float32(self.scale_divisor)).astype(np.float32)
        if self.mean is not None and self.std is not None:
            x = ((x - self.mean) / self.std).astype(np.float32)
        return x

    def _shaped(self, x: np.ndarray, what: str) -> np.ndarray:
        if x.ndim >= 1 and tuple(x.shape[1:]) == self.input_shape:
            return x
        if x.ndim == len(self.input_shape) and tuple(x.shape) == self.input_shape:
            return x[None]  # one sample
        flat = math.prod(self.input_shape)
        if self.flatten and x.ndim == 2 and x.shape[1] == flat:
            return x.reshape(len(x), *self.input_shape)  # flattened rows of a run that flattens anyway
        per = f"{x.shape[1]} features" if x.ndim == 2 else f"samples of shape {tuple(x.shape[1:])}"
        expected = f"{flat} features" if len(self.input_shape) == 1 else f"samples of shape {self.input_shape}"
        also = f" (or rows of {flat} values)" if self.flatten and len(self.input_shape) > 1 else ""
        raise DataError(f"{what} has {per} (shape {tuple(x.shape)}); this run's model takes {expected}{also}.")

    def notes(self, x: Any) -> list[str]:
        """Warnings about ``x`` that are not errors: values already scaled, for example."""
        x = np.asarray(x)
        out = []
        if self.scale_divisor not in (None, 1) and x.size and np.issubdtype(x.dtype, np.number) and x.max() <= 1:
            out.append(
                f"every input value is at most 1, but this run divides by {self.scale_divisor:g} as in training "
                "(it was trained on raw pixel values): pass raw values, not scaled ones"
            )
        return out

    # -- the labels --------------------------------------------------------------------------------------

    def class_labels(self) -> list[str]:
        """A printable name per class index."""
        if self.class_names:
            return list(self.class_names)
        return [str(c) for c in self.classes]

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Labels as the model was trained on them (one-hot when ``one_hot``)."""
        if self.one_hot and self.n_classes is not None:
            return np.eye(self.n_classes, dtype=np.float32)[y]
        return y

    # -- the record -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """``preprocessing.json``: plain JSON; float64 statistics keep every digit (they round-trip exactly)."""
        return {
            "format_version": FORMAT_VERSION,
            "steps": [s for s, on in self._steps() if on],
            "input_shape": list(self.input_shape),
            "input_dtype": self.input_dtype,
            "flatten": self.flatten,
            "scale": None if self.scale_divisor is None else {"divisor": self.scale_divisor},
            "standardize": None
            if self.mean is None or self.std is None
            else {
                "shape": list(self.mean.shape),
                "mean": [float(v) for v in self.mean.ravel()],
                "std": [float(v) for v in self.std.ravel()],
            },
            "task": self.task,
            "n_classes": self.n_classes,
            "one_hot": self.one_hot,
            "target_shape": list(self.target_shape),
            "classes": list(self.classes),
            "class_names": list(self.class_names),
            "source": self.source,
        }

    def _steps(self) -> list[tuple[str, bool]]:
        return [
            ("flatten", self.flatten),
            ("scale", self.scale_divisor is not None),
            ("standardize", self.mean is not None),
            ("one_hot", self.one_hot),
        ]

    @classmethod
    def from_dict(cls, record: dict[str, Any], where: str = "preprocessing.json") -> Preprocessing:
        """The inverse of :meth:`to_dict`; a record that cannot be read is a DataError naming ``where``."""
        try:
            version = record.get("format_version")
            if version != FORMAT_VERSION:
                raise DataError(
                    f"{where}: format_version {version!r} is not one this nnrun reads ({FORMAT_VERSION}). "
                    "Upgrade nnrun."
                )
            st = record.get("standardize")
            mean = std = None
            if st is not None:
                shape = tuple(int(s) for s in st["shape"])
                mean = np.asarray(st["mean"], dtype=np.float64).reshape(shape)
                std = np.asarray(st["std"], dtype=np.float64).reshape(shape)
            scale = record.get("scale")
            return cls(
                input_shape=tuple(int(s) for s in record["input_shape"]),
                input_dtype=str(record["input_dtype"]),
                flatten=bool(record["flatten"]),
                scale_divisor=None if scale is None else float(scale["divisor"]),
                mean=mean,
                std=std,
                task=str(record["task"]),
                n_classes=None if record.get("n_classes") is None else int(record["n_classes"]),
                one_hot=bool(record["one_hot"]),
                target_shape=tuple(int(s) for s in record.get("target_shape", [])),
                classes=list(record.get("classes", [])),
                class_names=[str(n) for n in record.get("class_names", [])],
                source=str(record.get("source", "")),
            )
        except DataError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise DataError(f"{where}: not a preprocessing record nnrun can read ({type(e).__name__}: {e}).") from None


_FITTED: weakref.WeakKeyDictionary[Dataset, dict[tuple, Preprocessing]] = weakref.WeakKeyDictionary()


def fit_preprocessing(
    raw: Dataset, *, flatten: bool = False, scale: bool = False, standardize: bool = False, one_hot: bool = False
) -> Preprocessing:
    """The parameters ``preprocess(raw, **options)`` uses, computed as it computes them (once per data set)."""
    key = (flatten, scale, standardize, one_hot)
    cached = _FITTED.setdefault(raw, {})
    if key not in cached:
        cached[key] = _fit(raw, flatten, scale, standardize, one_hot)
    return cached[key]


def _fit(raw: Dataset, flatten: bool, scale: bool, standardize: bool, one_hot: bool) -> Preprocessing:
    x_train, x_test = raw.x_train, raw.x_test
    if flatten:
        x_train = x_train.reshape(len(x_train), -1)
        x_test = None if x_test is None else x_test.reshape(len(x_test), -1)
    divisor = None
    if scale:
        divisor = _pixel_divisor(raw, x_train, x_test)
        x_train = (x_train / np.float32(divisor)).astype(np.float32)
    mean = std = None
    if standardize:
        mean, std = standardization(x_train)
    classification = raw.task == "classification"
    n = raw.n_classes if classification else None
    return Preprocessing(
        input_shape=tuple(int(s) for s in raw.x_train.shape[1:]),
        input_dtype=str(raw.x_train.dtype),
        flatten=flatten,
        scale_divisor=None if divisor is None else float(divisor),
        mean=mean,
        std=std,
        task=raw.task,
        n_classes=n,
        one_hot=one_hot,
        target_shape=() if classification else tuple(int(s) for s in raw.y_train.shape[1:]),
        classes=list(range(n)) if n is not None and n <= MAX_LISTED_CLASSES else [],
        class_names=list(CLASS_NAMES.get(raw.name, [])) if n is not None else [],
        source=raw.source,
    )


__all__ = ["Preprocessing", "fit_preprocessing"]
