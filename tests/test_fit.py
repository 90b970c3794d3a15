"""fit / evaluate / predict bookkeeping, checked against Keras's rules (keras-semantics.md §5, §7)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import reference_data, reference_weights

from nnrun.callbacks import Callback
from nnrun.errors import DataError
from nnrun.layers import Dense, Input
from nnrun.models import Sequential
from nnrun.optimizers import SGD


def small_model(optimizer=None, metrics=("accuracy",)) -> Sequential:
    model = Sequential([Input(shape=(3,)), Dense(4, activation="relu"), Dense(1, activation="sigmoid")])
    model.set_weights(reference_weights())
    model.compile(optimizer=optimizer or SGD(learning_rate=0.1), loss="binary_crossentropy", metrics=list(metrics))
    return model


class BatchSizes(Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))


def test_partial_last_batch_loss_is_weighted_by_batch_size():
    # 10 rows, batch 4: batches of 4, 4, 2. The epoch loss is Σ n_b·L_b / Σ n_b (SGD lr 0 keeps weights fixed).
    x, y = reference_data()
    x10, y10 = np.concatenate([x, x[:2]]), np.concatenate([y, y[:2]])
    model = small_model(SGD(learning_rate=1e-30))
    per_batch = [model.evaluate(x10[a:b], y10[a:b], batch_size=8, verbose=0)[0] for a, b in ((0, 4), (4, 8), (8, 10))]
    history = model.fit(x10, y10, batch_size=4, epochs=1, shuffle=False, verbose=0)
    weighted = (4 * per_batch[0] + 4 * per_batch[1] + 2 * per_batch[2]) / 10
    assert history.history["loss"][0] == pytest.approx(weighted, rel=1e-6)
    assert history.history["loss"][0] != pytest.approx(np.mean(per_batch), rel=1e-4)


def test_running_means_in_batch_logs_and_number_of_steps():
    x, y = reference_data()
    x10, y10 = np.concatenate([x, x[:2]]), np.concatenate([y, y[:2]])
    rec = BatchSizes()
    history = small_model().fit(x10, y10, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[rec])
    assert len(rec.logs) == 6  # ceil(10 / 4) = 3 steps per epoch
    assert rec.logs[2]["loss"] == pytest.approx(history.history["loss"][0], rel=1e-7)
    assert rec.logs[5]["accuracy"] == history.history["accuracy"][1]


def test_accuracy_is_correct_over_all_samples_not_mean_of_batches():
    x, y = reference_data()
    x10, y10 = np.concatenate([x, x[:2]]), np.concatenate([y, 1 - y[:2]])
    model = small_model(SGD(learning_rate=1e-30))
    pred = (model.predict(x10, verbose=0) > 0.5).astype("float32")
    history = model.fit(x10, y10, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert history.history["accuracy"][0] == pytest.approx(float((pred == y10).mean()), abs=1e-7)


@pytest.mark.parametrize(("n", "split", "n_train"), [(10, 0.3, 7), (90, 0.3, 62), (8, 0.25, 6)])
def test_validation_split_floor_rule_takes_the_last_rows(n, split, n_train):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype("float32")
    y = (rng.random((n, 1)) > 0.5).astype("float32")
    model = small_model(SGD(learning_rate=0.05))
    history = model.fit(x, y, batch_size=4, epochs=2, validation_split=split, shuffle=True, verbose=0, seed=3)
    # val_* are computed on the end-of-epoch weights over the last n - n_train rows
    val_loss, val_acc = model.evaluate(x[n_train:], y[n_train:], batch_size=4, verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][-1] == pytest.approx(val_acc, rel=1e-6)
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]


def test_validation_data_is_used_instead_of_split():
    x, y = reference_data()
    model = small_model()
    history = model.fit(x, y, epochs=1, validation_data=(x[:3], y[:3]), validation_split=0.5, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[:3], y[:3], verbose=0)[0], rel=1e-6)


def test_validation_split_that_leaves_an_empty_split_is_an_error():
    x, y = reference_data()
    with pytest.raises(DataError, match=r"validation_split=0\.95 on 8 samples leaves no training samples"):
        small_model().fit(x, y, validation_split=0.95, verbose=0)


def test_sample_weight_divides_by_batch_size_not_weight_sum():
    # keras-semantics.md §4.1: the default reduction divides Σ w·l by n, not by Σ w.
    x, y = reference_data()
    model = small_model(SGD(learning_rate=1e-30), metrics=())
    values = model.loss(y, model.predict(x, verbose=0), sample_weight=None)
    w = np.array([1, 3, 0, 1, 2, 0, 1, 1], "float32")
    per_sample = np.array([model.loss(y[i : i + 1], model.predict(x[i : i + 1], verbose=0)) for i in range(8)])
    history = model.fit(x, y, sample_weight=w, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(float((per_sample * w).sum() / 8), rel=1e-6)
    assert history.history["loss"][0] != pytest.approx(float(values), rel=1e-3)


def test_shuffle_draws_a_fresh_permutation_each_epoch_and_is_seeded():
    x = np.arange(24, dtype="float32").reshape(8, 3) / 24
    y = (np.arange(8) % 2).astype("float32")

    def run(seed):
        model = small_model()
        h = model.fit(x, y, batch_size=2, epochs=3, shuffle=True, verbose=0, seed=seed)
        return h.history["loss"], model.get_weights()

    a, b, c = run(7), run(7), run(8)
    assert a[0] == b[0]
    for wa, wb in zip(a[1], b[1], strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a[0] != c[0]


def test_evaluate_returns_scalar_list_or_dict():
    x, y = reference_data()
    model = small_model(metrics=())
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model = small_model()
    loss, acc = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss, "accuracy": acc}


def test_predict_batches_give_the_same_result_as_one_call():
    x, _ = reference_data()
    model = small_model()
    np.testing.assert_array_equal(model.predict(x, batch_size=3, verbose=0), model.predict(x, batch_size=8, verbose=0))
    np.testing.assert_array_equal(model(x), model.predict(x, verbose=0))


def test_verbose_1_prints_keras_style_epoch_lines(capsys):
    x, y = reference_data()
    small_model().fit(x, y, epochs=2, batch_size=4, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2"
    assert re.fullmatch(r"2/2 ━{20} \d+s \d+(s|ms|us)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}", out[1])
    assert out[2] == "Epoch 2/2"


def test_verbose_0_prints_nothing(capsys):
    x, y = reference_data()
    small_model().fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""


def test_class_weight_scales_each_sample_by_its_class():
    x, y = reference_data()
    a = small_model(SGD(learning_rate=1e-30)).fit(x, y, class_weight={0: 1.0, 1: 2.0}, batch_size=8, verbose=0)
    w = np.where(y.ravel() == 1, 2.0, 1.0)
    b = small_model(SGD(learning_rate=1e-30)).fit(x, y, sample_weight=w, batch_size=8, verbose=0)
    assert a.history["loss"] == b.history["loss"]


def test_train_on_batch_is_one_step():
    x, y = reference_data()
    m1, m2 = small_model(), small_model()
    m1.train_on_batch(x[:4], y[:4])
    m2.fit(x[:4], y[:4], batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(m1.get_weights(), m2.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_labels_of_shape_n_and_n1_give_identical_results():
    x, y = reference_data()
    h1 = small_model().fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    h2 = small_model().fit(x, y.ravel(), epochs=2, batch_size=4, shuffle=False, verbose=0)
    assert h1.history == h2.history


def test_same_seed_gives_identical_histories_and_weights_with_dropout_and_shuffling():
    from nnrun.layers import BatchNormalization, Dropout
    from nnrun.utils import set_random_seed

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")

    def run(seed):
        set_random_seed(seed)
        model = Sequential([Input(shape=(5,)), Dense(16, activation="relu", kernel_initializer="he_normal"),
                            BatchNormalization(), Dropout(0.3), Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, batch_size=8, epochs=3, validation_split=0.25, verbose=0, seed=seed)
        return history.history, model.get_weights()

    (h1, w1), (h2, w2), (h3, _) = run(1), run(1), run(2)
    assert h1 == h2
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert h1 != h3
