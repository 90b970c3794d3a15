"""Hostile input: YAML bombs and tags, data-file bombs, pipes, unreadable paths, values NumPy would mangle,
and names in any script. Each attack is made with real files (and some through a real ``nnrun`` process);
each must end with exit 2, a message naming the key, file or option, nothing written, and no traceback."""

from __future__ import annotations

import contextlib
import ctypes
import gzip
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnrun.cli import app
from nnrun.config import load_config
from nnrun.config.load import load_raw
from nnrun.config.yaml_safe import MAX_ALIAS_NODES, load_yaml_file, parse_yaml
from nnrun.data import Dataset, load_dataset
from nnrun.data.preprocess import preprocess
from nnrun.datasets.idx import MAX_DATA_BYTES_ENV, read_idx
from nnrun.errors import ConfigError, DataError
from nnrun.runs.store import slug

runner = CliRunner()

BASE = """\
name: hostile
seed: 1
data: {dataset: blobs, n_samples: 60}
model:
  layers:
    - dense: {units: 3, activation: softmax}
train:
  loss: sparse_categorical_crossentropy
  epochs: 1
  batch_size: 16
"""

# A 342-byte "billion laughs": nine levels of nine aliases, 9**9 strings once expanded.
LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
)


def data_config(tmp_path: Path, path: Path | str) -> Path:
    """A config training on the data file at ``path``."""
    config = tmp_path / "data.yaml"
    config.write_text(BASE.replace("{dataset: blobs, n_samples: 60}", json.dumps({"path": str(path)})))
    return config


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def nnrun_command() -> list[str]:
    installed = shutil.which("nnrun", path=str(Path(sys.executable).parent))
    return [installed] if installed else [sys.executable, "-m", "nnrun"]


def run_nnrun(*args: object, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*nnrun_command(), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"},
    )


def assert_refused(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, an ``error:`` line holding every needle, no traceback and no NumPy warning."""
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@contextlib.contextmanager
def deadline(seconds: int):
    """Fail (rather than hang the suite) if the block blocks, e.g. on a named pipe."""

    def expired(signum, frame):
        raise AssertionError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def without_root_powers(fn: Callable[[], str]) -> str:
    """``fn()`` in a forked child that cannot override file permissions; its result (or error) as text.

    Root ignores ``chmod``; a new user namespace in which root is not mapped gives up that power (the
    child is 'nobody' to the files). Non-root users run ``fn`` as they are, in the child as well.
    """
    if sys.platform != "linux":
        pytest.skip("user namespaces (to drop root's power over permissions) are Linux-only")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.close(read)
            libc = ctypes.CDLL(None, use_errno=True)
            if os.geteuid() == 0 and libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
                text = f"SKIP: unshare(CLONE_NEWUSER) failed with errno {ctypes.get_errno()}"
            else:
                text = fn()
        except BaseException as e:  # the parent reports whatever happened
            text = f"{type(e).__name__}: {e}"
        os.write(write, text.encode("utf-8", "replace"))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        text = f.read().decode()
    os.waitpid(pid, 0)
    if text.startswith("SKIP: "):
        pytest.skip(f"running as root, and {text[6:]}: cannot make a folder unreadable to this process")
    return text


def error_text(fn: Callable[[], object]) -> Callable[[], str]:
    def call() -> str:
        try:
            fn()
        except (DataError, ConfigError) as e:
            return f"{type(e).__name__}: {e}"
        return "no error"

    return call


# --- YAML: bounded parsing and clear refusals ----------------------------------------------------------


YAML_ATTACKS = {
    "billion-laughs": (
        LAUGHS,
        rf"[a-i][.0-9]* \(line 1\): aliases \(\*name\) expand to more than {MAX_ALIAS_NODES:,} values beyond those "
        r"written in the file \(an alias bomb\?\)",
    ),
    "python-object-apply": (
        'name: !!python/object/apply:os.system ["echo pwned"]\n',
        r"name \(line 1\): the tag !!python/object/apply:os\.system is not allowed: it would build a Python object",
    ),
    "python-name": ("name: !!python/name:os.system\n", r"name \(line 1\): the tag !!python/name:os\.system"),
    "unknown-tag": ("seed: 1\nname: !foo x\n", r"name \(line 2\): the tag !foo is not allowed: nnrun knows only"),
    "self-reference": ("name: x\nmodel: &m {layers: *m}\n", r"model\.layers \(line 2\): an alias .* containing itself"),
    "merge-self-reference": ("a: &a {<<: *a}\n", r"a\.<< \(line 1\): an alias .* containing itself"),
    "complex-key-list": ("? [a, b]\n: 1\n", r"line 1: a key that is a list .*keys must be plain names"),
    "complex-key-map": ("name: x\n{a: 1}: 2\n", r"line 2: a key that is a mapping"),
    "5000-digit-int": ("seed: " + "7" * 5000 + "\n", r"seed \(line 1\): an integer of 5,000 characters"),
    "5000-deep-flow": ("name: " + "[" * 5000 + "]" * 5000 + "\n", r"line 1: nested deeper than 100 levels"),
    "deep-block": ("".join("  " * i + f"k{i}:\n" for i in range(150)), r"line 100: nested deeper than 100 levels"),
    "deep-through-aliases": (
        "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 150)),
        r"a99\.0\.0\.0\.{4}\(94 more\)\.{4}0\.0 \(line 1\): nested deeper than 100 levels \(through aliases\)",
    ),
    "control-character": ("name: a\x07b\n", r"line 1: not valid YAML: special characters are not allowed"),
    "two-documents": ("name: a\n---\nname: b\n", r"line 2: not valid YAML: expected a single document"),
}


@pytest.mark.parametrize(("text", "message"), list(YAML_ATTACKS.values()), ids=list(YAML_ATTACKS))
def test_hostile_yaml_is_a_config_error_naming_the_file_and_key(tmp_path, text, message):
    config = tmp_path / "evil.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=r"evil\.yaml: " + message):
        load_config(config)


def test_the_billion_laughs_is_refused_quickly_and_in_little_memory():
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match=r"an alias bomb\?"):
            parse_yaml(LAUGHS, "laughs.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20  # the unbounded walker took > 6 GB


def test_a_config_over_1_mb_is_refused_before_parsing(tmp_path):
    config = tmp_path / "huge.yaml"
    config.write_text("name: x\nnotes: '" + "x" * 1_000_000 + "'\n")
    with pytest.raises(
        ConfigError,
        match=r"huge\.yaml: the file is larger than 1 MB, the most nnrun reads here \(a config is a few KB\)",
    ):
        load_config(config)
    with pytest.raises(ConfigError, match=r"<config>: the file is larger than 1 MB"):
        load_raw(text="a: " + "x" * 1_000_001)


def test_aliases_below_the_limit_and_merge_keys_still_work_and_keep_their_lines(tmp_path):
    config = tmp_path / "ok.yaml"
    config.write_text(
        "name: ok\n"
        "data: &d {dataset: blobs, n_samples: 60}\n"
        "model:\n"
        "  layers:\n"
        "    - dense: &units {units: 3, activation: softmax}\n"
        "train:\n"
        "  <<: {loss: sparse_categorical_crossentropy}\n"
        "  epochs: 1\n"
    )
    data, lines, _ = load_raw(config)
    assert data["data"] == {"dataset": "blobs", "n_samples": 60}
    assert data["train"] == {"loss": "sparse_categorical_crossentropy", "epochs": 1}
    assert lines[("model", "layers", 0, "dense", "units")] == 5 and lines[("train", "epochs")] == 8
    config.write_text(config.read_text().replace("epochs: 1", "epochs: -1"))
    with pytest.raises(ConfigError, match=r"train\.epochs \(line 8\)"):
        load_config(config)


def test_duplicate_keys_are_still_reported(tmp_path):
    config = tmp_path / "dup.yaml"
    config.write_text(BASE + "seed: 2\n")
    with pytest.raises(ConfigError, match=r"seed \(line 11\): duplicate key \(first given on line 2\)"):
        load_config(config)


def test_a_config_is_parsed_once_by_the_bounded_parser(tmp_path, monkeypatch):
    config = tmp_path / "base.yaml"
    config.write_text(BASE)

    def forbidden(*args, **kwargs):
        raise AssertionError("a second, unbounded parse")

    for name in ("load", "safe_load", "compose", "full_load", "unsafe_load"):
        monkeypatch.setattr(yaml, name, forbidden)
    assert load_config(config).name == "hostile"


def test_a_sweep_folders_sweep_yaml_is_read_within_the_same_limits(tmp_path):
    from nnrun.sweep.plan import plan_from_sweep_folder

    (tmp_path / "sweep.yaml").write_text(LAUGHS)
    with pytest.raises(ConfigError, match=r"not a sweep folder: cannot read its sweep\.yaml \(.*an alias bomb\?"):
        plan_from_sweep_folder(tmp_path)
    (tmp_path / "sweep.yaml").write_text("config: !!python/name:os.system\n")
    with pytest.raises(ConfigError, match=r"the tag !!python/name:os\.system is not allowed"):
        plan_from_sweep_folder(tmp_path)


LAUGHS_FLOW = "{" + ", ".join(line.replace("\n", "") for line in LAUGHS.splitlines()) + "}"


def test_set_and_param_values_are_parsed_within_the_same_limits(tmp_path):
    from nnrun.config.load import parse_override
    from nnrun.sweep.spec import parse_param

    with pytest.raises(ConfigError, match=r"--set: name: the value '\{a: &a .*\.\.\.': .*an alias bomb\?"):
        parse_override("name=" + LAUGHS_FLOW)
    with pytest.raises(ConfigError, match=r"--param: seed: the value '!!python/name:os\.system': the tag"):
        parse_param("seed=1,!!python/name:os.system")
    with pytest.raises(ConfigError, match=r"--set: name: the value '\[1, !foo 2\]': item 1: the tag !foo"):
        parse_override("name=[1, !foo 2]")
    assert parse_override("name=réseau-神经") == (["name"], "réseau-神经")
    config = tmp_path / "c.yaml"
    config.write_text(BASE)
    result = invoke("check", config, "--set", "name=" + LAUGHS_FLOW)
    assert result.exit_code == 2 and "an alias bomb?" in result.output


def test_load_yaml_file_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    with deadline(20), pytest.raises(ConfigError, match=r"pipe\.yaml: the file is not a regular file"):
        load_yaml_file(tmp_path / "pipe.yaml")


@pytest.mark.slow
def test_billion_laughs_and_python_tags_in_a_real_process(tmp_path):
    (tmp_path / "laughs.yaml").write_text(LAUGHS)
    proc = run_nnrun("train", "laughs.yaml", "--runs-dir", "runs", cwd=tmp_path, timeout=60)
    assert_refused(proc, "laughs.yaml", "an alias bomb?")
    (tmp_path / "apply.yaml").write_text(
        BASE.replace("name: hostile", 'name: !!python/object/apply:os.system ["touch PWNED"]')
    )
    proc = run_nnrun("train", "apply.yaml", "--runs-dir", "runs", cwd=tmp_path)
    assert_refused(proc, "apply.yaml", "name (line 1)", "!!python/object/apply:os.system")
    (tmp_path / "deep.yaml").write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    assert_refused(run_nnrun("check", "deep.yaml", cwd=tmp_path), "deep.yaml", "nested deeper than 100 levels")
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "runs").exists()


# --- data files: headers before data, regular files only, values NumPy would mangle -------------------


def write_npz_bomb(path: Path, rows: int) -> None:
    """An .npz whose x (rows × 4 float64 zeros) and y (rows uint8) deflate ~1000:1, written in chunks."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, shape, descr in (("x", (rows, 4), "<f8"), ("y", (rows,), "|u1")):
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {"descr": descr, "fortran_order": False, "shape": shape})
                left = rows * np.dtype(descr).itemsize * (4 if key == "x" else 1)
                chunk = bytes(2**24)
                while left:
                    member.write(chunk[: min(left, len(chunk))])
                    left -= min(left, len(chunk))


@pytest.fixture(scope="module")
def npz_bomb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    write_npz_bomb(path, rows=2**25)  # x inflates to 1 GiB
    return path


def test_a_1_mb_npz_inflating_to_1_gb_is_refused_from_its_headers(npz_bomb):
    assert npz_bomb.stat().st_size < 1.5e6
    tracemalloc.start()
    try:
        with pytest.raises(
            DataError,
            match=r"bomb\.npz: array 'x': its header \(shape \(33554432, 4\) of float64\) "
            r"would inflate 1\.\d+ MB of compressed data to 1\.07 GB .* decompression bomb, nothing "
            r"was read",
        ):
            load_dataset(path=str(npz_bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def write_npy_member(zf: zipfile.ZipFile, key: str, shape: tuple[int, ...], descr: str, data: bytes) -> None:
    with zf.open(f"{key}.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, {"descr": descr, "fortran_order": False, "shape": shape})
        member.write(data)


def test_a_header_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        write_npy_member(zf, "x", (10**6, 10**6), "<f8", bytes(80))
        write_npy_member(zf, "y", (10,), "<f8", bytes(80))
    with pytest.raises(
        DataError,
        match=r"huge\.npz: array 'x': its header \(shape \(1000000, 1000000\) of float64\) declares 8 TB of data, "
        rf"more than the limit of 4\.29 GB; nothing was read\. .*\${MAX_DATA_BYTES_ENV}",
    ):
        load_dataset(path=str(path))


def test_a_header_that_disagrees_with_the_stored_data_is_refused(tmp_path):
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as zf:
        write_npy_member(zf, "x", (1000, 4), "<f8", bytes(80))
        write_npy_member(zf, "y", (10,), "<f8", bytes(80))
    with pytest.raises(
        DataError,
        match=r"liar\.npz: array 'x': its header declares shape \(1000, 4\) of float64 \(32000 bytes\), but the "
        r"archive holds 80 bytes of data",
    ):
        load_dataset(path=str(path))


def test_the_data_size_limit_can_be_set(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((100, 4)), y=np.zeros(100))
    monkeypatch.setenv(MAX_DATA_BYTES_ENV, "1000")
    with pytest.raises(
        DataError,
        match=r"d\.npz: array 'x': its header .* declares 3\.2 KB of data, more than the "
        r"limit of 1 KB",
    ):
        load_dataset(path=str(path))
    monkeypatch.setenv(MAX_DATA_BYTES_ENV, "lots")
    with pytest.raises(
        DataError,
        match=rf"\${MAX_DATA_BYTES_ENV} must be a positive number of bytes, e\.g\. 8e9\. "
        r"Received: 'lots'",
    ):
        load_dataset(path=str(path))
    monkeypatch.setenv(MAX_DATA_BYTES_ENV, "1e6")
    assert load_dataset(path=str(path)).n_train == 100


def test_a_truncated_npz_names_the_file(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez(path, x=np.zeros((50, 3)), y=np.zeros(50))
    path.write_bytes(path.read_bytes()[:700])
    with pytest.raises(DataError, match=r"cut\.npz: cannot be read as an \.npz file \(.*is it truncated"):
        load_dataset(path=str(path))


def test_a_corrupt_compressed_member_names_the_array(tmp_path):
    path = tmp_path / "corrupt.npz"
    rng = np.random.default_rng(0)
    np.savez_compressed(path, x=rng.integers(0, 3, (2000, 3)), y=np.zeros(2000))
    data = bytearray(path.read_bytes())
    data[400:420] = bytes(20)  # inside x's deflated data
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"corrupt\.npz: array 'x' (cannot be read|has no valid \.npy header) \("):
        load_dataset(path=str(path))


def test_object_arrays_are_never_unpickled(tmp_path, monkeypatch):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([[{"a": 1}]] * 3, dtype=object), y=np.zeros(3))

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    with pytest.raises(DataError, match=r"obj\.npz: array 'x' holds Python objects \(dtype object\).*never unpickles"):
        load_dataset(path=str(path))


@pytest.mark.parametrize("key", ["x", "y"])
def test_complex_arrays_are_refused_not_truncated_to_real(tmp_path, key):
    path = tmp_path / "complex.npz"
    arrays = {"x": np.ones((6, 2)), "y": np.arange(6) % 2}
    arrays[key] = arrays[key] * (1 + 2j)
    np.savez(path, **arrays)
    with pytest.raises(
        DataError,
        match=rf"complex\.npz: array '{key}' holds complex numbers \(dtype complex128\)\. "
        r"nnrun trains on real numbers and never drops an imaginary part",
    ):
        load_dataset(path=str(path))


def test_a_csv_value_beyond_float32_names_its_row_and_column(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,label\n1,2,0\n1,1e39,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            DataError,
            match=r"big\.csv, line 3, column 'b': '1e39' exceeds float32's range "
            r"\(±3\.403e\+38\), and nnrun trains in float32\. Rescale the column\.",
        ):
            load_dataset(path=str(path))


def test_an_npz_value_beyond_float32_names_its_position(tmp_path):
    path = tmp_path / "big.npz"
    x = np.zeros((4, 3))
    x[2, 1] = -1e39
    np.savez(path, x=x, y=np.arange(4) % 2)
    with pytest.raises(
        DataError,
        match=r"big\.npz: x_train holds 1 values beyond float32's range .* e\.g\. -1e\+39 "
        r"at row 2, column 1",
    ):
        load_dataset(path=str(path))


@pytest.mark.parametrize("kind", ["csv", "npz", "idx-folder"])
def test_a_named_pipe_is_refused_instead_of_blocking(tmp_path, kind):
    if kind == "idx-folder":
        folder = tmp_path / "mnist"
        folder.mkdir()
        os.mkfifo(folder / "train-images-idx3-ubyte")
        (folder / "train-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01\0\0\0\0")
        path, message = folder, r"train-images-idx3-ubyte: is a named pipe \(FIFO\), not a regular IDX file"
    else:
        path = tmp_path / f"pipe.{kind}"
        os.mkfifo(path)
        message = rf"pipe\.{kind}: is a named pipe \(FIFO\), not a regular file"
    with deadline(20), pytest.raises(DataError, match=message):
        load_dataset(path=str(path))


def write_idx_header(path: Path, code: int, shape: tuple[int, ...], data: bytes = b"", gz: bool = False) -> Path:
    raw = bytes([0, 0, code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape) + data
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def test_an_idx_file_with_255_dimensions(tmp_path):
    path = write_idx_header(tmp_path / "many-idx", 0x08, (1,) * 255, b"\0")
    with pytest.raises(DataError, match=r"many-idx: the IDX header declares 255 dimensions; nnrun reads 1 to 16"):
        read_idx(path)


def test_a_gzipped_idx_bomb_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2**13, 2**7, 2**7)))
        chunk = bytes(2**24)
        for _ in range(2**27 // 2**24):  # 128 MiB of zeros, ~130 KB on disk
            f.write(chunk)
    tracemalloc.start()
    try:
        with pytest.raises(
            DataError,
            match=r"bomb-idx3-ubyte\.gz: the IDX header \(shape \(8192, 128, 128\) of "
            r"uint8\) would inflate .* decompression bomb, nothing was read",
        ):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


def test_a_gzipped_idx_header_declaring_too_much_is_refused(tmp_path):
    path = write_idx_header(tmp_path / "huge.gz", 0x0E, (2**31, 2**31), bytes(64), gz=True)
    with pytest.raises(
        DataError,
        match=r"huge\.gz: the IDX header \(shape \(2147483648, 2147483648\) of float64\) "
        r"declares 3\.69e\+07 TB of data, more than the limit",
    ):
        read_idx(path)


def test_a_gzipped_idx_with_more_data_than_declared_is_read_with_a_bounded_read(tmp_path):
    path = write_idx_header(tmp_path / "long.gz", 0x08, (4,), bytes(10**6), gz=True)
    with pytest.raises(
        DataError,
        match=r"long\.gz: IDX file has extra bytes after the data: .* \(4 bytes of data\), "
        r"but more than 4 bytes follow the header",
    ):
        read_idx(path)


def test_a_path_too_long_is_named(tmp_path):
    path = tmp_path / ("d" * 300 + ".csv")
    with pytest.raises(DataError, match=r"d{300}\.csv: the path is too long for this system"):
        load_dataset(path=str(path))
    with pytest.raises(DataError, match=r"the path is too long for this system"):
        read_idx(path)


def test_a_path_through_a_file_is_named(tmp_path):
    (tmp_path / "file.csv").write_text("a,label\n1,0\n")
    with pytest.raises(DataError, match=r"file\.csv/x\.csv: a part of the path is a file, not a folder"):
        load_dataset(path=str(tmp_path / "file.csv" / "x.csv"))


@pytest.mark.parametrize("kind", ["csv", "idx-folder"])
def test_a_file_in_an_unreadable_folder(tmp_path, kind):
    locked = tmp_path / "locked"
    locked.mkdir()
    if kind == "csv":
        (locked / "d.csv").write_text("a,label\n1,0\n2,1\n")
        path, shown = locked / "d.csv", r"d\.csv"
    else:
        (locked / "train-images-idx3-ubyte").write_bytes(b"")
        path, shown = locked, r"locked"
    locked.chmod(0)
    try:
        text = without_root_powers(error_text(lambda: load_dataset(path=str(path))))
    finally:
        locked.chmod(0o700)
    assert text.startswith("DataError: ") and "permission denied" in text, text
    assert re.search(shown + r": permission denied", text), text


def test_an_unreadable_data_file_through_the_cli_exits_2_and_writes_nothing(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "d.csv").write_text("a,label\n1,0\n2,1\n")
    config = data_config(tmp_path, locked / "d.csv")
    locked.chmod(0)

    def train() -> str:
        result = invoke("train", config, "--runs-dir", tmp_path / "runs")
        return f"{result.exit_code} {result.output}"

    try:
        text = without_root_powers(train)
    finally:
        locked.chmod(0o700)
    assert text.startswith("2 ") and "d.csv: permission denied" in text, text
    assert not (tmp_path / "runs").exists()


# --- NumPy warnings become nnrun messages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "options", "message"),
    [
        (np.ones((4, 2)) * (1 + 1j), {"scale": True}, r"Casting complex values to real discards the imaginary part"),
        (np.full((4, 2), 1e200) * np.arange(1, 5)[:, None], {"standardize": True}, r"overflow encountered"),
    ],
    ids=["complex-cast", "overflow"],
)
def test_numpy_warnings_in_preprocessing_become_data_errors(x, options, message):
    ds = Dataset("odd", x, np.arange(4) % 2, None, None, "classification", 2, "made in code")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(
            DataError, match=rf"odd: preprocessing failed: NumPy reported '{message}.*'\. The data hold"
        ):
            preprocess(ds, **options)
    assert not [w for w in caught if issubclass(w.category, (RuntimeWarning, np.exceptions.ComplexWarning))]


@pytest.mark.slow
def test_data_attacks_in_a_real_process(tmp_path, npz_bomb):
    """Each exits 2 naming the file, prints no traceback or NumPy warning, and creates no runs folder."""
    (tmp_path / "big.csv").write_text("a,b,label\n1,2,0\n1,1e39,1\n" + "1,2,0\n" * 10)
    np.savez(tmp_path / "complex.npz", x=np.ones((20, 2)) * (1 + 2j), y=np.arange(20) % 2)
    os.mkfifo(tmp_path / "pipe.csv")
    cases = {
        "big.csv": "line 3, column 'b': '1e39' exceeds float32's range",
        "complex.npz": "array 'x' holds complex numbers",
        "pipe.csv": "is a named pipe (FIFO), not a regular file",
        str(npz_bomb): "decompression bomb",
        "d" * 300 + ".npz": "the path is too long",
    }
    for data, message in cases.items():
        config = data_config(tmp_path, data)
        proc = run_nnrun("train", config, "--runs-dir", "runs", cwd=tmp_path, timeout=60)
        assert_refused(proc, Path(data).name[:40], message)
    assert not (tmp_path / "runs").exists()


# --- nnrun schema --out --------------------------------------------------------------------------


def test_schema_out_to_a_folder_or_through_a_file_exits_2(tmp_path):
    result = invoke("schema", "--out", tmp_path)
    assert result.exit_code == 2, result.output
    assert f"--out {tmp_path}: is a folder; give a file name, e.g. --out {tmp_path / 'nnrun.schema.json'}" in (
        result.output
    )
    (tmp_path / "file").write_text("")
    result = invoke("schema", "--out", tmp_path / "file" / "schema.json")
    assert result.exit_code == 2 and "cannot write the schema: a part of the path is a file" in result.output
    assert (tmp_path / "file").read_text() == ""


def test_schema_out_to_a_read_only_path_exits_2(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)

    def write() -> str:
        result = invoke("schema", "--out", folder / "schema.json")
        return f"{result.exit_code} {result.output}"

    try:
        text = without_root_powers(write)
    finally:
        folder.chmod(0o755)
    assert text.startswith("2 ") and "cannot write the schema: permission denied" in text, text
    assert not list(folder.iterdir())


@pytest.mark.slow
def test_schema_out_to_a_folder_in_a_real_process(tmp_path):
    proc = run_nnrun("schema", "--out", tmp_path, cwd=tmp_path)
    assert_refused(proc, f"--out {tmp_path}: is a folder")
    assert not list(tmp_path.iterdir())


# --- names in any script -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("réseau-神经", "réseau-神经"),
        ("net-🧠", "net"),
        ("नेटवर्क v2", "नेटवर्क-v2"),
        ("cafe\u0301", "café"),  # NFD becomes NFC
        ("lr=0.1,act=relu", "lr=0.1,act=relu"),
        ("../../etc/passwd", "etc-passwd"),
        ("a\\b:c*d?", "a-b-c-d"),
        ("🧠🧠", "run"),
    ],
)
def test_slug_keeps_letters_of_any_script(name, folder):
    assert slug(name) == folder


def test_slug_fits_a_folder_name_in_utf8_bytes():
    long = slug("神" * 200)
    assert len(long.encode("utf-8")) <= 150 and set(long) == {"神"}


@pytest.mark.parametrize("name", ["net-🧠", "réseau-神经"])
def test_any_unicode_name_is_kept(tmp_path, name):
    config = tmp_path / "c.yaml"
    config.write_text(BASE)
    result = invoke("train", config, "--name", name, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.endswith("-" + slug(name))
    assert yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))["name"] == name


def test_sweep_values_with_emoji_are_written_as_they_are(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(BASE)
    result = invoke("sweep", config, "--param", "name=net-🧠,réseau-神经", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    (sweep,) = (tmp_path / "runs").iterdir()
    trials = sorted((sweep / "trials").iterdir())
    names = [yaml.safe_load((t / "config.yaml").read_text(encoding="utf-8"))["name"] for t in trials]
    assert names == ["net-🧠", "réseau-神经"]
    assert trials[1].name.endswith("réseau-神经")
    summary = (sweep / "summary.csv").read_text(encoding="utf-8")
    assert "net-🧠" in summary and "réseau-神经" in summary and "\\ud83e" not in summary


@pytest.mark.slow
def test_an_emoji_name_in_a_real_process(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(BASE)
    proc = run_nnrun("train", config, "--name", "net-🧠", "--runs-dir", "runs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))["name"] == "net-🧠"
