"""The functional API ("Deep Learning with Python", chapter 7), written for nnrun.

Several named inputs given as a dict, a residual connection written ``x = x + residual``, a custom callback
that records the loss of every batch with the Keras 2 hook ``on_batch_end``, ``LambdaCallback``,
``BackupAndRestore``, and ``save_weights`` to ``.weights.h5`` loaded into a copy rebuilt from the config.
Run: ``python examples/functional_api.py`` (``NNRUN_EXAMPLE_EPOCHS`` sets the epochs).
"""

import os

import numpy as np

import nnrun as keras
from nnrun import layers

EPOCHS = int(os.environ.get("NNRUN_EXAMPLE_EPOCHS", "10"))
vocabulary_size, num_tags, num_departments = 100, 10, 4

# Tickets: a bag of words for the title and the body, and tags; the model routes them to a department
rng = np.random.default_rng(0)
num_samples = 1280
title_data = rng.integers(0, 2, size=(num_samples, vocabulary_size)).astype("float32")
text_body_data = rng.integers(0, 2, size=(num_samples, vocabulary_size)).astype("float32")
tags_data = rng.integers(0, 2, size=(num_samples, num_tags)).astype("float32")
department = (title_data[:, :25].sum(1) + tags_data[:, 0] * 5 > 15).astype(int) + 2 * (text_body_data[:, 0] > 0)

keras.utils.set_random_seed(0)
title = keras.Input(shape=(vocabulary_size,), name="title")
text_body = keras.Input(shape=(vocabulary_size,), name="text_body")
tags = keras.Input(shape=(num_tags,), name="tags")
features = layers.Concatenate()([title, text_body, tags])
x = layers.Dense(64, activation="relu")(features)
residual = x
x = layers.Dense(64, activation="relu")(x)
x = x + residual
logits = layers.Dense(num_departments, name="department")(x)
model = keras.Model(inputs=[title, text_body, tags], outputs=logits)
model.summary()


class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs):
        self.per_batch_losses = []

    def on_batch_end(self, batch, logs):
        self.per_batch_losses.append(logs.get("loss"))


loss_history = LossHistory()
epoch_ends = []
model.compile(
    optimizer="rmsprop",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(
    {"title": title_data, "text_body": text_body_data, "tags": tags_data},
    department,
    epochs=EPOCHS,
    batch_size=64,
    validation_split=0.2,
    verbose=2,
    callbacks=[
        loss_history,
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epoch_ends.append(logs["val_accuracy"])),
        keras.callbacks.BackupAndRestore("backup"),
    ],
)
print("per-batch losses recorded:", len(loss_history.per_batch_losses))
print("validation accuracy per epoch:", np.round(epoch_ends, 3))

model.save_weights("ticket_router.weights.h5")
copy = keras.Model.from_config(model.get_config())
copy.load_weights("ticket_router.weights.h5")

inputs = {"title": title_data[:5], "text_body": text_body_data[:5], "tags": tags_data[:5]}
np.testing.assert_array_equal(copy.predict(inputs, verbose=0), model.predict(inputs, verbose=0))
probabilities = layers.Softmax()(copy.predict(inputs, verbose=0))
print("probabilities of the first ticket:", np.round(probabilities[0], 3))
