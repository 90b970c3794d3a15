"""Reading a dataset from disk: an ``.npz`` file, a ``.csv`` file, or a folder of MNIST-style IDX files.

Each reader returns a :class:`RawData` of numeric arrays with matching lengths, or raises ``DataError``
naming the file, what is wrong, what was expected and what to do. Deciding the task from the labels,
splitting and shuffling happen elsewhere.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnrun.datasets.idx import read_idx
from nnrun.errors import DataError, did_you_mean

FORMATS = ".npz, .csv, or a folder of IDX files"
NPZ_LAYOUTS = "'x' and 'y', or 'x_train' and 'y_train' (optionally with 'x_test' and 'y_test')"
NPZ_KEYS = ("x", "y", "x_train", "y_train", "x_test", "y_test")
IDX_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
IDX_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class RawData:
    """Arrays as read from disk (x keeps its stored dtype), and a few words on what was read."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    what: str  # e.g. "CSV file data.csv, 4 features, label column 'label'"


def read_data(path: str, label_column: str = "label") -> RawData:
    """Read the file or folder at ``path``, choosing the reader by its suffix (a folder holds IDX files)."""
    p = Path(path).expanduser()
    if p.is_dir():
        return read_idx_folder(p, path)
    if not p.exists():
        raise DataError(f"{path}: no such file or folder. Check the path (relative paths start at {Path.cwd()}).")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return read_npz(p, path)
    if suffix == ".csv":
        return read_csv(p, path, label_column)
    raise DataError(f"{path}: unsupported file type {suffix or '(no suffix)'!r}; expected {FORMATS}. Convert the data.")


# -- .npz ------------------------------------------------------------------------------------------


def read_npz(p: Path, shown: str) -> RawData:
    """Arrays ``x``/``y``, or ``x_train``/``y_train`` with optional ``x_test``/``y_test``; no pickles."""
    try:
        f = np.load(p, allow_pickle=False)
    except (OSError, EOFError, ValueError) as e:
        raise DataError(
            f"{shown}: cannot be read as an .npz file ({e}). Save it with np.savez(path, x=..., y=...)."
        ) from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise DataError(
            f"{shown}: holds a single .npy array, not an .npz archive of {NPZ_LAYOUTS}. "
            "Save it with np.savez(path, x=..., y=...)."
        )
    with f:
        keys = list(f.files)
        _check_npz_keys(keys, shown)
        arrays = {key: _npz_array(f, key, shown) for key in keys}
    what = f"NPZ file {shown}"
    if "x" in arrays:
        return _checked(arrays["x"], arrays["y"], None, None, shown, what)
    return _checked(arrays["x_train"], arrays["y_train"], arrays.get("x_test"), arrays.get("y_test"), shown, what)


def _check_npz_keys(keys: list[str], shown: str) -> None:
    found = set(keys)
    layouts = [{"x", "y"}, {"x_train", "y_train"}, {"x_train", "y_train", "x_test", "y_test"}]
    if found in layouts:
        return
    unknown = sorted(found - set(NPZ_KEYS))
    hint = "".join(f" '{k}' is not a known array name.{did_you_mean(k, NPZ_KEYS)}" for k in unknown)
    if not unknown and found >= {"x_train", "y_train"} and not found >= {"x_test", "y_test"}:
        hint = " A test set needs both 'x_test' and 'y_test'."
    raise DataError(
        f"{shown}: holds arrays {sorted(found)}; expected {NPZ_LAYOUTS}.{hint} Save the arrays under those names."
    )


def _npz_array(f: np.lib.npyio.NpzFile, key: str, shown: str) -> np.ndarray:
    try:
        return f[key]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as e:
        raise DataError(
            f"{shown}: array '{key}' cannot be read ({e}). Save it again, with a numeric dtype "
            "(object arrays need pickle, which nnrun does not load)."
        ) from None


# -- .csv ------------------------------------------------------------------------------------------


def read_csv(p: Path, shown: str, label_column: str) -> RawData:
    """A header row, then one row per sample: the column ``label_column`` is y, every other column is x."""
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{shown}: is not UTF-8 text ({e}). Save the CSV as UTF-8.") from None
    except OSError as e:
        raise DataError(f"{shown}: cannot be read ({e}). Check that it is a readable file.") from None
    reader = csv.reader(io.StringIO(text))
    rows, lines = [], []
    for row in reader:
        if row:  # blank lines carry nothing
            rows.append(row)
            lines.append(reader.line_num)
    if not rows:
        raise DataError(f"{shown}: the file is empty; expected a header row naming the columns, then data rows.")
    header = [name.strip() for name in rows[0]]
    body, lines = rows[1:], lines[1:]
    label = _label_index(header, label_column, shown)
    if not body:
        raise DataError(f"{shown}: has a header row but no data rows. Add the data, one sample per row.")
    for row, line in zip(body, lines):
        if len(row) != len(header):
            raise DataError(
                f"{shown}, line {line}: {len(row)} fields, but the header has {len(header)} columns. "
                "Every row needs one value per column."
            )
    values = _numbers(body, lines, header, shown)
    features = [j for j in range(len(header)) if j != label]
    if not features:
        raise DataError(f"{shown}: the label column '{label_column}' is the only column; add feature columns.")
    x = values[:, features].astype(np.float32)
    y = values[:, label]
    what = f"CSV file {shown}, {len(features)} features, label column '{label_column}'"
    return _checked(x, y, None, None, shown, what)


def _label_index(header: list[str], label_column: str, shown: str) -> int:
    count = header.count(label_column)
    if count == 1:
        return header.index(label_column)
    if count > 1:
        raise DataError(
            f"{shown}: the header names the label column '{label_column}' {count} times; rename the copies."
        )
    hint = did_you_mean(label_column, header)
    if len(header) == 1 and any(sep in header[0] for sep in ";\t|"):
        hint += " The header looks separated by something other than commas; nnrun reads comma-separated files."
    raise DataError(
        f"{shown}: no label column '{label_column}'; the columns are {header}.{hint} "
        "Set label_column to the column holding the labels."
    )


def _numbers(body: list[list[str]], lines: list[int], header: list[str], shown: str) -> np.ndarray:
    """The cells as float64, or an error naming the line and column of the first cell that is not a finite number."""
    try:
        values = np.array(body, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    for row, line in zip(body, lines):
        for name, cell in zip(header, row):
            try:
                number = float(cell)
            except ValueError:
                number = None
            if number is None or not np.isfinite(number):
                what = "not a number" if number is None else "not a finite number"
                raise DataError(
                    f"{shown}, line {line}, column '{name}': {cell!r} is {what}. Every cell must be a finite "
                    "number (class labels as integers 0, 1, ...); fix or remove the row."
                )
    raise AssertionError("unreachable: a cell failed to convert but none was found")  # pragma: no cover


# -- IDX folder ------------------------------------------------------------------------------------


def read_idx_folder(folder: Path, shown: str) -> RawData:
    """``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (each optionally ``.gz``), and optionally
    the ``t10k-`` pair as the test set: the file names of MNIST and Fashion-MNIST."""
    train = [_idx_file(folder, stem, shown) for stem in IDX_TRAIN]
    test = [_idx_file(folder, stem, shown) for stem in IDX_TEST]
    if None in train:
        present = sorted(p.name for p in folder.iterdir())
        raise DataError(
            f"{shown}: no {' or '.join(s for s, f in zip(IDX_TRAIN, train) if f is None)}[.gz] in this folder "
            f"(it holds {present[:10]}{' ...' if len(present) > 10 else ''}). A dataset folder holds IDX files "
            f"named {IDX_TRAIN[0]}[.gz] and {IDX_TRAIN[1]}[.gz], optionally with the t10k- pair; rename the files."
        )
    if (test[0] is None) != (test[1] is None):
        found, missing = (test[0], IDX_TEST[1]) if test[1] is None else (test[1], IDX_TEST[0])
        raise DataError(
            f"{shown}: has {found.name} but no {missing}[.gz]; a test set needs both files. Add or remove one."
        )
    x_train, y_train = (read_idx(p) for p in train)
    x_test, y_test = (None, None) if test[0] is None else (read_idx(p) for p in test)
    for images, labels, (pi, pl) in ((x_train, y_train, train), (x_test, y_test, test)):
        if images is None:
            continue
        if labels.ndim != 1:
            raise DataError(f"{pl}: labels of shape {labels.shape}; expected one label per image, shape (n,).")
        if len(images) != len(labels):
            raise DataError(
                f"{shown}: {pi.name} holds {len(images)} images but {pl.name} holds {len(labels)} labels; "
                "they must match. Use the labels file that belongs to the images."
            )
    return _checked(x_train, y_train, x_test, y_test, shown, f"IDX folder {shown}")


def _idx_file(folder: Path, stem: str, shown: str) -> Path | None:
    found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.is_file()]
    if len(found) > 1:
        raise DataError(f"{shown}: holds both {stem} and {stem}.gz; keep only one of them.")
    return found[0] if found else None


# -- checks shared by the readers ------------------------------------------------------------------


def _checked(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray | None,
    y_test: np.ndarray | None,
    shown: str,
    what: str,
) -> RawData:
    """The arrays, if they are numeric, finite, non-empty and consistent; x of shape (n,) becomes (n, 1)."""
    sets = [("train", x_train, y_train)] + ([] if x_test is None else [("test", x_test, y_test)])
    checked = []
    for part, x, y in sets:
        for kind, a in (("x", x), ("y", y)):
            if a.dtype != np.bool_ and not np.issubdtype(a.dtype, np.number):
                raise DataError(f"{shown}: {kind}_{part} has dtype {a.dtype}; expected numbers. Convert it first.")
            if a.ndim == 0:
                raise DataError(f"{shown}: {kind}_{part} is a single value; expected one row per sample.")
            if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
                raise DataError(
                    f"{shown}: {kind}_{part} holds {int(np.sum(~np.isfinite(a)))} NaN or infinite values; "
                    "remove or impute them."
                )
        if len(x) != len(y):
            raise DataError(
                f"{shown}: x_{part} has {len(x)} rows but y_{part} has {len(y)}; each sample needs one label."
            )
        if len(x) == 0:
            raise DataError(f"{shown}: the {part} set has no rows; expected at least one sample.")
        checked.append((x.reshape(len(x), 1) if x.ndim == 1 else x, y))
    if len(checked) == 2 and checked[0][0].shape[1:] != checked[1][0].shape[1:]:
        raise DataError(
            f"{shown}: x_train rows have shape {checked[0][0].shape[1:]} but x_test rows {checked[1][0].shape[1:]}; "
            "they must match."
        )
    if len(checked) == 2 and checked[0][1].shape[1:] != checked[1][1].shape[1:]:
        raise DataError(
            f"{shown}: y_train rows have shape {checked[0][1].shape[1:]} but y_test rows {checked[1][1].shape[1:]}; "
            "they must match."
        )
    (x_train, y_train), (x_test, y_test) = checked[0], (checked[1] if len(checked) == 2 else (None, None))
    return RawData(x_train, y_train, x_test, y_test, what)
