"""What ``nnrun train`` loads, before the model sees it: named datasets, synthetic sets and data files.

- :func:`load_dataset`: a name from :data:`DATASET_NAMES` or a file (``.npz``, ``.csv``, a folder of IDX
  files), with an optional stratified test split and row limit, as a :class:`Dataset`.
- :func:`preprocess`: flatten, scale, standardize and one-hot a :class:`Dataset`.
"""

from nnrun.data.dataset import Dataset
from nnrun.data.load import DATASET_NAMES, load_dataset
from nnrun.data.preprocess import preprocess

__all__ = ["DATASET_NAMES", "Dataset", "load_dataset", "preprocess"]
