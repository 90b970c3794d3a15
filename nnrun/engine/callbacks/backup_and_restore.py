"""``BackupAndRestore``: resume an interrupted ``fit`` from the last finished epoch."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from nnrun.engine.callbacks.callback import Callback, Logs
from nnrun.errors import InvalidArgumentError


class BackupAndRestore(Callback):
    """Saves the weights and the epoch reached to ``backup_dir`` after every epoch (or every ``save_freq``
    batches); a later ``fit`` with the same callback starts from there. The folder is deleted when training
    ends normally (``delete_checkpoint=True``), as in Keras. The optimizer's state is not saved: the first
    resumed epoch starts with fresh moments, as a Keras ``.weights.h5`` backup of a model does."""

    def __init__(
        self,
        backup_dir: str | os.PathLike[str],
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise InvalidArgumentError(f"Empty `backup_dir` argument passed. Received: backup_dir={backup_dir!r}")
        if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool) or save_freq < 1):
            raise InvalidArgumentError(
                "Invalid value for argument `save_freq`. Expected either 'epoch' or a positive integer. "
                f"Received: save_freq={save_freq!r}"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.h5")
        self._metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._current_epoch = 0
        self._last_batch_seen = 0
        self._batches_since_save = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        model: Any = self.model
        if not model.built:
            raise InvalidArgumentError(
                f"To use the BackupAndRestore callback, the model must be built before fit(). Model "
                f"'{model.name}' is not built: give it an Input or call model.build(input_shape)."
            )
        if os.path.exists(self._weights_path):
            model.load_weights(self._weights_path)
        if os.path.exists(self._metadata_path):
            with open(self._metadata_path, encoding="utf-8") as f:
                model._initial_epoch = int(json.load(f)["epoch"])

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_since_save += added
        self._last_batch_seen = batch
        if self._batches_since_save >= self.save_freq:  # type: ignore[operator]
            self._batches_since_save = 0
            self._save()

    def _save(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for path in (self._weights_path, self._metadata_path):
                if os.path.exists(path):
                    shutil.copyfile(path, f"{path}.bkp")
        self.model.save_weights(self._weights_path)  # type: ignore[union-attr]
        with open(self._metadata_path, "w", encoding="utf-8") as f:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
