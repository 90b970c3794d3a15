"""Read IDX files, the format of MNIST and Fashion-MNIST, gzipped or plain.

An IDX file is a 4-byte magic number ``0x00 0x00 <dtype code> <ndim>``, then ``ndim`` big-endian uint32
sizes, then the values in C order, big-endian. The dtype codes (from the MNIST page) are 0x08 uint8,
0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32 and 0x0E float64.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

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


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped or not, told by its first bytes) into a new array in native byte order.

    Raises ``DataError`` naming the file if it is missing, truncated, or not an IDX file.
    """
    path = Path(path)
    return _parse(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed if it is gzipped."""
    try:
        with open(path, "rb") as f:
            gzipped = f.read(2) == _GZIP_MAGIC
            f.seek(0)
            if not gzipped:
                return f.read()
            with gzip.GzipFile(fileobj=f) as gz:
                return gz.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such IDX file. Check the path.") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: the gzip stream is truncated or corrupt ({exc}). Download or copy the file again."
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}). Check that it is a readable file.") from None


def _parse(data: bytes, path: Path) -> np.ndarray:
    if len(data) < 4:
        raise DataError(
            f"{path}: only {len(data)} bytes, too short for the 4-byte IDX magic number. "
            "The file is truncated or not an IDX file."
        )
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in DTYPES:
        raise DataError(
            f"{path}: not an IDX file: it starts with bytes {data[:4].hex(' ')}, expected 00 00 <dtype code> "
            f"<ndim> with a dtype code in {{{', '.join(f'0x{c:02X}' for c in DTYPES)}}}."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header} header bytes, "
            f"the file has {len(data)}. Download or copy the file again."
        )
    shape = tuple(int(n) for n in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # exact: no overflow on a bogus header
    found = len(data) - header
    if found != expected:
        problem = "is truncated" if found < expected else "has extra bytes after the data"
        raise DataError(
            f"{path}: IDX file {problem}: the header says shape {shape} of {dtype.name} "
            f"({expected} bytes of data), but {found} bytes follow the header. "
            "Download or copy the file again."
        )
    values = np.frombuffer(data, dtype, count=expected // dtype.itemsize, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native byte order
