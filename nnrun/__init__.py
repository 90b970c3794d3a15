"""nnrun: deep-learning experiments as YAML files, on a NumPy engine that follows Keras."""

__version__ = "0.1.0"
