"""The classic "first neural network in Keras" tutorial (the Pima Indians diabetes data), written for nnrun.

The tutorial reads ``pima-indians-diabetes.csv`` (768 rows, 8 features, a 0/1 outcome). To stay offline this
program makes a table of the same shape and kind in code; put the real CSV next to it to use that instead.
Run: ``python examples/pima_diabetes.py`` (``NNRUN_EXAMPLE_EPOCHS`` sets the epochs).
"""

import os

import numpy as np

import nnrun as keras

EPOCHS = int(os.environ.get("NNRUN_EXAMPLE_EPOCHS", "150"))

if os.path.exists("pima-indians-diabetes.csv"):
    dataset = np.loadtxt("pima-indians-diabetes.csv", delimiter=",")
else:  # 768 patients: pregnancies, glucose, blood pressure, skin, insulin, BMI, pedigree, age
    rng = np.random.default_rng(7)
    n = 768
    features = np.column_stack(
        [
            rng.poisson(3.8, n),
            rng.normal(121, 32, n),
            rng.normal(69, 19, n),
            rng.normal(20, 16, n).clip(0),
            rng.normal(80, 115, n).clip(0),
            rng.normal(32, 8, n),
            rng.gamma(2.0, 0.24, n),
            rng.integers(21, 81, n),
        ]
    )
    risk = 0.03 * (features[:, 1] - 121) + 0.08 * (features[:, 5] - 32) + 0.02 * (features[:, 7] - 33)
    outcome = (risk + rng.normal(0, 1, n) > 0.6).astype(float)
    dataset = np.column_stack([features, outcome])

X = dataset[:, 0:8]
y = dataset[:, 8]
X = (X - X.mean(axis=0)) / X.std(axis=0)  # the tutorial's later version standardizes the inputs

keras.utils.set_random_seed(7)
model = keras.Sequential()
model.add(keras.layers.Dense(12, input_shape=(8,), activation="relu"))
model.add(keras.layers.Dense(8, activation="relu"))
model.add(keras.layers.Dense(1, activation="sigmoid"))
model.compile(
    loss="binary_crossentropy",
    optimizer="adam",
    metrics=["accuracy", keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")],
)
model.fit(X, y, epochs=EPOCHS, batch_size=10, verbose=0)

scores = model.evaluate(X, y, verbose=0)
print(model.metrics_names)
print(f"\naccuracy: {scores[1] * 100:.2f}%")
predictions = (model.predict(X, verbose=0) > 0.5).astype(int)
for i in range(5):
    print(f"{X[i].round(2).tolist()} => {predictions[i][0]} (expected {int(y[i])})")
