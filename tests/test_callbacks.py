"""Callbacks: EarlyStopping, ReduceLROnPlateau, TerminateOnNaN, ModelCheckpoint, History (§8)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import reference_data, reference_weights

from nnrun.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN
from nnrun.errors import InvalidArgumentError
from nnrun.layers import Dense, Input
from nnrun.models import Sequential
from nnrun.optimizers import SGD


class Scripted(Callback):
    """Writes a scripted value of ``key`` into each epoch's logs (it runs before the callback under test)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def model(lr=0.1) -> Sequential:
    m = Sequential([Input(shape=(3,)), Dense(4, activation="relu"), Dense(1, activation="sigmoid")])
    m.set_weights(reference_weights())
    m.compile(optimizer=SGD(learning_rate=lr), loss="binary_crossentropy", metrics=["accuracy"])
    return m


def fit_scripted(values, callback, epochs=None, m=None, key="score"):
    x, y = reference_data()
    m = m or model()
    return m.fit(x, y, epochs=epochs or len(values), verbose=0, shuffle=False,
                 callbacks=[Scripted(key, values), callback]), m


def test_early_stopping_patience_2_stops_after_index_3():
    # keras-semantics.md §8: [1, .9, .95, .96, .8] with patience 2 stops after index 3.
    stop = EarlyStopping(monitor="score", mode="min", patience=2)
    history, _ = fit_scripted([1, 0.9, 0.95, 0.96, 0.8], stop)
    assert len(history.history["loss"]) == 4
    assert stop.stopped_epoch == 3


def test_early_stopping_patience_0_stops_at_first_non_improvement_and_equal_is_not_better():
    stop = EarlyStopping(monitor="score", mode="min", patience=0)
    history, _ = fit_scripted([1.0, 0.9, 0.9, 0.5], stop)
    assert len(history.history["loss"]) == 3


def test_early_stopping_auto_mode_maximises_accuracy_and_minimises_loss():
    stop = EarlyStopping(monitor="accuracy", patience=1)
    fit_scripted([0.5, 0.6, 0.7], stop, key="accuracy")
    assert stop._mode == "max"
    stop = EarlyStopping(monitor="val_loss")
    fit_scripted([0.5, 0.6], stop, key="val_loss")
    assert stop._mode == "min"
    with pytest.raises(InvalidArgumentError, match=r"could not infer whether 'score' should be minimized or maximized"):
        fit_scripted([0.5], EarlyStopping(monitor="score"))


def test_restore_best_weights_even_without_stopping_early():
    seen = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.get_weights())

    x, y = reference_data()
    m = model()
    m.fit(x, y, epochs=4, verbose=0, shuffle=False,
          callbacks=[Scripted("score", [3, 1, 2, 2.5]), Snapshot(),
                     EarlyStopping(monitor="score", mode="min", patience=10, restore_best_weights=True)])
    for got, want in zip(m.get_weights(), seen[1], strict=True):
        np.testing.assert_array_equal(got, want)


def test_baseline_blocks_the_wait_from_resetting():
    # Improvements that do not beat the baseline leave the wait counting, so a plateau stops sooner.
    values = [0.9, 0.8, 0.8, 0.8, 0.8, 0.8]
    history, _ = fit_scripted(values, EarlyStopping(monitor="score", mode="min", patience=2, baseline=0.5))
    assert len(history.history["loss"]) == 3
    history, _ = fit_scripted(values, EarlyStopping(monitor="score", mode="min", patience=2))
    assert len(history.history["loss"]) == 4


def test_reduce_lr_on_plateau_logs_and_reduces_the_learning_rate():
    cb = ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=1, min_delta=0)
    history, m = fit_scripted([1.0, 1.0, 1.0, 0.5, 0.5], cb)
    lr = history.history["learning_rate"]
    np.testing.assert_allclose(lr, [0.1, 0.1, 0.05, 0.025, 0.025], rtol=1e-6)
    assert m.optimizer.learning_rate == np.float32(0.0125)
    # logs come sorted from the loop; keys added by callbacks follow in the order they were added (as in Keras)
    assert list(history.history) == ["accuracy", "loss", "score", "learning_rate"]


def test_reduce_lr_respects_min_lr_and_cooldown():
    cb = ReduceLROnPlateau(monitor="score", mode="min", factor=0.1, patience=1, cooldown=2, min_lr=0.005)
    history, m = fit_scripted([1.0] * 6, cb)
    # reduced after epoch 1, two epochs of cooldown, then reduced again but not below min_lr
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.1, 0.01, 0.01, 0.005, 0.005], rtol=1e-6)
    assert m.optimizer.learning_rate == np.float32(0.005)
    with pytest.raises(InvalidArgumentError, match=r"does not support a factor >= 1\.0\. Received: factor=2"):
        ReduceLROnPlateau(factor=2)


def test_terminate_on_nan_stops_after_the_bad_batch():
    # A linear regression with a huge learning rate diverges within a few steps.
    x = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1) * 100
    m = Sequential([Input(shape=(1,)), Dense(1)])
    m.compile(optimizer=SGD(learning_rate=10.0), loss="mse")
    stop = TerminateOnNaN()
    history = m.fit(x, 3 * x, batch_size=4, epochs=5, verbose=0, shuffle=False, callbacks=[stop])
    assert stop.stopped_batch is not None and stop.stopped_batch < 15
    assert len(history.history["loss"]) == 1
    assert not np.isfinite(history.history["loss"][0])


def test_model_checkpoint_saves_npz_per_epoch_and_only_best(tmp_path):
    x, y = reference_data()
    m = model()
    ckpt = ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}-{loss:.4f}.weights.npz"), monitor="loss")
    m.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[0].startswith("ckpt-01-") and names[1].startswith("ckpt-02-")
    again = model()
    again.load_weights(tmp_path / names[1])
    for a, b in zip(again.get_weights(), m.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    # save_best_only: only epochs that improve are written
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    m = model()
    m.fit(x, y, epochs=3, verbose=0, shuffle=False,
          callbacks=[Scripted("score", [1.0, 2.0, 3.0]), Snapshot(),
                     ModelCheckpoint(str(tmp_path / "best.npz"), monitor="score", mode="min", save_best_only=True)])
    restored = model()
    restored.load_weights(tmp_path / "best.npz")
    for a, b in zip(restored.get_weights(), snapshots[0], strict=True):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_rejects_other_formats():
    with pytest.raises(InvalidArgumentError, match=r"filepath must end in '\.npz'.*Received: filepath='model\.keras'"):
        ModelCheckpoint("model.keras")


def test_stop_training_from_a_callback_ends_the_epoch_after_the_batch():
    class StopAtBatch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.model.stop_training = True

    x, y = reference_data()
    history = model().fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[StopAtBatch()])
    assert len(history.history["loss"]) == 1


def test_hooks_are_called_in_keras_order():
    calls = []

    class Trace(Callback):
        def on_train_begin(self, logs=None):
            calls.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(f"epoch_begin {epoch}")

        def on_train_batch_begin(self, batch, logs=None):
            calls.append(f"batch_begin {batch}")

        def on_train_batch_end(self, batch, logs=None):
            calls.append(f"batch_end {batch}")

        def on_epoch_end(self, epoch, logs=None):
            calls.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            calls.append("train_end")

    x, y = reference_data()
    model().fit(x, y, batch_size=4, epochs=1, verbose=0, validation_split=0.5, callbacks=[Trace()])
    assert calls == ["train_begin", "epoch_begin 0", "batch_begin 0", "batch_end 0",
                     "epoch_end 0 ['accuracy', 'loss', 'val_accuracy', 'val_loss']", "train_end"]
