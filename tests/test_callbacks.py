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
    # Keras: a whole-model checkpoint must be a .keras file; weights only, .weights.h5
    with pytest.raises(InvalidArgumentError, match=r"must end in '\.keras'.*Received: filepath='model\.h5x'"):
        ModelCheckpoint("model.h5x")
    with pytest.raises(InvalidArgumentError, match=r"must end in\s+'\.weights\.h5'.*Received: filepath='m\.keras'"):
        ModelCheckpoint("m.keras", save_weights_only=True)


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


# -- the hook protocol (Keras's callback.py / callback_list.py) ---------------------------------------------


def _recording_hook(name):
    def hook(self, *args):
        logs = args[-1]
        self.events.append((name, *args[:-1], dict(logs) if isinstance(logs, dict) else logs))

    return hook


class Recorder(Callback):
    """Records every hook it receives (Keras 3 names) with a copy of its logs."""

    def __init__(self):
        super().__init__()
        self.events = []

    locals().update(
        {
            name: _recording_hook(name)
            for name in vars(Callback)
            if name.startswith("on_") and name not in ("on_batch_begin", "on_batch_end")
        }
    )


def test_every_hook_of_fit_receives_a_dict_of_logs_never_none():
    x, y = reference_data()
    rec = Recorder()
    model().fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0, validation_split=0.5, callbacks=[rec])
    names = [e[0] for e in rec.events]
    assert names == [
        "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end",
    ]  # fmt: skip
    assert all(isinstance(e[-1], dict) for e in rec.events)
    assert rec.events[0] == ("on_train_begin", {})
    assert rec.events[1] == ("on_epoch_begin", 0, {})
    assert sorted(rec.events[-2][-1]) == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_keras_2_batch_hooks_are_called_with_the_running_means_of_the_training_batches():
    """Keras routes on_train_batch_* to on_batch_* (Deep Learning with Python, ch. 7, plots per-batch losses)."""

    class LossHistory(Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []
            self.begins = []

        def on_batch_begin(self, batch, logs):
            self.begins.append((batch, logs))

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

    x, y = reference_data()
    cb = LossHistory()
    history = model().fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0, callbacks=[cb])
    assert cb.begins == [(0, {}), (1, {}), (0, {}), (1, {})]
    assert len(cb.per_batch_losses) == 4
    assert cb.per_batch_losses[1] == history.history["loss"][0]  # the running mean after the last batch


def test_evaluate_calls_the_test_hooks_with_running_means_and_the_final_logs():
    x, y = reference_data()
    m = model()
    rec = Recorder()
    result = m.evaluate(x, y, batch_size=4, verbose=0, callbacks=[rec], return_dict=True)
    assert [e[0] for e in rec.events] == [
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_batch_begin", "on_test_batch_end",
        "on_test_end",
    ]  # fmt: skip
    assert rec.events[0] == ("on_test_begin", {})
    assert rec.events[-1] == ("on_test_end", result)
    assert rec.events[-2] == ("on_test_batch_end", 1, result)
    # the reference experiment's initial evaluate: loss 0.689239, accuracy 0.625 (keras-semantics §9)
    assert result["loss"] == pytest.approx(0.689239, abs=1e-6) and result["accuracy"] == 0.625


def test_predict_calls_the_predict_hooks_with_each_batch_of_outputs():
    x, _ = reference_data()
    m = model()
    rec = Recorder()
    out = m.predict(x, batch_size=5, verbose=0, callbacks=[rec])
    assert [e[0] for e in rec.events] == [
        "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_batch_begin",
        "on_predict_batch_end", "on_predict_end",
    ]  # fmt: skip
    assert rec.events[0] == ("on_predict_begin", {}) and rec.events[-1] == ("on_predict_end", {})
    np.testing.assert_array_equal(rec.events[2][-1]["outputs"], out[:5])
    np.testing.assert_array_equal(rec.events[4][-1]["outputs"], out[5:])


# -- CSVLogger, LearningRateScheduler, LambdaCallback, BackupAndRestore ----------------------------------------


def keras_csv_model():
    """Dense(1, sigmoid) with kernel ones and bias zeros, SGD(0.01): the model the Keras values below come from."""
    m = Sequential([Input(shape=(3,)), Dense(1, activation="sigmoid", kernel_initializer="ones")])
    m.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return m


def test_csv_logger_writes_what_keras_writes(tmp_path):
    from nnrun.callbacks import CSVLogger

    x, y = reference_data()
    path = tmp_path / "log.csv"
    m = keras_csv_model()
    history = m.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0, callbacks=[CSVLogger(path)])
    lines = path.read_text().splitlines()
    # Keras 3.15 (JAX): 'epoch,accuracy,loss,val_accuracy,val_loss\n0,0.625,0.6096484065055847,NA,NA\n1,0.75,...'
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1"]
    assert [line.split(",")[3:] for line in lines[1:]] == [["NA", "NA"], ["NA", "NA"]]
    losses = [float(line.split(",")[2]) for line in lines[1:]]
    assert losses == history.history["loss"]
    np.testing.assert_allclose(losses, [0.6096484065055847, 0.6094661355018616], rtol=1e-6)
    assert [float(line.split(",")[1]) for line in lines[1:]] == [0.625, 0.75]


def test_csv_logger_separator_and_append_write_one_header(tmp_path):
    from nnrun.callbacks import CSVLogger

    x, y = reference_data()
    path = tmp_path / "log.csv"
    m = keras_csv_model()
    m.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0, validation_split=0.5,
          callbacks=[CSVLogger(path, separator=";")])  # fmt: skip
    m.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0, validation_split=0.5,
          callbacks=[CSVLogger(path, separator=";", append=True)])  # fmt: skip
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch;accuracy;loss;val_accuracy;val_loss"
    assert [line.split(";")[0] for line in lines] == ["epoch", "0", "1", "0"]
    assert all("NA" not in line for line in lines)
    m.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[CSVLogger(path)])  # append=False starts over
    assert len(path.read_text().splitlines()) == 2


def test_learning_rate_scheduler_sets_and_logs_the_rate_as_keras():
    from nnrun.callbacks import LearningRateScheduler

    x, y = reference_data()
    m = keras_csv_model()
    h = m.fit(x, y, epochs=3, batch_size=4, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: lr * 0.5)])
    # Keras 3.15: [0.004999999888241291, 0.0024999999441206455, 0.0012499999720603228] (float32 rates)
    assert h.history["learning_rate"] == [0.004999999888241291, 0.0024999999441206455, 0.0012499999720603228]
    assert float(m.optimizer.learning_rate) == 0.0012499999720603228
    h = m.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[LearningRateScheduler(lambda e: 0.1 / (e + 1))])
    assert h.history["learning_rate"] == [0.10000000149011612, 0.05000000074505806]  # Keras 2's schedule(epoch)
    with pytest.raises(InvalidArgumentError, match=r"should be a float\. Got: '0\.1'"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: "0.1")])


def test_lambda_callback_calls_each_function_in_keras_order():
    from nnrun.callbacks import LambdaCallback

    x, y = reference_data()
    events = []
    cb = LambdaCallback(
        on_epoch_end=lambda epoch, logs: events.append(("ee", epoch)),
        on_batch_end=lambda batch, logs: events.append(("be", batch)),
        on_train_begin=lambda logs: events.append(("tb", logs)),
    )
    keras_csv_model().fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[cb])
    assert events == [("tb", {}), ("be", 0), ("be", 1), ("ee", 0)]  # Keras 3.15 gives the same list
    with pytest.raises(InvalidArgumentError, match=r"'on_epoch_ends' is not a callback hook.*on_epoch_end"):
        LambdaCallback(on_epoch_ends=print)


def test_backup_and_restore_resumes_from_the_last_finished_epoch(tmp_path):
    from nnrun.callbacks import BackupAndRestore

    class InterruptAt(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("interrupted")

    x, y = reference_data()
    backup = tmp_path / "backup"
    m = model()
    with pytest.raises(RuntimeError, match="interrupted"):
        m.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0,
              callbacks=[BackupAndRestore(backup), InterruptAt()])  # fmt: skip
    assert sorted(p.name for p in backup.iterdir()) == ["latest.weights.h5", "training_metadata.json"]
    after_two = m.get_weights()
    resumed = model()  # fresh weights: the backup brings the trained ones back
    history = resumed.fit(x, y, epochs=4, batch_size=4, shuffle=False, verbose=0, callbacks=[BackupAndRestore(backup)])
    assert history.epoch == [2, 3]
    assert not backup.exists()  # deleted when training ends normally

    straight = model()
    straight.set_weights(after_two)
    straight.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(InvalidArgumentError, match="save_freq=0"):
        BackupAndRestore(backup, save_freq=0)
