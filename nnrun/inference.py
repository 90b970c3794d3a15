"""A finished run, loaded back: its model with the trained weights, its config and its preprocessing, ready to
predict on new data and to be evaluated on other data.

``load_run(path)`` reads ``config.yaml``, ``weights.npz`` and ``preprocessing.json``. A run written before
``preprocessing.json`` existed gets its preprocessing recomputed from its config's training data, exactly as
training computed it (the same functions on the same data), and says so in :attr:`LoadedRun.notes`.
Nothing here writes files: the run store writes evaluations, the CLI prints.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.config import load_config
from nnrun.config.build import build_compile_arguments, build_model
from nnrun.config.schema import ExperimentConfig
from nnrun.data.cache import CACHE
from nnrun.data.files import read_data
from nnrun.data.load import DATASET_NAMES, load_dataset
from nnrun.data.transform import Preprocessing
from nnrun.engine.registry import normalize_name
from nnrun.errors import ConfigError, DataError, did_you_mean
from nnrun.evaluation import ClassReport, class_indices, predicted_classes
from nnrun.experiment import data_arguments, prepare

PREPROCESSING_FILE = "preprocessing.json"
RECOMPUTED_NOTE = (
    "this run has no preprocessing.json (it was written before nnrun recorded it): its preprocessing was "
    "recomputed from the config's training data, exactly as training computed it"
)


@dataclass
class DataSource:
    """Inputs to predict on, with their labels when the source has them (raw: not yet preprocessed)."""

    x: np.ndarray
    y: np.ndarray | None
    description: str  # e.g. "the run's test set: 1000 rows of bundled MNIST sample"
    name: str  # a short name for an evaluation folder, e.g. "test", "mnist_sample-test", "new_data"


@dataclass
class Evaluation:
    """The metrics of a run on some data (and, for a classifier, its results class by class)."""

    data: str
    samples: int
    metrics: dict[str, float]
    classes: ClassReport | None = None
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """``metrics.json`` of an evaluation folder."""
        out: dict[str, Any] = {"data": self.data, "samples": self.samples, "metrics": dict(self.metrics)}
        if self.classes is not None:
            out["classes"] = self.classes.averages()
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass
class Predictions:
    """A model's outputs for n samples; for a classifier also the predicted class of each."""

    outputs: np.ndarray  # (n, k): probabilities (classifier) or values (regression)
    task: str
    labels: list[str] = field(default_factory=list)  # a name per class (classifier)
    classes: np.ndarray | None = None  # (n,) predicted class indices (classifier)
    true: np.ndarray | None = None  # (n,) or (n, k): the data's own labels, when it has them

    def columns(self) -> dict[str, np.ndarray]:
        """The table as columns: ``class`` (its name), ``true`` (if known), then a probability per class
        (``p_<name>``); for regression ``prediction`` (or ``prediction_<i>`` per output)."""
        cols: dict[str, np.ndarray] = {}
        if self.task == "classification" and self.classes is not None:
            names = np.array(self.labels, dtype=object)
            cols["class"] = names[self.classes]
            if self.true is not None:
                cols["true"] = names[class_indices(self.true)]
            for i, p in enumerate(self.probabilities().T):
                cols[f"p_{self.labels[i]}"] = p
            return cols
        out = self.outputs.reshape(len(self.outputs), -1)
        if out.shape[1] == 1:
            cols["prediction"] = out[:, 0]
            if self.true is not None:
                cols["true"] = np.asarray(self.true).reshape(len(out), -1)[:, 0]
        else:
            cols.update({f"prediction_{i}": out[:, i] for i in range(out.shape[1])})
            if self.true is not None:
                cols.update({f"true_{i}": t for i, t in enumerate(np.asarray(self.true).reshape(len(out), -1).T)})
        return cols

    def probabilities(self) -> np.ndarray:
        """(n, k): one probability per class (a single sigmoid output p becomes 1 − p, p)."""
        out = self.outputs.reshape(len(self.outputs), -1)
        if out.shape[1] == 1 and len(self.labels) == 2:
            return np.concatenate([1 - out, out], axis=1)
        return out


class LoadedRun:
    """A run folder's model (trained weights), resolved config and preprocessing."""

    def __init__(
        self, path: Path, config: ExperimentConfig, model: Any, preprocessing: Preprocessing, notes: list[str]
    ) -> None:
        self.path, self.config, self.model, self.preprocessing, self.notes = path, config, model, preprocessing, notes

    def __repr__(self) -> str:
        p = self.preprocessing
        what = f"{p.n_classes} classes" if p.task == "classification" else "regression"
        return f"<LoadedRun {self.path.name}: {self.config.name}, {what}, input {p.input_shape}>"

    @property
    def is_classifier(self) -> bool:
        return self.preprocessing.task == "classification"

    @property
    def batch_size(self) -> int:
        """The batch size training evaluated its test set with (so that metrics match to the last digit)."""
        return max(self.config.train.batch_size, 256)

    def prepare(self, x: Any, what: str = "x") -> np.ndarray:
        """``x`` with the run's own preprocessing applied (the arrays the model was trained on look like this)."""
        return self.preprocessing.apply(x, what)

    def predict(self, x: Any, what: str = "x") -> np.ndarray:
        """The model's outputs for raw inputs ``x``: class probabilities for a classifier, values for regression."""
        return self.model.predict(self.prepare(x, what), batch_size=self.batch_size, verbose=0)

    def predict_classes(self, x: Any, what: str = "x") -> np.ndarray:
        """The predicted class index of each sample (a classifier only)."""
        self._require_classifier("predict_classes")
        return predicted_classes(self.predict(x, what), self.preprocessing.n_classes or 0)

    def predictions(self, x: Any, y: Any = None, what: str = "x") -> Predictions:
        """:meth:`predict` as a table: outputs, predicted classes and class names (and the true labels)."""
        outputs = self.predict(x, what)
        p = self.preprocessing
        if not self.is_classifier:
            return Predictions(outputs, p.task, true=None if y is None else np.asarray(y))
        classes = predicted_classes(outputs, p.n_classes or 0)
        return Predictions(outputs, p.task, p.class_labels(), classes, None if y is None else np.asarray(y))

    def evaluate(self, x: Any, y: Any, what: str = "data", description: str | None = None) -> Evaluation:
        """Loss and metrics on raw ``x`` and labels ``y`` (as training evaluated its test set), and for a
        classifier the confusion matrix and per-class precision, recall and F1."""
        p = self.preprocessing
        y = self._checked_labels(np.asarray(y), len(np.asarray(x)), what)
        xp = self.prepare(x, what)
        metrics = self.model.evaluate(xp, p.targets(y), batch_size=self.batch_size, verbose=0, return_dict=True)
        metrics = {k: float(v) for k, v in metrics.items()}
        classes = None
        if self.is_classifier:
            outputs = self.model.predict(xp, batch_size=self.batch_size, verbose=0)
            classes = ClassReport.of(y, predicted_classes(outputs, p.n_classes or 0), p.class_labels())
        return Evaluation(description or what, len(xp), metrics, classes, [*self.notes, *p.notes(x)])

    def _checked_labels(self, y: np.ndarray, n: int, what: str) -> np.ndarray:
        p = self.preprocessing
        if len(y) != n:
            raise DataError(f"{what}: {n} samples but {len(y)} labels; they must match.")
        if not self.is_classifier:
            y = y.astype(np.float32)
            if tuple(y.shape[1:]) != p.target_shape and y.reshape(n, -1).shape[1] != math.prod(p.target_shape or (1,)):
                raise DataError(
                    f"{what}: targets of shape {y.shape[1:]} per sample; the run predicts {p.target_shape}."
                )
            return y.reshape(n, *p.target_shape)
        if y.ndim == 2 and y.shape[1] > 1:
            y = y.argmax(axis=1)
        y = y.reshape(n)
        if not (np.issubdtype(y.dtype, np.integer) or np.all(y == np.round(y))):
            raise DataError(f"{what}: the labels are not class indices (found {y[y != np.round(y)][0]!r}).")
        y = y.astype(np.int64)
        k = p.n_classes or 0
        bad = (y < 0) | (y >= k)
        if bad.any():
            raise DataError(
                f"{what}: label {int(y[bad][0])} is not one of this run's {k} classes (0 .. {k - 1}). "
                "Use data labelled with the classes the run was trained on."
            )
        return y

    def _require_classifier(self, method: str) -> None:
        if not self.is_classifier:
            raise DataError(f"{method} needs a classifier; run {self.path.name} is a regression. Use predict.")

    # -- data sources ------------------------------------------------------------------------------------

    def data_source(self, data: str | None = None, what: str = "DATA") -> DataSource:
        """What ``DATA`` names: None → the run's own test set; a file or IDX folder → its test part when it has
        one, else all its rows, in file order (a CSV without the label column gives inputs only); a dataset
        name → its test split (the run's own data set is loaded with the run's data settings)."""
        if data is None:
            return self._own_test_set()
        path = Path(data).expanduser()
        if path.exists():
            return self._file_source(path, what)
        return self._named_source(data, what)

    def _own_test_set(self) -> DataSource:
        raw = CACHE.load(data_arguments(self.config.data))
        if raw.x_test is None:
            raise DataError(
                f"run {self.path.name}: its data ({raw.source}) has no test set (data.test_split is 0). "
                "Give the data to evaluate on with --data."
            )
        return DataSource(raw.x_test, raw.y_test, f"the run's test set: {len(raw.x_test)} rows of {raw.source}", "test")

    def _named_source(self, data: str, what: str) -> DataSource:
        name = next((n for n in DATASET_NAMES if normalize_name(n) == normalize_name(data)), None)
        if name is None:
            raise DataError(
                f"{what} {data!r} is neither a file nor a known dataset.{did_you_mean(data, DATASET_NAMES)} "
                f"Known datasets: {', '.join(DATASET_NAMES)}."
            )
        own = self.config.data.dataset == name and self.config.data.path is None
        raw = CACHE.load(data_arguments(self.config.data)) if own else load_dataset(name)
        if raw.x_test is None:
            if own:
                raise DataError(
                    f"{what} {name!r}: this run's data settings hold out no test set (data.test_split is 0), and "
                    "its other rows were used for training. Give a file, or another dataset."
                )
            return DataSource(raw.x_train, raw.y_train, f"{len(raw.x_train)} rows of {raw.source}", name)
        return DataSource(
            raw.x_test, raw.y_test, f"the test split of {raw.source}: {len(raw.x_test)} rows", f"{name}-test"
        )

    def _file_source(self, path: Path, what: str) -> DataSource:
        label = self.config.data.label_column
        inputs_only = _inputs_only(path)
        if inputs_only is not None:
            return DataSource(inputs_only, None, f"{path.name}: {len(inputs_only)} samples (inputs only)", path.stem)
        if path.suffix.lower() == ".csv" and not _csv_has_column(path, label):
            x = _csv_inputs(path)
            return DataSource(x, None, f"{path.name}: {len(x)} rows, no '{label}' column (inputs only)", path.stem)
        raw = read_data(str(path), label)
        if raw.x_test is not None:
            x, y, part = raw.x_test, raw.y_test, "its test part"
        else:
            x, y, part = raw.x_train, raw.y_train, "all rows"
        return DataSource(x, y, f"{raw.what}: {part}, {len(x)} rows", path.stem if path.is_file() else path.name)


def _inputs_only(path: Path) -> np.ndarray | None:
    """The inputs of a ``.npy`` file, or of a ``.npz`` file holding ``x`` and no labels; None for other files."""
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".npz") or not path.is_file():
        return None
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as archive:
            if "x" in archive.files and "y" not in archive.files:
                return archive["x"]
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read it as a NumPy file ({e}).") from None
    return None


def _csv_has_column(path: Path, column: str) -> bool:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read it as a CSV file ({e}).") from None
    return column in [h.strip() for h in header]


def _csv_inputs(path: Path) -> np.ndarray:
    """Every column of a CSV file with a header row, as float64 inputs (no label column)."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; expected a header row, then one row per sample.")
        rows = []
        for line, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) != len(header):
                raise DataError(f"{path}, line {line}: {len(row)} values for {len(header)} columns.")
            try:
                rows.append([float(v) for v in row])
            except ValueError:
                bad = next(v for v in row if not _is_float(v))
                raise DataError(f"{path}, line {line}: {bad!r} is not a number.") from None
    if not rows:
        raise DataError(f"{path}: no rows after the header.")
    x = np.asarray(rows, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: holds NaN or infinite values; fix or remove those rows.")
    return x


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_run(path: str | Path) -> LoadedRun:
    """The run folder at ``path`` (of ``nnrun train`` or a sweep's trial), loaded for predicting and evaluating.

    Raises :class:`~nnrun.errors.DataError` naming the folder and the file when something needed is missing.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"RUN {path}: no such run folder.")
    from nnrun.runs.format import check_readable  # here: nnrun.runs imports this module

    check_readable(folder)  # a newer nnrun's folder is refused (exit 2), never misread
    config_file = folder / "config.yaml"
    if not config_file.is_file():
        raise DataError(f"RUN {path}: not a run folder (it has no config.yaml).")
    weights = folder / "weights.npz"
    if not weights.is_file():
        status = _status(folder)
        raise DataError(
            f"RUN {path}: the run has no weights.npz (status: {status}), so there is no trained model to use."
        )
    try:
        config = load_config(config_file)
    except ConfigError as e:
        raise DataError(f"RUN {path}: its config.yaml cannot be read by this nnrun: {e}") from None
    notes: list[str] = []
    record = folder / PREPROCESSING_FILE
    if record.is_file():
        try:
            preprocessing = Preprocessing.from_dict(json.loads(record.read_text(encoding="utf-8")), str(record))
        except ValueError as e:
            raise DataError(f"{record}: not valid JSON ({e}).") from None
    else:
        preprocessing = _recomputed(config, path)
        notes.append(RECOMPUTED_NOTE)
    model = build_model(config, preprocessing.model_input_shape)
    model.compile(**build_compile_arguments(config))
    try:
        model.load_weights(str(weights))
    except DataError as e:
        raise DataError(f"RUN {path}: its weights do not fit the model its config describes: {e}") from None
    return LoadedRun(folder, config, model, preprocessing, notes)


def _recomputed(config: ExperimentConfig, path: str | Path) -> Preprocessing:
    try:
        experiment = prepare(config)
    except (DataError, ConfigError) as e:
        raise DataError(
            f"RUN {path}: it has no {PREPROCESSING_FILE} (written before nnrun recorded it), and its "
            f"preprocessing cannot be recomputed because its training data cannot be loaded: {e}"
        ) from None
    assert experiment.preprocessing is not None  # prepare always fits it
    return experiment.preprocessing


def _status(folder: Path) -> str:
    try:
        status = json.loads((folder / "status.json").read_text())
    except (OSError, ValueError):
        return "unknown"
    reason = status.get("stop_reason")
    return f"{status.get('status', 'unknown')}" + (f", {reason}" if reason else "")


__all__ = ["DataSource", "Evaluation", "LoadedRun", "Predictions", "load_run"]
