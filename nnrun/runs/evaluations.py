"""What the run store writes after training: a classifier's class-by-class files, named evaluations in
``<run>/evaluations/<name>/`` (never over the training results, nor over an earlier evaluation unless asked),
and prediction files (CSV, ``.npy``, ``.npz``). Every file is written atomically. Figures come drawn, as
bytes (:func:`nnrun.report.confusion.confusion_plots`): the store never draws."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.errors import InvalidArgumentError
from nnrun.evaluation import ClassReport
from nnrun.inference import Evaluation, Predictions
from nnrun.runs.store import RunFolder, atomic_write, now_iso, slug

EVALUATIONS = "evaluations"
PREDICTION_FORMATS = (".csv", ".npy", ".npz")


def _csv_text(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _number(value: Any) -> Any:
    return f"{value:.6g}" if isinstance(value, (float, np.floating)) else value


def class_files(report: ClassReport) -> dict[str, bytes]:
    """``confusion_matrix.csv`` (true classes down, predicted across) and ``per_class.csv`` (precision, recall,
    F1, support)."""
    labels = report.labels
    matrix = _csv_text(
        ["true \\ predicted", *labels], [[labels[i], *map(int, row)] for i, row in enumerate(report.matrix)]
    )
    rows = report.rows()
    per_class = _csv_text(list(rows[0]) if rows else [], [[_number(v) for v in r.values()] for r in rows])
    return {
        "confusion_matrix.csv": matrix.encode("utf-8"),
        "per_class.csv": per_class.encode("utf-8"),
    }


def read_class_report(folder: str | Path) -> ClassReport | None:
    """The confusion matrix a run folder's ``confusion_matrix.csv`` holds (as :func:`class_files` writes it); None
    when the folder has none or it cannot be read as one."""
    path = Path(folder) / "confusion_matrix.csv"
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        labels = rows[0][1:]
        matrix = np.array([[int(v) for v in row[1:]] for row in rows[1:]], dtype=np.int64)
    except (OSError, UnicodeDecodeError, IndexError, ValueError):
        return None
    if not labels or matrix.shape != (len(labels), len(labels)):
        return None
    return ClassReport(matrix, labels)


def write_class_files(folder: RunFolder, report: ClassReport) -> None:
    """The class-by-class tables of a classifier's results, in ``folder``."""
    for name, data in class_files(report).items():
        folder.write_bytes(name, data)


def evaluation_folder(run: Path, name: str, overwrite: bool = False, explicit: bool = False) -> RunFolder:
    """``<run>/evaluations/<name>/``, created now. An existing one is reused only with ``overwrite``; otherwise a
    name given by the user (``explicit``) is an error, and a default name gets ``-2``, ``-3``, ..."""
    clean = slug(name)
    if explicit and (clean != name or not re.fullmatch(r"[\w.=,-]+", name)):
        raise InvalidArgumentError(
            f"--name {name!r}: an evaluation name is a folder name: letters, digits and - _ . = , only "
            f"(for example {clean!r})."
        )
    root = run / EVALUATIONS
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        path = root / (clean if n == 1 else f"{clean}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            if overwrite:
                return RunFolder(path)
            if explicit:
                raise InvalidArgumentError(
                    f"--name {name}: {path} already holds an evaluation. Choose another --name, or give "
                    "--overwrite to replace it."
                ) from None
            continue
        return RunFolder(path)
    raise InvalidArgumentError(f"too many evaluations named {clean!r} in {root}")


def write_evaluation(
    run: Path,
    evaluation: Evaluation,
    name: str,
    *,
    run_name: str,
    figures: dict[str, bytes] | None = None,
    overwrite: bool = False,
    explicit: bool = False,
) -> Path:
    """The evaluation's folder: ``metrics.json``, for a classifier the class-by-class tables, and ``figures``
    (PNG bytes by file name, e.g. ``confusion_matrix.png``); ``metrics.json`` last."""
    folder = evaluation_folder(run, name, overwrite, explicit)
    record = {"name": folder.name, "run": run_name, "evaluated": now_iso(), **evaluation.record()}
    if evaluation.classes is not None:
        write_class_files(folder, evaluation.classes)
    for file, data in (figures or {}).items():
        folder.write_bytes(file, data)
    folder.write_json("metrics.json", record)
    return folder.path


def write_predictions(path: Path, predictions: Predictions) -> Path:
    """``.csv``: the table of :meth:`Predictions.columns`; ``.npy``: the outputs; ``.npz``: ``outputs``, and
    ``classes`` and ``labels`` for a classifier (plus ``true`` when the data had labels)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = predictions_csv(predictions).encode("utf-8")
        atomic_write(path, lambda f: f.write(data))
    elif suffix == ".npy":
        atomic_write(path, lambda f: np.save(f, predictions.outputs, allow_pickle=False))
    elif suffix == ".npz":
        arrays: dict[str, np.ndarray] = {"outputs": predictions.outputs}
        if predictions.classes is not None:
            arrays["classes"] = predictions.classes
            arrays["labels"] = np.array(predictions.labels, dtype=str)
        if predictions.true is not None:
            arrays["true"] = np.asarray(predictions.true)
        atomic_write(path, lambda f: np.savez(f, **arrays))
    else:
        raise InvalidArgumentError(
            f"--out {path}: unknown file type {suffix or '(no suffix)'!r}; expected one of "
            f"{', '.join(PREDICTION_FORMATS)} (or - for CSV on stdout)."
        )
    return path


def predictions_csv(predictions: Predictions) -> str:
    """The predictions table as CSV text (floats with 7 significant digits: float32's precision)."""
    columns = predictions.columns()
    header = list(columns)
    n = len(predictions.outputs)
    rows = [[_cell(columns[c][i]) for c in header] for i in range(n)]
    return _csv_text(header, rows)


def _cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.7g}"
    if isinstance(value, np.integer):
        return int(value)
    return value


__all__ = [
    "class_files",
    "evaluation_folder",
    "predictions_csv",
    "read_class_report",
    "write_class_files",
    "write_evaluation",
    "write_predictions",
]
