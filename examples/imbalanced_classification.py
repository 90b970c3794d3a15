"""Imbalanced classification (keras.io's credit-card fraud example), written for nnrun.

A rare positive class (about 2% of the rows), class weights from the class counts, the confusion-matrix
metrics, and a ``ModelCheckpoint`` that keeps the model of each epoch as a ``.keras`` file.
Run: ``python examples/imbalanced_classification.py`` (``NNRUN_EXAMPLE_EPOCHS`` sets the epochs).
"""

import os

import numpy as np

import nnrun as keras

EPOCHS = int(os.environ.get("NNRUN_EXAMPLE_EPOCHS", "30"))

# Data: 30 numeric features, a rare positive class (the real example reads creditcard.csv)
rng = np.random.default_rng(42)
n, n_features = 6000, 30
features = rng.normal(size=(n, n_features)).astype("float32")
score = features[:, :3].sum(axis=1) + 0.5 * features[:, 3] * features[:, 4]
targets = (score > np.quantile(score, 0.98)).astype("uint8")

num_val_samples = int(len(features) * 0.2)
train_features, val_features = features[:-num_val_samples], features[-num_val_samples:]
train_targets, val_targets = targets[:-num_val_samples], targets[-num_val_samples:]
counts = np.bincount(train_targets)
print(
    f"Number of positive samples in training data: {counts[1]} ({100 * counts[1] / len(train_targets):.2f}% of total)"
)

mean, std = train_features.mean(axis=0), train_features.std(axis=0)
train_features = (train_features - mean) / std
val_features = (val_features - mean) / std

keras.utils.set_random_seed(42)
model = keras.Sequential(
    [
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()

metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)

callbacks = [keras.callbacks.ModelCheckpoint("fraud_model_at_epoch_{epoch}.keras")]
class_weight = {0: 1.0 / counts[0], 1: 1.0 / counts[1]}

history = model.fit(
    train_features,
    train_targets,
    batch_size=2048,
    epochs=EPOCHS,
    verbose=2,
    callbacks=callbacks,
    validation_data=(val_features, val_targets),
    class_weight=class_weight,
)
last = keras.models.load_model(f"fraud_model_at_epoch_{EPOCHS}.keras")
print(
    "the last checkpoint on the validation data:", last.evaluate(val_features, val_targets, verbose=0, return_dict=True)
)
predicted = (last.predict(val_features, verbose=0)[:, 0] > 0.5).astype("uint8")
print(f"fraudulent transactions caught: {int((predicted & val_targets).sum())} of {int(val_targets.sum())}")
