"""5,000 real MNIST digits that ship with nnrun: the offline default, split 4,000 train / 1,000 test.

The file ``data/mnist_sample.npz`` holds 500 digits per class, stored sorted by label (see
``data/README.md`` for provenance and license). :func:`load_data` splits it the same way every time:
a generator seeded with :data:`SPLIT_SEED` shuffles each class and puts 100 of its digits in the test
set and 400 in the training set, then shuffles each set. Both sets are therefore exactly balanced.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

RESOURCE = "data/mnist_sample.npz"
SHA256 = "f814240cf7e0d3cbaacc1a898905819a40ab46fb317a600d2a4b91a5c184c810"
SPLIT_SEED = 1998  # the year MNIST was published
TEST_PER_CLASS = 100


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the sample as ``(x_train, y_train), (x_test, y_test)``, like ``keras.datasets.mnist``.

    x: uint8 (4000, 28, 28) and (1000, 28, 28), pixels 0-255; y: uint8 (4000,) and (1000,), labels 0-9.
    """
    with resources.files(__package__).joinpath(RESOURCE).open("rb") as file, np.load(file) as f:
        x, y = f["x"], f["y"]
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for label in range(10):
        idx = rng.permutation(np.flatnonzero(y == label))
        test.append(idx[:TEST_PER_CLASS])
        train.append(idx[TEST_PER_CLASS:])
    train, test = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    return (x[train], y[train]), (x[test], y[test])
