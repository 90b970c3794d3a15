"""``TensorBoard``: event files for TensorBoard, laid out and tagged as Keras writes them.

``log_dir/train`` holds the training scalars of each epoch (``epoch_loss``, ``epoch_accuracy``, ...,
``epoch_learning_rate``), the weight histograms (``<layer>/<weight>/histogram``) and the model's JSON
for TensorBoard's conceptual graph; ``log_dir/validation`` holds the validation scalars with the
``val_`` prefix removed (``epoch_loss``, ...) and ``evaluation_<name>_vs_iterations`` after each
evaluation. The files are written with ``tensorboardX`` (``pip install 'nnrun[tensorboard]'``), imported
when the callback is created.
"""

from __future__ import annotations

import importlib
import os
import time
from typing import Any

import numpy as np

from nnrun.engine.callbacks.callback import Callback, Logs
from nnrun.errors import InvalidArgumentError, NnrunError

TENSORBOARD_EXTRA = "pip install 'nnrun[tensorboard]'"


class MissingDependencyError(NnrunError, ImportError):
    """An optional package is not installed; the message names the pip command that installs it."""

    def __init__(self, message: str, package: str | None = None) -> None:
        super().__init__(message, package)
        self.message, self.package = message, package

    def __str__(self) -> str:
        return self.message


def import_tensorboardx() -> Any:
    """The ``tensorboardX`` module, or an error naming the pip command."""
    try:
        return importlib.import_module("tensorboardX")
    except ImportError as e:
        raise MissingDependencyError(
            f"writing TensorBoard event files needs the tensorboardX package ({e}). Install it with: "
            f"{TENSORBOARD_EXTRA}",
            "tensorboardX",
        ) from None


class TensorBoard(Callback):
    """Write TensorBoard event files during ``fit`` (Keras's ``TensorBoard`` arguments).

    ``histogram_freq``: every how many epochs to write weight histograms (0: never).
    ``write_graph``: write the model's JSON, shown by TensorBoard's graph tab as a conceptual graph.
    ``write_steps_per_second``: also write ``epoch_steps_per_second`` (and ``batch_steps_per_second``).
    ``update_freq``: ``"epoch"``, or ``"batch"`` / an integer N to also write ``batch_<name>`` every N batches.
    ``write_images``, ``profile_batch``, ``embeddings_freq`` and ``embeddings_metadata`` are accepted only
    at their defaults: nnrun's engine has nothing to profile and no embedding layers.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int | tuple[int, int] = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise InvalidArgumentError(
                f"TensorBoard histogram_freq must be an integer >= 0 (0: no histograms). Received: "
                f"histogram_freq={histogram_freq!r}"
            )
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise InvalidArgumentError(
                f"TensorBoard update_freq must be 'epoch', 'batch' or a positive integer (every N batches). "
                f"Received: update_freq={update_freq!r}"
            )
        unsupported = {
            "write_images": (write_images, False),
            "profile_batch": (profile_batch, 0),
            "embeddings_freq": (embeddings_freq, 0),
            "embeddings_metadata": (embeddings_metadata, None),
        }
        for name, (value, default) in unsupported.items():
            if value != default and not (name == "profile_batch" and value in ((0, 0), [0, 0], "0")):
                raise InvalidArgumentError(
                    f"TensorBoard {name} is not supported by nnrun (no images of weights, no profiler, no "
                    f"embedding layers). Received: {name}={value!r}; leave it at {default!r}."
                )
        self._tbx = import_tensorboardx()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_images = write_images
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._epoch_start = 0.0
        self._epoch_iterations = 0
        self._batch_start = 0.0

    def get_config(self) -> dict[str, Any]:
        return {
            "log_dir": self.log_dir,
            "histogram_freq": self.histogram_freq,
            "write_graph": self.write_graph,
            "write_images": self.write_images,
            "write_steps_per_second": self.write_steps_per_second,
            "update_freq": self.update_freq,
            "profile_batch": self.profile_batch,
            "embeddings_freq": self.embeddings_freq,
            "embeddings_metadata": self.embeddings_metadata,
        }

    # -- writers ---------------------------------------------------------------------------------------

    def _writer(self, which: str) -> Any:
        """The ``train`` or ``validation`` writer, created (with its event file) when first needed."""
        if which not in self._writers:
            self._writers[which] = self._tbx.SummaryWriter(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close_writers()  # as Keras: a new model, new writers
        if self.write_graph:
            self._write_model_json()

    def _write_model_json(self) -> None:
        """Keras's ``keras`` summary: the model's JSON under the ``graph_keras_model`` plugin, at step 0."""
        to_json = getattr(self.model, "to_json", None)
        if to_json is None:
            return
        text = to_json()
        writer = self._writer("train")
        writer._get_file_writer().add_summary(keras_model_summary(text), 0)

    # -- hooks -----------------------------------------------------------------------------------------

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._global_train_batch = 0

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.write_steps_per_second:
            self._epoch_start = time.perf_counter()
            self._epoch_iterations = self._iterations()

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        step = self._global_train_batch
        writer = self._writer("train")
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / elapsed if elapsed > 0 else float("inf"), step)
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", _scalar(value), step)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()  # a live TensorBoard sees each epoch as it ends

    def on_test_end(self, logs: Logs | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if not logs or optimizer is None or not hasattr(optimizer, "iterations"):
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.add_scalar(f"evaluation_{name}_vs_iterations", _scalar(value), int(optimizer.iterations))
        writer.flush()

    # -- what is written -------------------------------------------------------------------------------

    def _log_epoch_metrics(self, epoch: int, logs: Logs) -> None:
        if not logs:
            return
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        learning_rate = self._learning_rate()
        if learning_rate is not None:
            train["learning_rate"] = learning_rate
        if self.write_steps_per_second:
            elapsed = time.perf_counter() - self._epoch_start
            steps = self._iterations() - self._epoch_iterations
            train["steps_per_second"] = steps / elapsed if elapsed > 0 else float("inf")
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", _scalar(value), epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in getattr(self.model, "layers", []):
            for weight in layer.weights:
                name = str(weight.path).replace(":", "_")
                writer.add_histogram(f"{name}/histogram", np.asarray(weight.value, dtype=np.float64), epoch)

    def _learning_rate(self) -> float | None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            return None
        return float(optimizer.learning_rate)

    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)


def _scalar(value: Any) -> float:
    return float(np.asarray(value, dtype=np.float64))


def keras_model_summary(model_json: str) -> Any:
    """A ``Summary`` holding the model's JSON as Keras writes it (tag ``keras``, plugin ``graph_keras_model``)."""
    from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboardX.proto.tensor_pb2 import TensorProto
    from tensorboardX.proto.types_pb2 import DT_STRING

    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1"))
    tensor = TensorProto(dtype=DT_STRING, string_val=[model_json.encode("utf-8")])
    tensor.tensor_shape.SetInParent()  # a scalar
    return Summary(value=[Summary.Value(tag="keras", metadata=metadata, tensor=tensor)])
