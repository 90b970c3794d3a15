"""Reading a dataset from disk: an ``.npz`` file, a ``.csv`` file, or a folder of MNIST-style IDX files.

Each reader returns a :class:`RawData` of numeric arrays with matching lengths, or raises ``DataError``
naming the file, what is wrong, what was expected and what to do. Deciding the task from the labels,
splitting and shuffling happen elsewhere.

Hostile files are refused before they cost anything: only regular files are opened (a named pipe would
block forever); an ``.npz``'s array headers are read first, and arrays that would inflate past the limits
(:func:`nnrun.datasets.idx.check_declared_size`), hold Python objects (never unpickled) or complex numbers
are refused before any data is read; values beyond float32's range are errors, not silent infinities.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import stat
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnrun.datasets.idx import (
    check_declared_size,
    file_kind,
    human_bytes,
    max_data_bytes,
    open_regular,
    os_problem,
    read_idx,
)
from nnrun.errors import DataError, did_you_mean

FORMATS = ".npz, .csv, or a folder of IDX files"
NPZ_LAYOUTS = "'x' and 'y', or 'x_train' and 'y_train' (optionally with 'x_test' and 'y_test')"
NPZ_KEYS = ("x", "y", "x_train", "y_train", "x_test", "y_test")
IDX_TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
IDX_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FLOAT32_MAX = float(np.finfo(np.float32).max)
_NPY_MAGIC = b"\x93NUMPY"
_COMPLEX_FIX = (
    "nnrun trains on real numbers and never drops an imaginary part; store the real and imaginary parts "
    "as separate features (np.real, np.imag)."
)


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
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise DataError(
            f"{path}: no such file or folder. Check the path (relative paths start at {Path.cwd()})."
        ) from None
    except OSError as e:
        raise DataError(os_problem(e, path, "file or folder")) from None
    if stat.S_ISDIR(mode):
        return read_idx_folder(p, path)
    if not stat.S_ISREG(mode):
        raise DataError(f"{path}: is {file_kind(mode)}, not a regular file; expected {FORMATS}.")
    suffix = p.suffix.lower()
    if suffix == ".npz":
        return read_npz(p, path)
    if suffix == ".csv":
        return read_csv(p, path, label_column)
    raise DataError(f"{path}: unsupported file type {suffix or '(no suffix)'!r}; expected {FORMATS}. Convert the data.")


# -- .npz ------------------------------------------------------------------------------------------


def read_npz(p: Path, shown: str) -> RawData:
    """Arrays ``x``/``y``, or ``x_train``/``y_train`` with optional ``x_test``/``y_test``; no pickles.

    Every array's header is read and checked (size, dtype) before any array's data.
    """
    save = "Save it with np.savez(path, x=..., y=...)."
    with open_regular(p, shown) as f:
        magic = f.read(len(_NPY_MAGIC))
        if magic == _NPY_MAGIC:
            raise DataError(f"{shown}: holds a single .npy array, not an .npz archive of {NPZ_LAYOUTS}. {save}")
        if not magic:
            raise DataError(f"{shown}: cannot be read as an .npz file (the file is empty). {save}")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
            raise DataError(
                f"{shown}: cannot be read as an .npz file ({e}; is it truncated or of another format?). {save}"
            ) from None
        with archive:
            members = {_npz_key(info.filename): info for info in archive.infolist()}
            _check_npz_keys(list(members), shown)
            sizes = {key: _npy_header_size(archive, info, f"{shown}: array '{key}'") for key, info in members.items()}
            check_declared_size(
                sum(sizes.values()), sum(info.compress_size for info in members.values()), f"{shown}: all arrays"
            )
            arrays = {key: _npz_array(archive, info, f"{shown}: array '{key}'") for key, info in members.items()}
    what = f"NPZ file {shown}"
    if "x" in arrays:
        return _checked(arrays["x"], arrays["y"], None, None, shown, what)
    return _checked(arrays["x_train"], arrays["y_train"], arrays.get("x_test"), arrays.get("y_test"), shown, what)


def _npz_key(filename: str) -> str:
    """The array name of an archive member, as ``np.load`` gives it (``x.npy`` → ``x``)."""
    return filename[: -len(".npy")] if filename.endswith(".npy") else filename


def _npy_header_size(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> int:
    """The bytes of data the member's .npy header declares, after refusing what nnrun never reads."""
    try:
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise DataError(f"{what} is in .npy format version {version}; nnrun reads 1.0 and 2.0. Save it again.")
            header = member.tell()
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{what} has no valid .npy header ({e}). The file is corrupt or not from np.savez.") from None
    if dtype.hasobject:
        raise DataError(
            f"{what} holds Python objects (dtype {dtype}), which only pickle can read, and nnrun never unpickles "
            "data files. Save it again, with a numeric dtype."
        )
    if dtype.kind == "c":
        raise DataError(f"{what} holds complex numbers (dtype {dtype}). {_COMPLEX_FIX}")
    nbytes = math.prod(shape) * dtype.itemsize
    check_declared_size(nbytes, info.compress_size, f"{what}: its header (shape {shape} of {dtype})")
    stored = info.file_size - header
    if stored != nbytes:
        raise DataError(
            f"{what}: its header declares shape {shape} of {dtype} ({nbytes} bytes), but the archive holds "
            f"{stored} bytes of data. The file is corrupt or was altered; save it again."
        )
    return nbytes


def _npz_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> np.ndarray:
    try:
        with archive.open(info) as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{what} cannot be read ({e}). The file is truncated or corrupt; save it again.") from None


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


# -- .csv ------------------------------------------------------------------------------------------


def read_csv(p: Path, shown: str, label_column: str) -> RawData:
    """A header row, then one row per sample: the column ``label_column`` is y, every other column is x."""
    with open_regular(p, shown) as f:
        size, limit = os.fstat(f.fileno()).st_size, max_data_bytes()
        if size > limit:
            raise DataError(
                f"{shown}: {human_bytes(size)}, more than the limit of {human_bytes(limit)} for a data file; "
                "nothing was read. Use a smaller file, or raise the limit with $NNRUN_MAX_DATA_BYTES."
            )
        try:
            text = f.read(limit + 1).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise DataError(f"{shown}: is not UTF-8 text ({e}). Save the CSV as UTF-8.") from None
        except OSError as e:
            raise DataError(os_problem(e, shown)) from None
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
    """The cells as float64, or an error naming the line and column of the first cell that is not a finite
    number within float32's range (nnrun trains in float32)."""
    try:
        values = np.array(body, dtype=np.float64)
    except ValueError:
        values = None
    if values is not None and np.all(np.isfinite(values)) and np.all(np.abs(values) <= FLOAT32_MAX):
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
            if abs(number) > FLOAT32_MAX:
                raise DataError(
                    f"{shown}, line {line}, column '{name}': {cell!r} exceeds float32's range "
                    f"(±{FLOAT32_MAX:.4g}), and nnrun trains in float32. Rescale the column."
                )
    raise AssertionError("unreachable: a cell failed to convert but none was found")  # pragma: no cover


# -- IDX folder ------------------------------------------------------------------------------------


def read_idx_folder(folder: Path, shown: str) -> RawData:
    """``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (each optionally ``.gz``), and optionally
    the ``t10k-`` pair as the test set: the file names of MNIST and Fashion-MNIST."""
    try:
        train = [_idx_file(folder, stem, shown) for stem in IDX_TRAIN]
        test = [_idx_file(folder, stem, shown) for stem in IDX_TEST]
        present = sorted(p.name for p in folder.iterdir()) if None in train else []
    except OSError as e:
        raise DataError(os_problem(e, shown, "folder")) from None
    if None in train:
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
    found = [p for p in (folder / stem, folder / f"{stem}.gz") if p.exists()]  # read_idx refuses all but files
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
            if np.iscomplexobj(a):
                raise DataError(f"{shown}: {kind}_{part} holds complex numbers (dtype {a.dtype}). {_COMPLEX_FIX}")
            if a.dtype != np.bool_ and not np.issubdtype(a.dtype, np.number):
                raise DataError(f"{shown}: {kind}_{part} has dtype {a.dtype}; expected numbers. Convert it first.")
            if a.ndim == 0:
                raise DataError(f"{shown}: {kind}_{part} is a single value; expected one row per sample.")
            if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a)):
                raise DataError(
                    f"{shown}: {kind}_{part} holds {int(np.sum(~np.isfinite(a)))} NaN or infinite values; "
                    "remove or impute them."
                )
            if np.issubdtype(a.dtype, np.floating) and a.dtype.itemsize > 4 and a.size:
                _check_float32_range(a, f"{kind}_{part}", shown)
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


def _check_float32_range(a: np.ndarray, name: str, shown: str) -> None:
    """A DataError if finite ``a`` holds values that a cast to float32 (nnrun's training dtype) would make infinite."""
    if a.max() <= FLOAT32_MAX and a.min() >= -FLOAT32_MAX:
        return
    beyond = np.abs(a) > FLOAT32_MAX
    first = tuple(int(i) for i in np.argwhere(beyond)[0])
    where = f"row {first[0]}" + (f", column {first[1]}" if len(first) == 2 else f", index {first}" * (len(first) > 2))
    raise DataError(
        f"{shown}: {name} holds {int(beyond.sum())} values beyond float32's range (±{FLOAT32_MAX:.4g}), "
        f"e.g. {a[first]:.4g} at {where}; nnrun trains in float32. Rescale the data."
    )


@contextlib.contextmanager
def numpy_warnings_as_errors(name: str, step: str) -> Iterator[None]:
    """NumPy's warnings inside the block (an overflow, a complex value cast to real) become a DataError.

    Without this they would print on the terminal with a source path, and the run would go on with
    infinities or with the imaginary parts dropped.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            yield
        except (RuntimeWarning, np.exceptions.ComplexWarning) as w:
            raise DataError(
                f"{name}: {step} failed: NumPy reported '{w}'. The data hold values this step cannot handle "
                "(e.g. beyond float32's range); check and rescale the data."
            ) from None
