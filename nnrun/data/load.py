"""``load_dataset``: a named dataset or a data file, split, shuffled and limited, as a :class:`Dataset`.

The steps, in order: read (real dataset, synthetic maker or file), decide the task, hold out a test set
(``test_split``, only for data without a test set of its own), shuffle the training rows, keep the first
``limit`` of them. One generator, ``np.random.default_rng(seed)``, drives every random step in that order.
"""

from __future__ import annotations

import numbers
import os
from types import ModuleType

import numpy as np

from nnrun import datasets
from nnrun.data import splits
from nnrun.data.dataset import Dataset
from nnrun.data.files import numpy_warnings_as_errors, read_data
from nnrun.data.labels import infer_task
from nnrun.data.synthetic import SYNTHETIC, Synthetic
from nnrun.engine.registry import normalize_name
from nnrun.errors import DataError, did_you_mean

# name -> (what it is, for ``source``; the nnrun.datasets module whose load_data() gives its arrays)
REAL: dict[str, tuple[str, ModuleType]] = {
    "mnist_sample": ("bundled MNIST sample", datasets.mnist_sample),
    "mnist": ("MNIST", datasets.mnist),
    "fashion_mnist": ("Fashion-MNIST", datasets.fashion_mnist),
}
DATASET_NAMES: tuple[str, ...] = (*REAL, *SYNTHETIC)
SYNTHETIC_PARAMETERS = ("n_samples", "noise", "n_features", "n_classes")


def load_dataset(
    dataset: str | None = None,
    path: str | None = None,
    *,
    label_column: str = "label",
    n_samples: int | None = None,
    noise: float | None = None,
    n_features: int | None = None,
    n_classes: int | None = None,
    test_split: float = 0.0,
    limit: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Load the dataset named ``dataset`` (one of :data:`DATASET_NAMES`) or read the file or folder at ``path``.

    ``n_samples``, ``noise``, ``n_features`` and ``n_classes`` shape the synthetic sets (None: the set's
    default; a set rejects those it does not take). ``test_split`` holds out that fraction (stratified
    by class for classification) when the data have no test set of their own; data that have one keep it
    and ignore ``test_split``. The training rows come back shuffled (the real datasets keep their loader's
    order, already mixed, unless ``limit`` is set); ``limit`` keeps only the first ``limit`` of them.
    """
    _check_common(dataset, path, test_split, limit, seed)
    given = {"n_samples": n_samples, "noise": noise, "n_features": n_features, "n_classes": n_classes}
    given = {k: v for k, v in given.items() if v is not None}
    rng = np.random.default_rng(seed)
    with numpy_warnings_as_errors(str(path if path is not None else dataset), "loading the data"):
        if path is not None:
            _reject(given, f"{path}: a data file", "they shape the synthetic datasets only")
            return _from_file(os.fspath(path), label_column, test_split, limit, rng, seed)
        name = _canonical(dataset)
        if name in REAL:
            _reject(given, f"dataset '{name}'", "they shape the synthetic datasets only")
            return _from_real(name, test_split, limit, rng, seed)
        return _from_synthetic(name, SYNTHETIC[name], given, test_split, limit, rng, seed)


# -- the three kinds of data -----------------------------------------------------------------------


def _from_real(name: str, test_split: float, limit: int | None, rng: np.random.Generator, seed: int) -> Dataset:
    what, module = REAL[name]
    (x_train, y_train), (x_test, y_test) = module.load_data()  # looked up now, so tests can replace it
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    notes = _own_test_notes(test_split)
    if limit is not None:
        (x_train, y_train), notes = _limited(x_train, y_train, limit, rng, seed, notes)
    source = _source(what, len(x_train), len(x_test), notes)
    return Dataset(name, x_train, y_train, x_test, y_test, "classification", n_classes, source)


def _from_synthetic(
    name: str,
    spec: Synthetic,
    given: dict[str, int | float],
    test_split: float,
    limit: int | None,
    rng: np.random.Generator,
    seed: int,
) -> Dataset:
    params = {**spec.defaults, **_checked_synthetic(name, spec, given)}
    x, y = spec.make(rng=rng, **params)
    n_classes = params.get("n_classes", spec.fixed_classes)
    what = f"synthetic {name}: " + ", ".join(_describe(k, v) for k, v in params.items())
    return _finish(name, x, y, spec.task, n_classes, what, test_split, limit, rng, seed)


def _from_file(
    path: str, label_column: str, test_split: float, limit: int | None, rng: np.random.Generator, seed: int
) -> Dataset:
    if not isinstance(label_column, str) or not label_column:
        raise DataError(f"label_column must be a column name. Received: label_column={label_column!r}")
    raw = read_data(path, label_column)
    y_train, y_test, task, n_classes = infer_task(raw.y_train, raw.y_test, path)
    what = raw.what + (f", {n_classes} classes" if task == "classification" else ", regression targets")
    if raw.x_test is None:
        return _finish(path, raw.x_train, y_train, task, n_classes, what, test_split, limit, rng, seed)
    x_train, y_train = splits.shuffle(raw.x_train, y_train, rng)
    notes = [*_own_test_notes(test_split), f"shuffled with seed {seed}"]
    (x_train, y_train), notes = _limited(x_train, y_train, limit, rng, seed, notes, shuffled=True)
    source = _source(what, len(x_train), len(raw.x_test), notes)
    return Dataset(path, x_train, y_train, raw.x_test, y_test, task, n_classes, source)


def _finish(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    task: str,
    n_classes: int | None,
    what: str,
    test_split: float,
    limit: int | None,
    rng: np.random.Generator,
    seed: int,
) -> Dataset:
    """Split off a test set if asked (both parts shuffled), else shuffle; then apply ``limit``."""
    notes = []
    if test_split > 0:
        stratify = task == "classification"
        (x, y), (x_test, y_test) = splits.split(x, y, test_split, rng, stratify=stratify, name=name)
        notes.append(f"{'stratified ' if stratify else ''}test_split {test_split}")
    else:
        x, y = splits.shuffle(x, y, rng)
        x_test = y_test = None
    (x, y), notes = _limited(x, y, limit, rng, seed, notes, shuffled=True)
    source = _source(what, len(x), 0 if x_test is None else len(x_test), [*notes, f"seed {seed}"])
    return Dataset(name, x, y, x_test, y_test, task, n_classes, source)


def _limited(
    x: np.ndarray,
    y: np.ndarray,
    limit: int | None,
    rng: np.random.Generator,
    seed: int,
    notes: list[str],
    shuffled: bool = False,
) -> tuple[tuple[np.ndarray, np.ndarray], list[str]]:
    """The first ``limit`` training rows, after a shuffle with ``rng`` unless the rows are ``shuffled`` already."""
    if limit is None or limit >= len(x):
        return (x, y), notes
    if not shuffled:
        x, y = splits.shuffle(x, y, rng)
        notes = [*notes, f"shuffled with seed {seed}"]
    return splits.head(x, y, limit), [*notes, f"limit {limit} of {len(x)} train rows"]


def _describe(parameter: str, value: int | float) -> str:
    """``"1000 samples"``, ``"noise 0.1"``: a synthetic parameter as words for ``source``."""
    return f"{parameter} {value}" if parameter == "noise" else f"{value} {parameter.removeprefix('n_')}"


def _source(what: str, n_train: int, n_test: int, notes: list[str]) -> str:
    counts = f"{n_train} train / {n_test} test" if n_test else f"{n_train} train, no test set"
    return f"{what} ({'; '.join([counts, *notes])})"


def _own_test_notes(test_split: float) -> list[str]:
    return [f"own test set, test_split {test_split} ignored"] if test_split > 0 else []


# -- argument checks -------------------------------------------------------------------------------


def _check_common(dataset: object, path: object, test_split: object, limit: object, seed: object) -> None:
    if (dataset is None) == (path is None):
        raise DataError(
            "Give exactly one of dataset (a name) and path (a file or folder). "
            f"Received: dataset={dataset!r}, path={path!r}"
        )
    if path is not None and (not isinstance(path, (str, os.PathLike)) or not os.fspath(path)):
        raise DataError(f"path must be a file or folder path. Received: path={path!r}")
    if not _is_number(test_split) or not 0 <= test_split < 1:
        raise DataError(f"test_split must be a number in [0, 1). Received: test_split={test_split!r}")
    if limit is not None and (not _is_int(limit) or limit < 1):
        raise DataError(f"limit must be a positive integer, or None for all rows. Received: limit={limit!r}")
    if not _is_int(seed) or seed < 0:
        raise DataError(f"seed must be a non-negative integer. Received: seed={seed!r}")


def _canonical(dataset: object) -> str:
    """The registered name for ``dataset``, compared after the registries' one normalisation."""
    if isinstance(dataset, str):
        for name in DATASET_NAMES:
            if normalize_name(name) == normalize_name(dataset):
                return name
    raise DataError(
        f"Unknown dataset {dataset!r}.{did_you_mean(dataset, DATASET_NAMES)} "
        f"Known datasets: {', '.join(DATASET_NAMES)}; or give path: to read a data file."
    )


def _reject(given: dict[str, int | float], subject: str, why: str) -> None:
    if given:
        names = ", ".join(given)
        raise DataError(f"{subject} does not take {names}: {why}. Remove {names}.")


def _checked_synthetic(name: str, spec: Synthetic, given: dict[str, int | float]) -> dict[str, int | float]:
    """``given`` if ``name`` takes each of these parameters and each value is usable, else a DataError."""
    extra = [k for k in given if k not in spec.defaults]
    if extra:
        takes = ", ".join(spec.defaults)
        why = f"it takes {takes}" + (f" (it always has {spec.fixed_classes} classes)" if spec.fixed_classes else "")
        _reject({k: given[k] for k in extra}, f"dataset '{name}'", why)
    params = {**spec.defaults, **given}
    n_classes = params.get("n_classes", spec.fixed_classes)
    for key, value in given.items():
        if key == "noise":
            ok, expected = _is_number(value) and value >= 0, "a number >= 0"
        elif key == "n_classes":
            ok, expected = _is_int(value) and value >= 2, "an integer >= 2"
        else:
            ok, expected = _is_int(value) and value >= 1, "a positive integer"
        if not ok:
            raise DataError(f"dataset '{name}': {key} must be {expected}. Received: {key}={value!r}")
    if n_classes is not None and params["n_samples"] < n_classes:
        raise DataError(
            f"dataset '{name}': n_samples={params['n_samples']} is fewer than its {n_classes} classes; "
            "every class needs a sample. Raise n_samples."
        )
    return given


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and bool(np.isfinite(value))
