"""``ModelCheckpoint``: save the model (``.keras``) or its weights (``.weights.h5``, ``.npz``) every epoch, or
when the monitored value improves."""

from __future__ import annotations

import warnings
from typing import Any

from nnrun.engine.callbacks.callback import Callback
from nnrun.engine.callbacks.monitor import check_mode, improved, resolve_mode
from nnrun.errors import InvalidArgumentError


class ModelCheckpoint(Callback):
    """As Keras: ``filepath`` ends in ``.keras`` (the whole model; the default ``save_weights_only=False``) or,
    with ``save_weights_only=True``, in ``.weights.h5``. nnrun also writes weights to ``.npz`` (whatever
    ``save_weights_only`` says). It may use ``{epoch}`` (1-based) and any log value, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``.
    """

    def __init__(
        self,
        filepath: str,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        filepath = str(filepath)
        if filepath.endswith(".npz"):  # nnrun's weights archive
            save_weights_only = True
        elif save_weights_only and not filepath.endswith(".weights.h5"):
            raise InvalidArgumentError(
                "When using save_weights_only=True in ModelCheckpoint, the filepath provided must end in "
                f"'.weights.h5' (Keras weights format) or '.npz' (nnrun's). Received: filepath={filepath!r}"
            )
        elif not save_weights_only and not filepath.endswith(".keras"):
            raise InvalidArgumentError(
                "The filepath provided must end in '.keras' (Keras model format), or in '.weights.h5' with "
                f"save_weights_only=True. Received: filepath={filepath!r}"
            )
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise InvalidArgumentError(
                "ModelCheckpoint save_freq must be 'epoch' or a positive number of batches. "
                f"Received: save_freq={save_freq!r}"
            )
        self.filepath, self.monitor, self.verbose = filepath, monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = check_mode("ModelCheckpoint", mode)
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self._batches = 0
        self._epoch = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._mode = (
            resolve_mode("ModelCheckpoint", self.mode, self.monitor, self.model) if self.save_best_only else "min"
        )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:  # type: ignore[operator]
                self._save(self._epoch, logs or {}, batch)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch: int, logs: dict[str, Any], batch: int | None = None) -> None:
        try:
            path = self.filepath.format(epoch=epoch + 1, batch=batch, **logs)
        except KeyError as e:
            raise InvalidArgumentError(
                f"ModelCheckpoint filepath {self.filepath!r} uses {e}, which is not in the logs "
                f"(available: epoch, {', '.join(sorted(logs))})"
            ) from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: '{self.monitor}' is not available; saving anyway.", stacklevel=2)
            elif not improved(self._mode, current, self.best, 0):
                return
            else:
                self.best = current
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)  # type: ignore[union-attr]
        else:
            self.model.save(path)  # type: ignore[union-attr]
