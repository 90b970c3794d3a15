"""Datasets with the API of ``keras.datasets``: each submodule has ``load_data()``.

- :mod:`~nnrun.datasets.mnist_sample`: 5,000 MNIST digits shipped with nnrun (no download).
- :mod:`~nnrun.datasets.mnist`: full MNIST, Keras's ``mnist.npz``.
- :mod:`~nnrun.datasets.fashion_mnist`: full Fashion-MNIST, from Debian's package or Keras's origin.
- :mod:`~nnrun.datasets.idx`: :func:`~nnrun.datasets.idx.read_idx` for IDX files.
"""

from nnrun.datasets import fashion_mnist, idx, mnist, mnist_sample

__all__ = ["fashion_mnist", "idx", "mnist", "mnist_sample"]
