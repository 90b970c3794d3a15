"""A simple MNIST MLP in the style of Keras's "Simple MNIST convnet"/MLP examples, written for nnrun.

Run: ``python examples/mnist_mlp.py``. It trains on the 5,000 MNIST digits bundled with nnrun (offline),
saves the model as a Keras ``.keras`` file, loads it back and checks the predictions agree.
Set ``NNRUN_EXAMPLE_EPOCHS`` to train for fewer epochs.
"""

import os

import numpy as np

import nnrun as keras

EPOCHS = int(os.environ.get("NNRUN_EXAMPLE_EPOCHS", "10"))
num_classes = 10

keras.utils.set_random_seed(1337)
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist_sample.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=(784,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()
model.compile(
    loss="categorical_crossentropy",
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=3, name="top3")],
)
history = model.fit(x_train, y_train, batch_size=128, epochs=EPOCHS, validation_split=0.1, verbose=2)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

model.save("mnist_mlp.keras")
restored = keras.models.load_model("mnist_mlp.keras")
np.testing.assert_allclose(restored.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6)
print("The saved model predicts the same.")

# TensorFlow's beginner tutorial: a model that outputs logits, then the same model with a Softmax on top
logits_model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(128, activation="relu"),
                                 keras.layers.Dropout(0.2), keras.layers.Dense(num_classes)])  # fmt: skip
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
logits_model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
logits_model.fit(x_train, y_train.argmax(axis=1), epochs=EPOCHS, verbose=0)
logits_model.evaluate(x_test, y_test.argmax(axis=1), verbose=2)
probability_model = keras.Sequential([logits_model, keras.layers.Softmax()])
print("probabilities of the first test digit:", np.round(probability_model(x_test[:1])[0], 3))
