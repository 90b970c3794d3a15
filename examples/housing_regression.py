"""Predicting house prices, a regression ("Deep Learning with Python", chapter 4), written for nnrun.

K-fold validation, an L2 weight penalty, the ``mae`` metric, and the callbacks a training script usually
wants: ``EarlyStopping``, ``LearningRateScheduler``, ``CSVLogger``.
The book reads the Boston housing data (404 + 102 rows, 13 features); to stay offline this program makes a
table of the same shape in code. Run: ``python examples/housing_regression.py`` (``NNRUN_EXAMPLE_EPOCHS``).
"""

import os

import numpy as np

import nnrun as keras

EPOCHS = int(os.environ.get("NNRUN_EXAMPLE_EPOCHS", "100"))

rng = np.random.default_rng(113)
x_all = rng.normal(size=(506, 13)).astype("float32")
price = 22.5 + x_all @ rng.normal(0, 2.0, 13) + 1.5 * np.sin(x_all[:, 0] * 2) + rng.normal(0, 1.5, 506)
train_data, test_data = x_all[:404], x_all[404:]
train_targets, test_targets = price[:404].astype("float32"), price[404:].astype("float32")

mean, std = train_data.mean(axis=0), train_data.std(axis=0)
train_data = (train_data - mean) / std
test_data = (test_data - mean) / std


def build_model():
    model = keras.Sequential(
        [
            keras.layers.Dense(64, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-3)),
            keras.layers.Dense(64, activation="relu", kernel_regularizer=keras.regularizers.l2(1e-3)),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    return model


def schedule(epoch, lr):
    return lr if epoch < 10 else lr * 0.95


keras.utils.set_random_seed(0)
k = 4
num_val_samples = len(train_data) // k
all_scores = []
for i in range(k):
    print(f"Processing fold #{i}")
    val_data = train_data[i * num_val_samples : (i + 1) * num_val_samples]
    val_targets = train_targets[i * num_val_samples : (i + 1) * num_val_samples]
    partial_train_data = np.concatenate([train_data[: i * num_val_samples], train_data[(i + 1) * num_val_samples :]])
    partial_train_targets = np.concatenate(
        [train_targets[: i * num_val_samples], train_targets[(i + 1) * num_val_samples :]]
    )
    model = build_model()
    model.fit(
        partial_train_data,
        partial_train_targets,
        validation_data=(val_data, val_targets),
        epochs=EPOCHS,
        batch_size=16,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_mae", patience=10, restore_best_weights=True),
            keras.callbacks.LearningRateScheduler(schedule),
            keras.callbacks.CSVLogger(f"fold_{i}.csv"),
        ],
    )
    val_mse, val_mae = model.evaluate(val_data, val_targets, verbose=0)
    all_scores.append(val_mae)
print("validation MAE per fold:", np.round(all_scores, 3), "mean:", np.mean(all_scores))

model = build_model()
model.fit(train_data, train_targets, epochs=EPOCHS, batch_size=16, verbose=0)
test_mse_score, test_mae_score = model.evaluate(test_data, test_targets, verbose=0)
print("test MAE:", test_mae_score)
predictions = model.predict(test_data, verbose=0)
print("first prediction:", predictions[0])
