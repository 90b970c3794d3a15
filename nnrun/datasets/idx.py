"""Read IDX files, the format of MNIST and Fashion-MNIST, gzipped or plain; and the limits on data files.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian uint32
sizes, then the values in C order, big-endian. The dtype codes (from the MNIST page) are 0x08 uint8,
0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 and 0x0E float64.

The header is read and checked before any data: a file declaring more than :func:`max_data_bytes`, or a
gzip stream that would inflate more than :data:`MAX_INFLATION` times its size on disk, is refused before
anything is allocated, and the data are read with a bounded read. Only regular files are opened (a named
pipe would block forever): :func:`open_regular` is shared with the other data readers.
"""

from __future__ import annotations

import errno
import gzip
import math
import os
import stat
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from nnrun.errors import DataError

# dtype code -> big-endian NumPy dtype of the values on disk
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
MAX_IDX_DIMS = 16  # MNIST uses 1 (labels) and 3 (images)

MAX_DATA_BYTES_ENV = "NNRUN_MAX_DATA_BYTES"
DEFAULT_MAX_DATA_BYTES = 4 * 2**30
MAX_INFLATION = 100  # compressed data that would grow more than this many times ...
INFLATION_FLOOR = 64 * 2**20  # ... to more than this many bytes is refused as a decompression bomb


def max_data_bytes() -> int:
    """The most bytes of array data one data file may declare: ``$NNRUN_MAX_DATA_BYTES``, or 4 GiB."""
    text = os.environ.get(MAX_DATA_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_DATA_BYTES
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not (math.isfinite(value) and value >= 1):
        raise DataError(f"${MAX_DATA_BYTES_ENV} must be a positive number of bytes, e.g. 8e9. Received: {text!r}")
    return int(value)


def check_declared_size(nbytes: int, stored: int, what: str) -> None:
    """Refuse data declaring ``nbytes`` (stored in ``stored`` bytes on disk) over the limits, before reading it."""
    limit = max_data_bytes()
    if nbytes > limit:
        raise DataError(
            f"{what} declares {human_bytes(nbytes)} of data, more than the limit of {human_bytes(limit)}; "
            f"nothing was read. Use a smaller file, or raise the limit with ${MAX_DATA_BYTES_ENV}."
        )
    if nbytes > INFLATION_FLOOR and nbytes > MAX_INFLATION * max(stored, 1):
        raise DataError(
            f"{what} would inflate {human_bytes(stored)} of compressed data to {human_bytes(nbytes)} "
            f"({nbytes // max(stored, 1):,} times; data compresses far less): refused as a decompression bomb, "
            "nothing was read. Save real data uncompressed (np.savez, or IDX without gzip)."
        )


def human_bytes(n: int) -> str:
    """``1.5 GB``, ``12 KB``, ``100 bytes``."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def open_regular(path: str | os.PathLike[str], shown: str, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading; a DataError naming ``shown`` if it is not a readable regular file.

    Opened without blocking first, so a named pipe with no writer is refused instead of hanging.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise DataError(os_problem(e, shown, what)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(f"{shown}: is {file_kind(mode)}, not a regular {what}. Give the path of a {what}.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode: int) -> str:
    """``a named pipe (FIFO)``, ``a folder``, ... for a ``st_mode``."""
    kinds = [
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def os_problem(e: OSError, shown: str, what: str = "file") -> str:
    """A sentence for an OSError met while opening ``shown``: what went wrong and what to do."""
    reasons = {
        errno.ENOENT: f"no such {what}. Check the path",
        errno.ENAMETOOLONG: "the path is too long for this system (a file or folder name over 255 bytes, or "
        "the whole path over its limit). Shorten it",
        errno.EACCES: "permission denied: nnrun cannot read it, or cannot enter a folder on its path. "
        "Check the permissions",
        errno.EPERM: "permission denied. Check the permissions",
        errno.ENOTDIR: "a part of the path is a file, not a folder. Check the path",
        errno.ELOOP: "too many symbolic links (a loop?). Check the links on the path",
    }
    reason = reasons.get(e.errno, f"cannot be read ({e.strerror or e}). Check that it is a readable {what}")
    return f"{shown}: {reason}."


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped or not, told by its first bytes) into a new array in native byte order.

    Raises ``DataError`` naming the file if it is missing, truncated, not an IDX file, not a regular file,
    or declares more data than the limits allow.
    """
    path = Path(path)
    try:
        with open_regular(path, str(path), "IDX file") as f:
            stored = os.fstat(f.fileno()).st_size
            gzipped = f.read(2) == _GZIP_MAGIC
            f.seek(0)
            if not gzipped:
                return _parse(f, path, stored, stored)
            with gzip.GzipFile(fileobj=f) as gz:
                return _parse(gz, path, None, stored)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: the gzip stream is truncated or corrupt ({exc}). Download or copy the file again."
        ) from None
    except OSError as exc:
        raise DataError(os_problem(exc, str(path), "IDX file")) from None


def _parse(f: BinaryIO, path: Path, size: int | None, stored: int) -> np.ndarray:
    """The array in stream ``f`` (``size``: its length in bytes when known, i.e. not gzipped)."""
    head = f.read(4)
    if len(head) < 4:
        raise DataError(
            f"{path}: only {len(head)} bytes, too short for the 4-byte IDX magic number. "
            "The file is truncated or not an IDX file."
        )
    zero, code, ndim = head[:2], head[2], head[3]
    if zero != b"\x00\x00" or code not in DTYPES:
        raise DataError(
            f"{path}: not an IDX file: it starts with bytes {head.hex(' ')}, expected 00 00 <dtype code> "
            f"<ndim> with a dtype code in {{{', '.join(f'0x{c:02X}' for c in DTYPES)}}}."
        )
    if not 1 <= ndim <= MAX_IDX_DIMS:
        raise DataError(
            f"{path}: the IDX header declares {ndim} dimensions; nnrun reads 1 to {MAX_IDX_DIMS} "
            "(labels have 1, images 3). The file is corrupt or not a dataset."
        )
    header = 4 + 4 * ndim
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header} header bytes, "
            f"the file has {4 + len(dims)}. Download or copy the file again."
        )
    shape = tuple(int(n) for n in np.frombuffer(dims, ">u4"))
    dtype = DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # exact: no overflow on a bogus header
    described = f"{path}: the IDX header (shape {shape} of {dtype.name})"
    if size is not None:
        _check_length(size - header, expected, shape, dtype, path)
    check_declared_size(expected, stored, described)
    data = f.read(expected + (size is None))  # one byte more from a gzip stream tells of extra data
    _check_length(len(data), expected, shape, dtype, path, exact=size is not None)
    values = np.frombuffer(data, dtype, count=expected // dtype.itemsize).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def _check_length(
    found: int, expected: int, shape: tuple[int, ...], dtype: np.dtype, path: Path, exact: bool = True
) -> None:
    if found != expected:
        problem = "is truncated" if found < expected else "has extra bytes after the data"
        follow = f"{found} bytes follow" if exact or found < expected else f"more than {expected} bytes follow"
        raise DataError(
            f"{path}: IDX file {problem}: the header says shape {shape} of {dtype.name} "
            f"({expected} bytes of data), but {follow} the header. Download or copy the file again."
        )
