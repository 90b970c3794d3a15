"""MNIST handwritten digits, the full 60,000 + 10,000: the same file and arrays as ``keras.datasets.mnist``.

MNIST is by Y. LeCun, C. Cortes and C. J. C. Burges, licensed CC BY-SA 3.0. For a small copy that ships
with nnrun and needs no download, see :mod:`nnrun.datasets.mnist_sample`.
"""

from __future__ import annotations

import numpy as np

from nnrun.datasets import _download

FNAME = "mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # Keras's file, same hash


def load_data(path: str = FNAME) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, downloading it once if needed.

    ``path`` is where the file is cached, relative to nnrun's cache (``$NNRUN_DATASETS_DIR``, default
    ``~/.nnrun/datasets``); an existing Keras copy (``$KERAS_HOME/datasets/<path>``, default
    ``~/.keras/datasets``) is reused. Otherwise ``mnist.npz`` is downloaded from ``$NNRUN_DATASETS_URL``
    (default Keras's origin) to ``path``. The file's sha256 is checked after a download and at each load.

    x: uint8 (60000, 28, 28) and (10000, 28, 28), pixels 0-255; y: uint8 (60000,) and (10000,), labels 0-9.
    """
    file = _download.get_file(path, SHA256, remote=FNAME)
    _download.check_sha256(file, SHA256)
    with np.load(file, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
