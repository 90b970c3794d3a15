"""nnrun.data: every named dataset, every file format, the splits, the errors and preprocess.

Real MNIST and Fashion-MNIST are replaced by small fake loaders: no test reads the network or a cache.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import DATASET_NAMES, Dataset, load_dataset, preprocess
from nnrun.data.synthetic import SYNTHETIC
from nnrun.datasets import fashion_mnist, mnist, mnist_sample
from nnrun.errors import DataError

CLASSIFIERS = ["xor", "moons", "circles", "spirals", "blobs"]


def rows(x: np.ndarray) -> list[tuple]:
    """The rows of x as sorted tuples: compares two arrays as sets of rows, whatever their order."""
    return sorted(map(tuple, x.reshape(len(x), -1).tolist()))


def write_idx(path: Path, values: np.ndarray, gz: bool) -> None:
    """An IDX file as MNIST's are written: magic 00 00 08 ndim, big-endian sizes, then uint8 values."""
    data = bytes([0, 0, 0x08, values.ndim]) + np.array(values.shape, ">u4").tobytes() + values.tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def fake_loader(n_train: int = 60, n_test: int = 20):
    """A stand-in for mnist.load_data(): uint8 images and uint8 labels 0-9, in a fixed order."""
    rng = np.random.default_rng(7)

    def load_data():
        return (
            (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), np.arange(n_train, dtype=np.uint8) % 10),
            (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), np.arange(n_test, dtype=np.uint8) % 10),
        )

    return load_data


# -- names -----------------------------------------------------------------------------------------


def test_dataset_names():
    assert DATASET_NAMES == (
        "mnist_sample",
        "mnist",
        "fashion_mnist",
        "xor",
        "moons",
        "circles",
        "spirals",
        "blobs",
        "regression",
    )


def test_unknown_name_lists_the_names_and_the_closest():
    with pytest.raises(
        DataError, match=r"Unknown dataset 'moon'\. Did you mean 'moons'\? Known datasets: mnist_sample, "
    ):
        load_dataset("moon")


def test_names_are_normalised_like_the_registries(monkeypatch):
    monkeypatch.setattr(fashion_mnist, "load_data", fake_loader())
    assert load_dataset("Fashion-MNIST").name == "fashion_mnist"
    assert load_dataset("MOONS").name == "moons"


@pytest.mark.parametrize(
    ("kwargs", "received"),
    [({}, "dataset=None, path=None"), ({"dataset": "xor", "path": "d.csv"}, "dataset='xor', path='d.csv'")],
)
def test_exactly_one_of_dataset_and_path(kwargs, received):
    with pytest.raises(DataError, match=rf"Give exactly one of dataset .* Received: {received}"):
        load_dataset(**kwargs)


# -- real datasets ---------------------------------------------------------------------------------


def test_mnist_sample_is_the_loaders_split_with_int64_labels():
    ds = load_dataset("mnist_sample")
    (x_train, _), (_, y_test) = mnist_sample.load_data()
    assert ds.x_train.shape == (4000, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64 and ds.y_test.dtype == np.int64
    np.testing.assert_array_equal(ds.x_train, x_train)  # the loader's (shuffled) order is kept
    np.testing.assert_array_equal(ds.y_test, y_test)
    assert (ds.task, ds.n_classes) == ("classification", 10)
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert ds.source == "bundled MNIST sample (4000 train / 1000 test)"


def test_mnist_sample_training_rows_are_not_sorted_by_label():
    y = load_dataset("mnist_sample").y_train
    assert len(np.unique(y[-400:])) == 10  # Keras's validation_split takes the last rows: all classes there


def test_real_dataset_keeps_its_test_set_and_ignores_test_split():
    ds = load_dataset("mnist_sample", test_split=0.2)
    assert (ds.n_train, ds.n_test) == (4000, 1000)
    assert ds.source == "bundled MNIST sample (4000 train / 1000 test; own test set, test_split 0.2 ignored)"


@pytest.mark.parametrize(
    ("name", "module", "title"), [("mnist", mnist, "MNIST"), ("fashion_mnist", fashion_mnist, "Fashion-MNIST")]
)
def test_full_datasets_go_through_their_loaders(monkeypatch, name, module, title):
    monkeypatch.setattr(module, "load_data", fake_loader(60, 20))
    ds = load_dataset(name)
    (x_train, y_train), _ = fake_loader(60, 20)()
    np.testing.assert_array_equal(ds.x_train, x_train)
    np.testing.assert_array_equal(ds.y_train, y_train)
    assert ds.y_train.dtype == np.int64 and ds.n_classes == 10
    assert ds.source == f"{title} (60 train / 20 test)"


def test_a_loader_error_propagates(monkeypatch):
    def offline():
        raise DataError("Cannot download mnist.npz (offline?).")

    monkeypatch.setattr(mnist, "load_data", offline)
    with pytest.raises(DataError, match=r"Cannot download mnist\.npz \(offline\?\)"):
        load_dataset("mnist")


def test_limit_on_a_real_dataset_shuffles_then_keeps_the_first_rows():
    full = load_dataset("mnist_sample")
    a, b, c = (load_dataset("mnist_sample", limit=300, seed=s) for s in (1, 1, 2))
    assert a.n_train == 300 and a.n_test == 1000
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.y_train, c.y_train)
    assert not np.array_equal(a.y_train, full.y_train[:300])  # shuffled, not the loader's first rows
    assert set(rows(a.x_train)) <= set(rows(full.x_train))
    assert (
        a.source == "bundled MNIST sample (300 train / 1000 test; shuffled with seed 1; limit 300 of 4000 train rows)"
    )


@pytest.mark.parametrize("name", ["mnist_sample", "mnist"])
def test_real_datasets_take_no_synthetic_parameters(name):
    with pytest.raises(
        DataError,
        match=rf"dataset '{name}' does not take n_samples, noise: .*synthetic datasets only\. Remove n_samples, noise\.",
    ):
        load_dataset(name, n_samples=10, noise=0.2)


# -- synthetic datasets ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_synthetic_defaults_shapes_and_dtypes(name):
    ds = load_dataset(name)
    assert ds.x_train.dtype == np.float32
    assert ds.x_test is None and ds.y_test is None
    if name == "regression":
        assert ds.x_train.shape == (1000, 4)
        assert ds.y_train.shape == (1000, 1) and ds.y_train.dtype == np.float32
        assert (ds.task, ds.n_classes) == ("regression", None)
    else:
        assert ds.x_train.shape == (1000, 2)
        assert ds.y_train.shape == (1000,) and ds.y_train.dtype == np.int64
        assert ds.task == "classification"
        assert ds.n_classes == (3 if name == "blobs" else 2)


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_synthetic_sets_are_deterministic_from_the_seed(name):
    a, b, c = (load_dataset(name, n_samples=50, seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_synthetic_sets_use_no_global_random_state():
    np.random.seed(0)
    a = load_dataset("moons", seed=1)
    np.random.seed(99)
    np.random.rand(10)
    b = load_dataset("moons", seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)


@pytest.mark.parametrize(
    ("name", "kwargs", "counts"),
    [
        ("xor", {"n_samples": 101}, [51, 50]),
        ("moons", {}, [500, 500]),
        ("circles", {}, [500, 500]),
        ("spirals", {"n_classes": 3}, [334, 333, 333]),
        ("blobs", {"n_classes": 4, "n_features": 5}, [250] * 4),
    ],
)
def test_synthetic_classes_are_balanced_and_shuffled(name, kwargs, counts):
    ds = load_dataset(name, **kwargs)
    assert np.bincount(ds.y_train).tolist() == counts
    assert ds.n_classes == len(counts)
    assert ds.x_train.shape[1] == kwargs.get("n_features", 2)
    tail = ds.y_train[-len(ds.y_train) // 5 :]
    assert len(np.unique(tail)) == len(counts)  # every class in the last 20%: rows are shuffled


def test_xor_labels_follow_the_sign_of_the_product():
    ds = load_dataset("xor", noise=0.0)
    np.testing.assert_array_equal(ds.y_train, (ds.x_train[:, 0] * ds.x_train[:, 1] > 0).astype(np.int64))


def test_moons_lie_on_two_half_circles():
    ds = load_dataset("moons", noise=0.0)
    x, y = ds.x_train.astype(np.float64), ds.y_train
    centre = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(x - centre, axis=1), 1.0, atol=1e-6)
    assert (x[y == 0, 1] >= -1e-6).all() and (x[y == 1, 1] <= 0.5 + 1e-6).all()  # upper and lower halves


def test_circles_have_radii_one_and_one_half():
    ds = load_dataset("circles", noise=0.0)
    radius = np.linalg.norm(ds.x_train, axis=1)
    np.testing.assert_allclose(radius, np.where(ds.y_train == 0, 1.0, 0.5), atol=1e-6)


def test_spirals_wind_outwards_within_the_unit_disc():
    ds = load_dataset("spirals", noise=0.0, n_classes=3, n_samples=300)
    radius = np.linalg.norm(ds.x_train, axis=1)
    assert radius.min() == pytest.approx(0.1, abs=1e-6) and radius.max() == pytest.approx(1.0, abs=1e-6)
    # arm k is arm 0 turned by 2πk/3: turning each arm back (and ordering it by radius) gives arm 0
    arms = []
    for k in range(3):
        a = -2 * np.pi * k / 3
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        arm = ds.x_train[ds.y_train == k].astype(np.float64) @ rot.T
        arms.append(arm[np.argsort(np.linalg.norm(arm, axis=1))])
    np.testing.assert_allclose(arms[1], arms[0], atol=1e-6)
    np.testing.assert_allclose(arms[2], arms[0], atol=1e-6)


def test_blobs_without_noise_sit_on_one_centre_per_class():
    ds = load_dataset("blobs", noise=0.0, n_features=3, n_classes=4, n_samples=40)
    for k in range(4):
        assert len(np.unique(ds.x_train[ds.y_train == k], axis=0)) == 1
    assert np.abs(ds.x_train).max() <= 1


def test_regression_target_is_the_documented_function():
    ds = load_dataset("regression", noise=0.0, n_features=3, n_samples=200)
    x = ds.x_train.astype(np.float64)
    expected = np.sin(np.pi * x + np.arange(3)).sum(axis=1) / np.sqrt(3) + x[:, 0] * x[:, 2]
    np.testing.assert_allclose(ds.y_train[:, 0], expected, atol=1e-5)
    noisy = load_dataset("regression", noise=0.5, n_features=3, n_samples=200)
    np.testing.assert_array_equal(noisy.x_train, ds.x_train)  # noise changes y only
    assert 0.4 < np.std(noisy.y_train - ds.y_train) < 0.6


def test_synthetic_source_names_every_parameter():
    ds = load_dataset("blobs", n_classes=4, seed=3)
    assert (
        ds.source == "synthetic blobs: 1000 samples, noise 0.1, 2 features, 4 classes (1000 train, no test set; seed 3)"
    )


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        (
            "moons",
            {"n_classes": 3},
            r"dataset 'moons' does not take n_classes: it takes n_samples, noise \(it always has 2 classes\)\. Remove n_classes\.",
        ),
        ("xor", {"n_features": 3}, r"dataset 'xor' does not take n_features: it takes n_samples, noise"),
        (
            "spirals",
            {"n_features": 3},
            r"dataset 'spirals' does not take n_features: it takes n_samples, noise, n_classes\.",
        ),
        (
            "regression",
            {"n_classes": 2},
            r"dataset 'regression' does not take n_classes: it takes n_samples, noise, n_features\.",
        ),
        ("moons", {"noise": -0.1}, r"dataset 'moons': noise must be a number >= 0\. Received: noise=-0\.1"),
        ("blobs", {"n_classes": 1}, r"dataset 'blobs': n_classes must be an integer >= 2\. Received: n_classes=1"),
        (
            "blobs",
            {"n_features": 0},
            r"dataset 'blobs': n_features must be a positive integer\. Received: n_features=0",
        ),
        ("xor", {"n_samples": True}, r"dataset 'xor': n_samples must be a positive integer\. Received: n_samples=True"),
        ("xor", {"n_samples": 12.5}, r"n_samples must be a positive integer\. Received: n_samples=12\.5"),
        (
            "spirals",
            {"n_samples": 3, "n_classes": 5},
            r"dataset 'spirals': n_samples=3 is fewer than its 5 classes; every class needs a sample\. Raise n_samples\.",
        ),
    ],
)
def test_synthetic_parameter_errors(name, kwargs, message):
    with pytest.raises(DataError, match=message):
        load_dataset(name, **kwargs)


# -- test_split, shuffling and limit ---------------------------------------------------------------


def test_test_split_is_stratified_and_partitions_the_rows():
    full = load_dataset("blobs", seed=4)
    ds = load_dataset("blobs", seed=4, test_split=0.2)
    # 334/333/333 rows: shares 66.8/66.6/66.6 floor to 66 each; the 2 rows still owed go to the largest remainders
    assert np.bincount(ds.y_test).tolist() == [67, 67, 66]
    assert np.bincount(ds.y_train).tolist() == [267, 266, 267]
    assert rows(np.concatenate([ds.x_train, ds.x_test])) == rows(full.x_train)
    assert not set(rows(ds.x_train)) & set(rows(ds.x_test))
    assert ds.source.endswith("(800 train / 200 test; stratified test_split 0.2; seed 4)")


def test_test_split_is_deterministic_from_the_seed():
    a, b, c = (load_dataset("moons", test_split=0.3, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.y_test, c.y_test)
    assert np.bincount(a.y_test).tolist() == [150, 150]


def test_test_split_for_regression_is_a_shuffled_holdout():
    ds = load_dataset("regression", n_samples=100, test_split=0.25)
    assert (ds.n_train, ds.n_test) == (75, 25)
    assert "(75 train / 25 test; test_split 0.25; seed 0)" in ds.source


@pytest.mark.parametrize(
    ("n", "split", "counts"),
    [(100, 0.004, "leaves 100 train and 0 test rows"), (10, 0.99, "leaves 0 train and 10 test rows")],
)
def test_a_split_that_empties_a_part_is_an_error(n, split, counts):
    with pytest.raises(
        DataError,
        match=rf"regression: test_split={split} of {n} rows {counts}; both need at least one\. Choose a test_split in ",
    ):
        load_dataset("regression", n_samples=n, test_split=split)


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.2", True, float("nan")])
def test_test_split_must_be_a_fraction(bad):
    with pytest.raises(DataError, match=r"test_split must be a number in \[0, 1\)\. Received: test_split="):
        load_dataset("xor", test_split=bad)


def test_limit_keeps_the_first_shuffled_training_rows_and_no_test_rows():
    full = load_dataset("moons", test_split=0.2)
    ds = load_dataset("moons", test_split=0.2, limit=100)
    np.testing.assert_array_equal(ds.x_train, full.x_train[:100])
    np.testing.assert_array_equal(ds.x_test, full.x_test)
    assert "limit 100 of 800 train rows" in ds.source
    assert load_dataset("moons", limit=5000).n_train == 1000  # more than there is: all of it


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_limit_must_be_a_positive_integer(bad):
    with pytest.raises(DataError, match=r"limit must be a positive integer, or None for all rows\. Received: limit="):
        load_dataset("xor", limit=bad)


def test_seed_must_be_a_non_negative_integer():
    with pytest.raises(DataError, match=r"seed must be a non-negative integer\. Received: seed=-1"):
        load_dataset("xor", seed=-1)


# -- .npz files ------------------------------------------------------------------------------------


def sorted_xy(n: int = 40, classes: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Rows stored sorted by label, like the bundled sample: x[i] = (i, -i) so rows can be traced."""
    x = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float64)
    return x, np.repeat(np.arange(classes), n // classes)


def test_npz_x_y_is_shuffled_classification(tmp_path):
    x, y = sorted_xy()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    ds = load_dataset(path=str(tmp_path / "d.npz"))
    assert ds.name == str(tmp_path / "d.npz")
    assert (ds.task, ds.n_classes, ds.x_test) == ("classification", 4, None)
    assert ds.y_train.dtype == np.int64
    assert not np.array_equal(ds.y_train, y)  # shuffled ...
    np.testing.assert_array_equal(ds.y_train, y[ds.x_train[:, 0].astype(int)])  # ... with x and y together
    assert ds.source == f"NPZ file {tmp_path / 'd.npz'}, 4 classes (40 train, no test set; seed 0)"


def test_npz_with_a_test_set_keeps_it(tmp_path):
    x, y = sorted_xy()
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:8], y_test=y[:8])
    ds = load_dataset(path=str(tmp_path / "d.npz"), test_split=0.5)
    np.testing.assert_array_equal(ds.x_test, x[:8])  # the test set as stored
    assert rows(ds.x_train) == rows(x) and not np.array_equal(ds.x_train, x)
    limited = load_dataset(path=str(tmp_path / "d.npz"), limit=10)
    np.testing.assert_array_equal(limited.x_train, load_dataset(path=str(tmp_path / "d.npz")).x_train[:10])
    assert limited.source.endswith("(10 train / 8 test; shuffled with seed 0; limit 10 of 40 train rows)")
    assert ds.source.endswith("(40 train / 8 test; own test set, test_split 0.5 ignored; shuffled with seed 0)")


def test_npz_train_only_layout_is_split_when_asked(tmp_path):
    x, y = sorted_xy()
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    ds = load_dataset(path=str(tmp_path / "d.npz"), test_split=0.25)
    assert np.bincount(ds.y_test).tolist() == [3, 3, 2, 2]  # shares of 2.5 each: ties go to the lower classes


def test_npz_float_labels_are_regression(tmp_path):
    np.savez(tmp_path / "r.npz", x=np.ones((5, 3)), y=np.linspace(0, 1, 5))
    ds = load_dataset(path=str(tmp_path / "r.npz"))
    assert (ds.task, ds.n_classes, ds.y_train.dtype, ds.y_train.shape) == ("regression", None, np.float32, (5,))
    assert "regression targets" in ds.source


def test_one_hot_labels_become_class_indices(tmp_path):
    y = np.eye(5)[[0, 1, 2, 0, 1, 2]]  # class 3 and 4 unseen: n_classes is still the width
    np.savez(tmp_path / "h.npz", x=np.arange(6.0), y=y)
    ds = load_dataset(path=str(tmp_path / "h.npz"))
    assert (ds.task, ds.n_classes) == ("classification", 5)
    assert ds.x_train.shape == (6, 1)  # one feature per row
    np.testing.assert_array_equal(ds.y_train, y.argmax(axis=1)[ds.x_train[:, 0].astype(int)])


def test_integer_valued_float_column_labels_are_classes(tmp_path):
    np.savez(tmp_path / "c.npz", x=np.zeros((4, 2)), y=np.array([[0.0], [2.0], [1.0], [2.0]]))
    ds = load_dataset(path=str(tmp_path / "c.npz"))
    assert (ds.task, ds.n_classes, ds.y_train.shape, ds.y_train.dtype) == ("classification", 3, (4,), np.int64)


def test_multi_output_targets_are_regression(tmp_path):
    np.savez(tmp_path / "m.npz", x=np.zeros((4, 2)), y=np.array([[0, 2], [1, 1], [2, 0], [1, 1]]))
    ds = load_dataset(path=str(tmp_path / "m.npz"))
    assert (ds.task, ds.y_train.shape, ds.y_train.dtype) == ("regression", (4, 2), np.float32)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"x": np.zeros((3, 2)), "y_tst": np.zeros(3)},
            r"holds arrays \['x', 'y_tst'\]; expected 'x' and 'y', or 'x_train' and 'y_train' \(optionally with 'x_test' and 'y_test'\)\. 'y_tst' is not a known array name\. Did you mean 'y_test'\? Save the arrays under those names\.",
        ),
        (
            {"x_train": np.zeros((3, 2)), "y_train": np.zeros(3), "x_test": np.zeros((1, 2))},
            r"holds arrays \['x_test', 'x_train', 'y_train'\]; .* A test set needs both 'x_test' and 'y_test'\.",
        ),
        (
            {"x": np.zeros((3, 2)), "y": np.zeros(4)},
            r"x_train has 3 rows but y_train has 4; each sample needs one label\.",
        ),
        ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, r"the train set has no rows; expected at least one sample\."),
        (
            {"x": np.array(["a", "b"]), "y": np.zeros(2)},
            r"x_train has dtype <U1; expected numbers\. Convert it first\.",
        ),
        (
            {"x": np.array([[1.0], [np.nan]]), "y": np.zeros(2)},
            r"x_train holds 1 NaN or infinite values; remove or impute them\.",
        ),
        (
            {"x": np.zeros((3, 2)), "y": np.array([0, -1, 1])},
            r"the labels are whole numbers, so they are read as class indices, but they include -1; class indices must be 0 \.\. n_classes-1\.",
        ),
        (
            {"x_train": np.zeros((3, 2)), "y_train": np.zeros(3), "x_test": np.zeros((1, 3)), "y_test": np.zeros(1)},
            r"x_train rows have shape \(2,\) but x_test rows \(3,\); they must match\.",
        ),
        (
            {"x": np.zeros((3, 2)), "y": np.zeros((3, 2, 2))},
            r"labels of shape \(2, 2\) per row; expected one value per row",
        ),
    ],
)
def test_malformed_npz_files(tmp_path, arrays, message):
    file = tmp_path / "bad.npz"
    np.savez(file, **arrays)
    with pytest.raises(DataError, match=re.escape(str(file)) + ": " + message):
        load_dataset(path=str(file))


def test_npz_object_arrays_are_refused(tmp_path):
    file = tmp_path / "obj.npz"
    np.savez(file, x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(
        DataError,
        match=r"obj\.npz: array 'x' holds Python objects \(dtype object\), which only pickle can read, and nnrun "
        r"never unpickles data files\. Save it again, with a numeric dtype",
    ):
        load_dataset(path=str(file))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"cannot be read as an \.npz file \(the file is empty\)"),
        (b"not a zip at all", r"cannot be read as an \.npz file"),
    ],
)
def test_unreadable_npz_files(tmp_path, content, message):
    (tmp_path / "broken.npz").write_bytes(content)
    with pytest.raises(
        DataError, match=r"broken\.npz: " + message + r".* Save it with np\.savez\(path, x=\.\.\., y=\.\.\.\)"
    ):
        load_dataset(path=str(tmp_path / "broken.npz"))


def test_an_npy_file_named_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    (tmp_path / "a.npy").rename(tmp_path / "a.npz")
    with pytest.raises(DataError, match=r"a\.npz: holds a single \.npy array, not an \.npz archive"):
        load_dataset(path=str(tmp_path / "a.npz"))


def test_missing_path_and_unsupported_suffix(tmp_path):
    with pytest.raises(
        DataError, match=r"nope\.csv: no such file or folder\. Check the path \(relative paths start at "
    ):
        load_dataset(path=str(tmp_path / "nope.csv"))
    (tmp_path / "d.txt").write_text("1,2\n")
    with pytest.raises(
        DataError, match=r"d\.txt: unsupported file type '\.txt'; expected \.npz, \.csv, or a folder of IDX files\."
    ):
        load_dataset(path=str(tmp_path / "d.txt"))


def test_files_take_no_synthetic_parameters(tmp_path):
    with pytest.raises(DataError, match=r"d\.npz: a data file does not take n_classes: .* Remove n_classes\."):
        load_dataset(path=str(tmp_path / "d.npz"), n_classes=3)


# -- .csv files ------------------------------------------------------------------------------------


def test_csv_label_column_anywhere(tmp_path):
    file = tmp_path / "iris.csv"
    file.write_text("\ufeffa, species ,b\n1.5,0,2\n2.5,1,3\n\n3.5,2,4\n4.5,1,5\n")  # BOM, spaces, a blank line
    ds = load_dataset(path=str(file), label_column="species", seed=3)
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape == (4, 2)
    assert rows(ds.x_train) == [(1.5, 2.0), (2.5, 3.0), (3.5, 4.0), (4.5, 5.0)]
    np.testing.assert_array_equal(
        ds.y_train, [{1.5: 0, 2.5: 1, 3.5: 2, 4.5: 1}[v] for v in ds.x_train[:, 0]]
    )  # each row keeps its label
    assert (ds.task, ds.n_classes) == ("classification", 3)
    assert ds.source == f"CSV file {file}, 2 features, label column 'species', 3 classes (4 train, no test set; seed 3)"


def test_csv_float_labels_are_regression(tmp_path):
    file = tmp_path / "r.csv"
    file.write_text("x,label\n1,0.5\n2,1.25\n")
    ds = load_dataset(path=str(file))
    assert ds.task == "regression" and ds.y_train.dtype == np.float32


@pytest.mark.parametrize(
    ("text", "kwargs", "message"),
    [
        ("", {}, r": the file is empty; expected a header row naming the columns, then data rows\."),
        ("a,label\n", {}, r": has a header row but no data rows\. Add the data, one sample per row\."),
        (
            "a,lable\n1,0\n",
            {},
            r": no label column 'label'; the columns are \['a', 'lable'\]\. Did you mean 'lable'\? Set label_column to the column holding the labels\.",
        ),
        (
            "a;b;label\n1;2;0\n",
            {},
            r": no label column 'label'; the columns are \['a;b;label'\]\. The header looks separated by something other than commas",
        ),
        ("a,label,label\n1,0,0\n", {}, r": the header names the label column 'label' 2 times; rename the copies\."),
        ("a,b,label\n1,2,0\n1,2\n", {}, r", line 3: 2 fields, but the header has 3 columns\."),
        (
            "a,b,label\n1,2,0\n3,x,1\n",
            {},
            r", line 3, column 'b': 'x' is not a number\. Every cell must be a finite number",
        ),
        ("a,b,label\n1,,0\n", {}, r", line 2, column 'b': '' is not a number\."),
        ("a,b,label\n1,nan,0\n", {}, r", line 2, column 'b': 'nan' is not a finite number\."),
        (
            "a,kind\n1,cat\n",
            {"label_column": "kind"},
            r", line 2, column 'kind': 'cat' is not a number\. .*class labels as integers 0, 1, \.\.\.",
        ),
        ("label\n1\n", {}, r": the label column 'label' is the only column; add feature columns\."),
    ],
)
def test_malformed_csv_files(tmp_path, text, kwargs, message):
    file = tmp_path / "bad.csv"
    file.write_text(text)
    with pytest.raises(DataError, match=re.escape(str(file)) + message):
        load_dataset(path=str(file), **kwargs)


def test_csv_that_is_not_utf8(tmp_path):
    (tmp_path / "latin.csv").write_bytes("a,label\n\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: is not UTF-8 text \(.*\)\. Save the CSV as UTF-8\."):
        load_dataset(path=str(tmp_path / "latin.csv"))


# -- IDX folders -----------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_with_and_without_a_test_set(tmp_path, gz):
    suffix = ".gz" if gz else ""
    images = np.arange(12 * 4 * 4, dtype=np.uint8).reshape(12, 4, 4)
    labels = np.repeat(np.arange(3, dtype=np.uint8), 4)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, gz)
    ds = load_dataset(path=str(tmp_path), test_split=0.25)
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape == (9, 4, 4)
    assert np.bincount(ds.y_test).tolist() == [1, 1, 1]
    assert rows(np.concatenate([ds.x_train, ds.x_test])) == rows(images)
    assert ds.source.startswith(f"IDX folder {tmp_path}, 3 classes (9 train / 3 test; stratified test_split 0.25")

    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images[:5], gz)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels[:5], gz)
    ds = load_dataset(path=str(tmp_path))
    np.testing.assert_array_equal(ds.x_test, images[:5])
    np.testing.assert_array_equal(ds.y_test, labels[:5])
    assert rows(ds.x_train) == rows(images) and not np.array_equal(ds.x_train, images)


def test_idx_folder_errors(tmp_path):
    images, labels = np.zeros((3, 2, 2), np.uint8), np.zeros(3, np.uint8)
    (tmp_path / "notes.txt").write_text("")
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, True)
    with pytest.raises(
        DataError,
        match=r": no train-labels-idx1-ubyte\[\.gz\] in this folder \(it holds \['notes\.txt', 'train-images-idx3-ubyte\.gz'\]\)\. A dataset folder holds IDX files named",
    ):
        load_dataset(path=str(tmp_path))
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:2], False)
    with pytest.raises(
        DataError,
        match=r": train-images-idx3-ubyte\.gz holds 3 images but train-labels-idx1-ubyte holds 2 labels; they must match\.",
    ):
        load_dataset(path=str(tmp_path))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels, True)
    with pytest.raises(
        DataError,
        match=r": holds both train-labels-idx1-ubyte and train-labels-idx1-ubyte\.gz; keep only one of them\.",
    ):
        load_dataset(path=str(tmp_path))
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images, True)
    with pytest.raises(
        DataError,
        match=r": has t10k-images-idx3-ubyte\.gz but no t10k-labels-idx1-ubyte\[\.gz\]; a test set needs both files\.",
    ):
        load_dataset(path=str(tmp_path))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: only 2 bytes"):  # the IDX reader's own error
        load_dataset(path=str(tmp_path))


# -- preprocess ------------------------------------------------------------------------------------


def pixels() -> Dataset:
    x = np.array([[[0, 255], [51, 102]], [[255, 0], [0, 0]], [[1, 2], [3, 4]]], np.uint8)
    return Dataset("px", x, np.array([0, 1, 2]), x[:1], np.array([1]), "classification", 3, "pixels")


def replace_x(ds: Dataset, x: np.ndarray) -> Dataset:
    """``ds`` with training inputs ``x`` and no test set."""
    return replace(ds, x_train=x, x_test=None, y_test=None)


def test_preprocess_returns_a_new_dataset():
    ds = pixels()
    out = preprocess(ds, flatten=True, scale=True, one_hot=True)
    assert out is not ds and ds.x_train.shape == (3, 2, 2) and ds.y_train.ndim == 1
    assert (out.name, out.task, out.n_classes, out.source) == ("px", "classification", 3, "pixels")
    assert preprocess(ds).x_train is ds.x_train


def test_flatten():
    out = preprocess(pixels(), flatten=True)
    assert out.x_train.shape == (3, 4) and out.x_test.shape == (1, 4)
    np.testing.assert_array_equal(out.x_train[0], [0, 255, 51, 102])


def test_scale_uint8_divides_by_255():
    out = preprocess(pixels(), scale=True)
    assert out.x_train.dtype == np.float32 and out.x_test.dtype == np.float32
    np.testing.assert_allclose(out.x_train[0], [[0, 1], [0.2, 0.4]], rtol=1e-6)


def test_scale_of_floats_only_casts():
    ds = load_dataset("moons")
    out = preprocess(replace_x(ds, ds.x_train.astype(np.float64) * 10), scale=True)
    assert out.x_train.dtype == np.float32
    np.testing.assert_allclose(out.x_train, ds.x_train * 10, rtol=1e-6)


def test_scale_of_other_integer_types():
    binary = replace_x(pixels(), np.array([[0, 1], [1, 0], [1, 1]], np.int64))
    np.testing.assert_array_equal(preprocess(binary, scale=True).x_train, [[0, 1], [1, 0], [1, 1]])  # 0/1: not divided
    grey = replace_x(pixels(), np.array([[0, 255], [51, 0], [0, 0]], np.int32))
    np.testing.assert_allclose(preprocess(grey, scale=True).x_train[:2], [[0, 1], [0.2, 0]], rtol=1e-6)
    deep = replace_x(pixels(), np.array([[0, 4095], [0, 0], [0, 0]], np.int16))
    with pytest.raises(
        DataError,
        match=r"px: scale divides integer pixels by 255, but x holds values from 0 to 4095\. Use standardize instead",
    ):
        preprocess(deep, scale=True)


def test_standardize_uses_the_training_statistics_for_both_sets():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]], np.float32)
    ds = Dataset(
        "s",
        x,
        np.zeros(3, np.float32),
        np.array([[3.0, 6.0]], np.float32),
        np.zeros(1, np.float32),
        "regression",
        None,
        "",
    )
    out = preprocess(ds, standardize=True)
    std = np.sqrt(8 / 3)
    np.testing.assert_allclose(out.x_train, [[-2 / std, 0], [0, 0], [2 / std, 0]], rtol=1e-6)  # constant feature: std 1
    np.testing.assert_allclose(out.x_test, [[0, 1]], rtol=1e-6)  # train mean 3 and 5, train std
    assert out.x_train.dtype == np.float32


def test_scale_then_standardize_of_images():
    out = preprocess(load_dataset("mnist_sample", limit=500), flatten=True, scale=True, standardize=True)
    assert out.x_train.shape == (500, 784) and out.x_test.shape == (1000, 784)
    varying = out.x_train.std(axis=0) > 0
    np.testing.assert_allclose(out.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.x_train.std(axis=0)[varying], 1, rtol=1e-3)
    assert np.isfinite(out.x_test).all()


def test_one_hot():
    out = preprocess(pixels(), one_hot=True)
    assert out.y_train.dtype == np.float32
    np.testing.assert_array_equal(out.y_train, np.eye(3))
    np.testing.assert_array_equal(out.y_test, [[0, 1, 0]])
    with pytest.raises(
        DataError,
        match=r"px: one_hot needs integer class indices of shape \(n,\); the labels have shape \(3, 3\) and dtype float32 \(already one-hot\?\)\. Apply one_hot once\.",
    ):
        preprocess(out, one_hot=True)


def test_one_hot_of_regression_is_an_error():
    with pytest.raises(
        DataError,
        match=r"regression: one_hot needs class labels, but this is a regression dataset \(float targets\)\. Turn one_hot off\.",
    ):
        preprocess(load_dataset("regression", n_samples=10), one_hot=True)


# -- Dataset ---------------------------------------------------------------------------------------


def test_dataset_checks_its_invariants():
    x, y = np.zeros((3, 2)), np.zeros(3, np.int64)
    with pytest.raises(DataError, match=r"d: x_train has 3 rows but y_train has 2; they must match\."):
        Dataset("d", x, y[:2], None, None, "classification", 2, "")
    with pytest.raises(DataError, match=r"d: x_test and y_test must both be arrays or both be None\."):
        Dataset("d", x, y, x, None, "classification", 2, "")
    with pytest.raises(DataError, match=r"d: n_classes must be set for classification and None for regression\."):
        Dataset("d", x, y, None, None, "regression", 2, "")
    with pytest.raises(
        DataError, match=r"d: task must be one of \('classification', 'regression'\)\. Received: task='ranking'"
    ):
        Dataset("d", x, y, None, None, "ranking", None, "")
