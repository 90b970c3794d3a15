"""nnrun.datasets: the bundled sample, the verified and atomic download path (against a local HTTP server
on 127.0.0.1), the offline error, the IDX reader and Fashion-MNIST. No other network is used."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import re
import socket
import threading
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nnrun.datasets import _download, fashion_mnist, mnist, mnist_sample
from nnrun.datasets.idx import read_idx
from nnrun.errors import DataError

DEBIAN_DIR = fashion_mnist.DEBIAN_DIR  # the real one; tests point the module at a folder of their own
IDX_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def write_idx(path: Path, values: np.ndarray, gz: bool = True) -> Path:
    """Write ``values`` as an IDX file, big-endian, the way the MNIST files are written."""
    magic = bytes([0, 0, IDX_CODES[values.dtype.type], values.ndim])
    sizes = np.array(values.shape, ">u4").tobytes()
    data = magic + sizes + values.astype(values.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point nnrun's cache, Keras's home and the Debian folder at empty folders; no proxies."""
    for var in list(os.environ):
        if var.lower().endswith("_proxy"):
            monkeypatch.delenv(var)
    found = {"cache": tmp_path / "nnrun", "keras": tmp_path / "keras", "debian": tmp_path / "debian"}
    monkeypatch.setenv(_download.DIR_ENV, str(found["cache"]))
    monkeypatch.setenv("KERAS_HOME", str(found["keras"]))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", found["debian"])
    return found


class Server:
    """A static-file HTTP server on 127.0.0.1 in a thread, recording the paths asked for.

    Under ``/cut/`` it promises 100,000 bytes, sends 10 and hangs up, like a dropped connection.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                if not self.path.startswith("/cut/"):
                    super().do_GET()
                    return
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"0123456789")
                self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass  # keep the test output clean

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(root))
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.thread.join()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dirs: dict[str, Path]):
    """Serve tmp_path/served and point NNRUN_DATASETS_URL at it."""
    root = tmp_path / "served"
    root.mkdir()
    srv = Server(root)
    monkeypatch.setenv(_download.URL_ENV, srv.url)
    yield srv
    srv.stop()


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, dirs: dict[str, Path]) -> str:
    """Point NNRUN_DATASETS_URL at a closed port on 127.0.0.1, so every download is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    monkeypatch.setenv(_download.URL_ENV, url)
    return url


def fake_mnist(folder: Path, name: str = "mnist.npz") -> tuple[Path, dict[str, np.ndarray]]:
    """A small npz with the four arrays of Keras's mnist.npz."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 6, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 2, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / name, **arrays)
    return folder / name, arrays


def assert_mnist_equal(loaded, arrays: dict[str, np.ndarray]) -> None:
    (x_train, y_train), (x_test, y_test) = loaded
    for got, key in [(x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"), (y_test, "y_test")]:
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == arrays[key].dtype


# --- mnist_sample --------------------------------------------------------------------------------------


def test_sample_has_keras_shapes_dtypes_and_balanced_classes():
    (x_train, y_train), (x_test, y_test) = mnist_sample.load_data()

    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (4000, 28, 28),
        (4000,),
        (1000, 28, 28),
        (1000,),
    )
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert (x_train.min(), x_train.max()) == (0, 255)


def test_sample_split_is_deterministic_shuffled_and_a_partition_of_the_file():
    (x_train, y_train), (x_test, y_test) = mnist_sample.load_data()
    (x_train2, y_train2), (x_test2, y_test2) = mnist_sample.load_data()
    for a, b in [(x_train, x_train2), (y_train, y_train2), (x_test, x_test2), (y_test, y_test2)]:
        np.testing.assert_array_equal(a, b)

    # Not in the file's label order: every class shows up among the first 100 of each set.
    assert set(y_train[:100].tolist()) == set(range(10))
    assert set(y_test[:100].tolist()) == set(range(10))

    # Every digit of the file lands in exactly one of the two sets.
    with resources.files("nnrun.datasets").joinpath(mnist_sample.RESOURCE).open("rb") as f, np.load(f) as raw:
        whole = sorted(zip([img.tobytes() for img in raw["x"]], raw["y"].tolist(), strict=True))
    split = sorted(
        zip(
            [img.tobytes() for img in np.concatenate([x_train, x_test])],
            np.concatenate([y_train, y_test]).tolist(),
            strict=True,
        )
    )
    assert split == whole


def test_sample_file_has_the_documented_sha256():
    data = resources.files("nnrun.datasets").joinpath(mnist_sample.RESOURCE).read_bytes()
    readme = resources.files("nnrun.datasets").joinpath("data/README.md").read_text()

    assert sha256_bytes(data) == mnist_sample.SHA256
    assert mnist_sample.SHA256 in readme
    assert "license CC BY-SA 3.0" in readme


# --- mnist: download, cache, checksum, offline ---------------------------------------------------------


def test_mnist_downloads_once_checks_sha256_and_then_uses_the_cache(server, dirs, monkeypatch):
    served, arrays = fake_mnist(server.root)
    monkeypatch.setattr(mnist, "SHA256", sha256_bytes(served.read_bytes()))

    assert_mnist_equal(mnist.load_data(), arrays)
    assert server.requests == ["/mnist.npz"]
    assert files_under(dirs["cache"]) == [dirs["cache"] / "mnist.npz"]  # no temporary file left

    server.stop()
    assert_mnist_equal(mnist.load_data(), arrays)  # from the cache, with the server gone
    assert server.requests == ["/mnist.npz"]


def test_mnist_path_names_the_cached_copy_not_the_remote_file(server, dirs, monkeypatch):
    served, arrays = fake_mnist(server.root)
    monkeypatch.setattr(mnist, "SHA256", sha256_bytes(served.read_bytes()))

    assert_mnist_equal(mnist.load_data(path="copies/digits.npz"), arrays)
    assert server.requests == ["/mnist.npz"]
    assert files_under(dirs["cache"]) == [dirs["cache"] / "copies" / "digits.npz"]


def test_mnist_download_with_a_wrong_sha256_is_discarded(server, dirs):
    served, _ = fake_mnist(server.root)  # not Keras's file, so mnist.SHA256 does not match it

    with pytest.raises(DataError) as err:
        mnist.load_data()

    message = str(err.value)
    assert f"has sha256 {sha256_bytes(served.read_bytes())}, expected {mnist.SHA256}" in message
    assert f"nothing was saved to {dirs['cache']}" in message
    assert files_under(dirs["cache"]) == []


def test_mnist_interrupted_download_leaves_nothing(server, dirs, monkeypatch):
    monkeypatch.setenv(_download.URL_ENV, server.url + "cut/")

    url = re.escape(f"{server.url}cut/mnist.npz")
    with pytest.raises(
        DataError, match=rf"Cannot download {url}: the connection closed after 10 of 100000 bytes"
    ):
        mnist.load_data()
    assert files_under(dirs["cache"]) == []


def test_mnist_offline_with_nothing_cached_says_what_to_put_where(offline, dirs):
    with pytest.raises(DataError) as err:
        mnist.load_data()

    message = str(err.value)
    assert f"Cannot download {offline}mnist.npz" in message
    assert str(dirs["keras"] / "datasets" / "mnist.npz") in message  # where it looked
    assert f"fetch {offline}mnist.npz (sha256 {mnist.SHA256})" in message
    assert f"copy it to {dirs['cache'] / 'mnist.npz'}" in message
    assert files_under(dirs["cache"]) == []


def test_mnist_missing_on_the_server_reports_the_http_status(server):
    with pytest.raises(DataError, match=r"the server answered HTTP 404 .*mnist\.npz"):
        mnist.load_data()


def test_mnist_reuses_keras_cache_and_honours_the_path_argument(offline, dirs, monkeypatch):
    cached, arrays = fake_mnist(dirs["keras"] / "datasets", name="digits.npz")
    monkeypatch.setattr(mnist, "SHA256", sha256_bytes(cached.read_bytes()))

    assert_mnist_equal(mnist.load_data(path="digits.npz"), arrays)
    with pytest.raises(DataError, match=r"Cannot download .*mnist\.npz"):
        mnist.load_data()  # the default name is not cached anywhere


def test_mnist_rejects_a_corrupt_cached_file(offline, dirs):
    dirs["cache"].mkdir()
    (dirs["cache"] / "mnist.npz").write_bytes(b"not an npz")

    actual = sha256_bytes(b"not an npz")
    with pytest.raises(
        DataError,
        match=rf"mnist\.npz is not the expected file: its sha256 is {actual}, "
        rf"expected {mnist.SHA256}.*delete it",
    ):
        mnist.load_data()


def test_base_url_and_cache_dir_default_to_keras_origin_and_home(monkeypatch):
    monkeypatch.delenv(_download.URL_ENV, raising=False)
    monkeypatch.delenv(_download.DIR_ENV, raising=False)
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.delenv("KERAS_HOME", raising=False)

    assert _download.base_url() == "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
    assert _download.cache_dir() == Path("/home/someone/.nnrun/datasets")
    assert _download.keras_cache_dir() == Path("/home/someone/.keras/datasets")
    monkeypatch.setenv(_download.URL_ENV, "http://127.0.0.1:1/mirror")
    assert _download.base_url() == "http://127.0.0.1:1/mirror/"


# --- IDX reader ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
@pytest.mark.parametrize("dtype", list(IDX_CODES), ids=lambda t: t.__name__)
def test_read_idx_round_trips_every_dtype(tmp_path, dtype, gz):
    values = (np.arange(2 * 3 * 4).reshape(2, 3, 4) * 37 - 300).astype(dtype)
    path = write_idx(tmp_path / "a.idx", values, gz=gz)

    got = read_idx(path)

    np.testing.assert_array_equal(got, values)
    assert got.dtype == np.dtype(dtype)
    assert got.dtype.isnative
    assert got.flags.writeable


def test_read_idx_reads_a_label_vector(tmp_path):
    got = read_idx(write_idx(tmp_path / "labels-idx1-ubyte", np.array([9, 2, 1], np.uint8), gz=False))
    np.testing.assert_array_equal(got, [9, 2, 1])
    assert got.shape == (3,)


def test_read_idx_truncated_data_names_the_file_and_sizes(tmp_path):
    path = write_idx(tmp_path / "cut-idx3-ubyte", np.zeros((2, 28, 28), np.uint8), gz=False)
    path.write_bytes(path.read_bytes()[:-100])

    expected = r"IDX file is truncated: the header says shape \(2, 28, 28\) of uint8 \(1568 bytes of data\)"
    with pytest.raises(DataError, match=rf"{re.escape(str(path))}: {expected}, but 1468 bytes follow"):
        read_idx(path)


def test_read_idx_extra_bytes_are_an_error(tmp_path):
    path = write_idx(tmp_path / "long.idx", np.zeros(4, np.int32), gz=False)
    path.write_bytes(path.read_bytes() + b"\0")

    with pytest.raises(DataError, match=r"long\.idx: IDX file has extra bytes after the data.* 17 bytes"):
        read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "cut.gz", np.arange(1000, dtype=np.int16))
    path.write_bytes(path.read_bytes()[:40])

    with pytest.raises(DataError, match=r"cut\.gz: the gzip stream is truncated or corrupt"):
        read_idx(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\0\0", r"only 2 bytes, too short for the 4-byte IDX magic number"),
        (b"PK\3\4rest", r"not an IDX file: it starts with bytes 50 4b 03 04"),
        (b"\0\0\x0a\x01\0\0\0\1x", r"not an IDX file: .*code in \{0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E\}"),
        (b"\0\0\x08\x03\0\0\0\2", r"truncated IDX header: 3 dimensions need 16 header bytes, the file has 8"),
    ],
    ids=["short", "zip", "bad-dtype", "short-header"],
)
def test_read_idx_rejects_malformed_headers(tmp_path, data, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(data)

    with pytest.raises(DataError, match=rf"bad\.idx: {message}"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope\.gz: no such IDX file"):
        read_idx(tmp_path / "nope.gz")


# --- fashion_mnist -------------------------------------------------------------------------------------


def fake_fashion(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """Write the four files with small made-up arrays and make them the expected data."""
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 5, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, values in arrays.items():
        path = write_idx(folder / name, values)
        monkeypatch.setitem(fashion_mnist.GZ_SHA256, name, sha256_bytes(path.read_bytes()))
        monkeypatch.setitem(fashion_mnist.DATA_SHA256, name, sha256_bytes(values.tobytes()))
    return arrays


def assert_fashion_equal(loaded, arrays: dict[str, np.ndarray]) -> None:
    (x_train, y_train), (x_test, y_test) = loaded
    for got, name in zip([x_train, y_train, x_test, y_test], fashion_mnist.FILES, strict=True):
        np.testing.assert_array_equal(got, arrays[name])
        assert got.dtype == np.uint8


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package(offline, dirs, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", DEBIAN_DIR)

    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()

    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28),
        (60000,),
        (10000, 28, 28),
        (10000,),
    )
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    assert y_test[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]  # the published test labels
    assert files_under(dirs["cache"]) == []


def test_fashion_mnist_from_a_local_folder_of_idx_files(offline, dirs, monkeypatch):
    arrays = fake_fashion(dirs["debian"], monkeypatch)

    assert_fashion_equal(fashion_mnist.load_data(), arrays)
    assert files_under(dirs["cache"]) == []


def test_fashion_mnist_rejects_files_with_other_data(offline, dirs, monkeypatch):
    fake_fashion(dirs["debian"], monkeypatch)
    monkeypatch.setitem(fashion_mnist.DATA_SHA256, "t10k-images-idx3-ubyte.gz", "0" * 64)

    with pytest.raises(
        DataError,
        match=r"t10k-images-idx3-ubyte\.gz does not hold the Fashion-MNIST data: "
        r"the sha256 of its uint8 \(3, 28, 28\) array is [0-9a-f]{64}, "
        r"expected 0{64}",
    ):
        fashion_mnist.load_data()


def test_fashion_mnist_downloads_into_the_cache(server, dirs, monkeypatch):
    arrays = fake_fashion(server.root, monkeypatch)

    assert_fashion_equal(fashion_mnist.load_data(), arrays)
    assert sorted(server.requests) == sorted(f"/{name}" for name in fashion_mnist.FILES)
    cached = dirs["cache"] / "fashion-mnist"
    assert files_under(dirs["cache"]) == sorted(cached / name for name in fashion_mnist.FILES)

    server.stop()
    assert_fashion_equal(fashion_mnist.load_data(), arrays)


def test_fashion_mnist_offline_names_the_file_the_url_and_the_debian_package(offline, dirs):
    with pytest.raises(DataError) as err:
        fashion_mnist.load_data()

    message = str(err.value)
    name = "train-images-idx3-ubyte.gz"
    assert f"fetch {offline}{name} (sha256 {fashion_mnist.GZ_SHA256[name]})" in message
    assert f"copy it to {dirs['cache'] / 'fashion-mnist' / name}" in message
    assert f"Debian package dataset-fashion-mnist, which puts the files in {dirs['debian']}" in message
