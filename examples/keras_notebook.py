"""The classic Keras notebook cells, with only ``keras`` replaced by ``nnrun`` in the imports.

Run: ``python examples/keras_notebook.py``. It trains on the 5,000 MNIST digits bundled with nnrun,
so it works offline.
"""

import numpy as np

from nnrun.layers import Dense, Input
from nnrun.models import Model, Sequential
from nnrun.optimizers import SGD

model1 = Sequential([Dense(2, input_shape=(2,), activation="sigmoid"), Dense(1, activation="sigmoid")])
model1.summary()

nn = Sequential()
nn.add(
    Dense(3, input_dim=3, activation="sigmoid", name="layer_1", kernel_initializer="zeros", bias_initializer="zeros")
)
nn.add(Dense(2, activation="sigmoid", name="layer_2", kernel_initializer="zeros", bias_initializer="zeros"))
nn.summary()
weights = [np.random.rand(*w.shape) for w in nn.get_weights()]
nn.set_weights(weights)

input_tensor = Input(shape=(2,))
output = Dense(1, activation="sigmoid")(Dense(2, activation="sigmoid")(input_tensor))
model = Model(inputs=input_tensor, outputs=output)
model.summary()

from nnrun.datasets import mnist_sample  # noqa: E402

(X_train, y_train), (X_test, y_test) = mnist_sample.load_data()
X_train = X_train.reshape(-1, 28 * 28) / 255
net = Sequential()
net.add(Dense(32, input_dim=784, activation="sigmoid", kernel_initializer="RandomUniform", bias_initializer="zeros"))
net.add(Dense(10, activation="softmax"))
net.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(lr=0.0001), metrics=["accuracy"])
history = net.fit(X_train, y_train, epochs=5, batch_size=1024, validation_split=0.2)
print("accuracy:", history.history["accuracy"])
print("val_accuracy:", history.history["val_accuracy"])
