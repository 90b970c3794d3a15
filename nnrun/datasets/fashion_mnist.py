"""Fashion-MNIST, 60,000 + 10,000 28x28 images of 10 clothing classes: the arrays of
``keras.datasets.fashion_mnist``.

Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag,
9 Ankle boot. Copyright Zalando SE, MIT license.

Each of the four IDX files is looked for in the Debian package's folder :data:`DEBIAN_DIR`
(``apt-get install dataset-fashion-mnist``), then in nnrun's and Keras's caches (``fashion-mnist/``
under each), else downloaded from Keras's origin into nnrun's cache and checked against
:data:`GZ_SHA256`. Debian recompressed the files (its .gz bytes differ from Keras's), so files found
locally are checked by the sha256 of the decoded array (:data:`DATA_SHA256`), which does not depend
on how the file was compressed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from nnrun.datasets import _download
from nnrun.datasets.idx import read_idx
from nnrun.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
SUBDIR = "fashion-mnist"
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

# sha256 of the .gz files at Keras's origin; the same as keras.datasets.fashion_mnist.FILE_HASHES.
GZ_SHA256 = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
# sha256 of the bytes of each decoded uint8 array (no IDX header), computed from Debian's files.
DATA_SHA256 = {
    "train-images-idx3-ubyte.gz": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    "train-labels-idx1-ubyte.gz": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    "t10k-images-idx3-ubyte.gz": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    "t10k-labels-idx1-ubyte.gz": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
}
_HINT = " Or install the Debian package dataset-fashion-mnist, which puts the files in {dir}."


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, downloading it once if needed.

    x: uint8 (60000, 28, 28) and (10000, 28, 28); y: uint8 (60000,) and (10000,).
    """
    x_train, y_train, x_test, y_test = (_load(fname) for fname in FILES)
    return (x_train, y_train), (x_test, y_test)


def _load(fname: str) -> np.ndarray:
    hint = _HINT.format(dir=DEBIAN_DIR)
    path = _download.get_file(fname, GZ_SHA256[fname], subdir=SUBDIR, search=[DEBIAN_DIR], hint=hint)
    values = read_idx(path)
    actual = hashlib.sha256(values).hexdigest()
    if values.dtype != np.uint8 or actual != DATA_SHA256[fname]:
        raise DataError(
            f"{path} does not hold the Fashion-MNIST data: the sha256 of its {values.dtype} {values.shape} "
            f"array is {actual}, expected {DATA_SHA256[fname]}. It is corrupt or a different file: "
            "replace it (delete it from a cache folder and call load_data() again to download it)."
        )
    return values
