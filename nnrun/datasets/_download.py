"""Where dataset files are looked for, and the one verified, atomic download that fills nnrun's cache.

Environment variables, read at each call:

- ``NNRUN_DATASETS_DIR``: nnrun's cache folder (default ``~/.nnrun/datasets``).
- ``NNRUN_DATASETS_URL``: the base URL that file names are appended to (default Keras's origin,
  :data:`KERAS_ORIGIN`); point it at a mirror, or at a local server in tests.
- ``KERAS_HOME``: Keras's home (default ``~/.keras``); files already in ``$KERAS_HOME/datasets`` are reused.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from nnrun.errors import DataError

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
DIR_ENV = "NNRUN_DATASETS_DIR"
URL_ENV = "NNRUN_DATASETS_URL"
TIMEOUT_S = 30.0  # per blocking socket operation, not for the whole download
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """nnrun's dataset cache: ``$NNRUN_DATASETS_DIR``, else ``~/.nnrun/datasets``."""
    return Path(os.environ.get(DIR_ENV) or "~/.nnrun/datasets").expanduser()


def keras_cache_dir() -> Path:
    """Keras's dataset cache: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    return Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser() / "datasets"


def base_url() -> str:
    """The URL that file names are appended to: ``$NNRUN_DATASETS_URL``, else Keras's origin."""
    url = os.environ.get(URL_ENV) or KERAS_ORIGIN
    return url if url.endswith("/") else url + "/"


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str) -> None:
    """Raise ``DataError`` unless the file's sha256 is ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(
            f"{path} is not the expected file: its sha256 is {actual}, expected {expected}. "
            "It is corrupt or a different file: delete it and call load_data() again to download it."
        )


def get_file(
    fname: str,
    sha256: str,
    remote: str | None = None,
    subdir: str = "",
    search: Sequence[Path] = (),
    hint: str = "",
) -> Path:
    """Return the path of ``fname``: the first copy found, else a fresh download into nnrun's cache.

    Looks in each folder of ``search``, then nnrun's cache, then Keras's cache (both under ``subdir``;
    an absolute ``fname`` is used as it is). A found copy is returned unchecked (the caller checks it);
    a download of ``base_url() + remote`` (default ``fname``) is checked against ``sha256`` before it
    appears in the cache. ``hint`` ends the error raised when nothing is found or fetched.
    """
    target = cache_dir() / subdir / fname
    places = [*(Path(d) / fname for d in search), target, keras_cache_dir() / subdir / fname]
    for path in places:
        if path.is_file():
            return path
    url = base_url() + (remote or fname)
    try:
        download(url, target, sha256)
    except DataError as exc:
        looked = ", ".join(str(p) for p in places)
        raise DataError(
            f"{exc} nnrun looked for {fname} in: {looked}. To work offline, fetch {url} (sha256 {sha256}) "
            f"on a machine with internet access and copy it to {target}.{hint}"
        ) from None
    return target


def download(url: str, dest: Path, sha256: str, timeout: float = TIMEOUT_S) -> None:
    """Download ``url`` to ``dest`` atomically: a temporary file beside it, sha256 checked, then renamed.

    On any failure nothing is left behind and ``DataError`` says what went wrong.
    """
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise DataError(
            f"Cannot write to the dataset cache {dest.parent} ({exc}). Set {DIR_ENV} to a writable folder."
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _copy_url(url, out, timeout)
        if actual != sha256:
            raise DataError(
                f"The download of {url} has sha256 {actual}, expected {sha256}; it was discarded and nothing "
                f"was saved to {dest.parent}. Try again; if it persists, {URL_ENV} points at a wrong file."
            )
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _copy_url(url: str, out: BinaryIO, timeout: float) -> str:
    """Stream ``url`` into the open file ``out``; return the sha256 of what was written."""
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
    except urllib.error.HTTPError as exc:
        raise DataError(f"Cannot download {url}: the server answered HTTP {exc.code} {exc.reason}.") from None
    except urllib.error.URLError as exc:
        raise DataError(f"Cannot download {url}: {exc.reason} (offline?).") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DataError(f"Cannot download {url}: {type(exc).__name__}: {exc}.") from None
    if announced is not None and announced.isdigit() and received != int(announced):
        # http.client ends a short body quietly instead of raising IncompleteRead: say what happened.
        raise DataError(f"Cannot download {url}: the connection closed after {received} of {announced} bytes.")
    return digest.hexdigest()
